// Volume in the model: path normalization, syntax checks, wire and JSON forms.

#include "common/volume.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/codec.hpp"
#include "common/model.hpp"

namespace agora {
namespace {

std::string problem(const Volume& volume) {
  Status s = validateVolume(volume);
  return s ? "" : s.error().message;
}

TEST(VolumeTest, NormalizesPaths) {
  EXPECT_EQ(normalizeVolumePath("a//./b/"), "a/b");
  EXPECT_EQ(normalizeVolumePath("/x/"), "/x");
  EXPECT_EQ(normalizeVolumePath("/"), "/");
  EXPECT_EQ(normalizeVolumePath("./"), "");
  EXPECT_EQ(normalizeVolumePath("/a/../b"), "/a/../b");
}

TEST(VolumeTest, AcceptsEachKindOfSource) {
  EXPECT_EQ(problem(Volume::hostPath("/srv/data", "/data", true)), "");
  EXPECT_EQ(problem(Volume::hostPath("/srv/data", "data")), "");
  EXPECT_EQ(problem(Volume::tmpfs("/scratch", 1)), "");
  EXPECT_EQ(problem(Volume::tmpfs("scratch", kMaxTmpfsMb)), "");
  EXPECT_EQ(problem(Volume::sandboxPath("cache/a", "/cache")), "");
}

TEST(VolumeTest, RejectsBadPathsNamingTheVolumeAndTheField) {
  EXPECT_EQ(problem(Volume::hostPath("/srv", "")),
            "volume '' (host path /srv): container path is empty");
  EXPECT_EQ(problem(Volume::hostPath("/srv/../etc", "/data")),
            "volume '/data' (host path /srv/../etc): host path must not contain '..'");
  EXPECT_EQ(problem(Volume::hostPath("/srv", "/data/../etc", true)),
            "volume '/data/../etc' (host path /srv, ro): container path must not contain '..'");
  EXPECT_EQ(problem(Volume::hostPath("srv", "/data")),
            "volume '/data' (host path srv): host path must be absolute");
  EXPECT_EQ(problem(Volume::hostPath("", "/data")),
            "volume '/data' (host path ): host path is empty");
  EXPECT_EQ(problem(Volume::sandboxPath("/abs", "/data")),
            "volume '/data' (sandbox path /abs): sandbox path must be relative to the sandbox");
  EXPECT_EQ(problem(Volume::sandboxPath(".", "/data")),
            "volume '/data' (sandbox path .): sandbox path must name a path inside the sandbox");
  EXPECT_EQ(problem(Volume::tmpfs("/", 8)), "volume '/' (tmpfs 8 MB): container path must not be '/'");
  EXPECT_EQ(problem(Volume::tmpfs("./", 8)),
            "volume './' (tmpfs 8 MB): container path must name a path inside the sandbox");
  EXPECT_NE(problem(Volume::tmpfs(std::string("/a\0b", 4), 8)).find("NUL"), std::string::npos);
  EXPECT_NE(problem(Volume::tmpfs("/" + std::string(5000, 'a'), 8)).find("longer"),
            std::string::npos);
}

TEST(VolumeTest, RejectsATmpfsOfZeroOrAbsurdSize) {
  EXPECT_EQ(problem(Volume::tmpfs("/t", 0)), "volume '/t' (tmpfs 0 MB): tmpfs size must be 1-1048576 MB");
  EXPECT_NE(problem(Volume::tmpfs("/t", kMaxTmpfsMb + 1)), "");
}

TEST(VolumeTest, RejectsTwoVolumesAtTheSameContainerPath) {
  Status s = validateVolumes({Volume::tmpfs("/data", 8), Volume::hostPath("/srv", "/data/")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "volume '/data/' (host path /srv): another volume uses the same container path");
  EXPECT_TRUE(validateVolumes({Volume::tmpfs("/data", 8), Volume::tmpfs("data", 8)}));
  std::vector<Volume> many(kMaxVolumes + 1, Volume::tmpfs("x", 1));
  for (size_t i = 0; i < many.size(); ++i) many[i].containerPath = "x" + std::to_string(i);
  ASSERT_FALSE(validateVolumes(many));
  EXPECT_NE(validateVolumes(many).error().message.find("at most 64"), std::string::npos);
}

TEST(VolumeTest, SurvivesTheWireInsideATaskAndRendersAsJson) {
  TaskInfo task;
  task.taskId = "t";
  task.container.volumes = {Volume::hostPath("/srv", "/data", true), Volume::tmpfs("t", 16),
                            Volume::sandboxPath("cache", "/cache")};
  EXPECT_FALSE(task.container.isDefault());
  capnp::MallocMessageBuilder message;
  toCapnp(task, message.initRoot<schema::TaskInfo>());
  auto decoded = Decoded::parse(encodePacked(message));
  ASSERT_TRUE(decoded);
  Result<TaskInfo> back = makeError(ErrorCode::kInternal, "unread");
  ASSERT_TRUE(catchDecode([&] { back = fromCapnp(decoded->root<schema::TaskInfo>()); }));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->container.volumes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Volume& a = task.container.volumes[i];
    const Volume& b = back->container.volumes[i];
    EXPECT_EQ(b.describe(), a.describe());
    EXPECT_EQ(b.source, a.source);
    EXPECT_EQ(b.containerPath, a.containerPath);
  }
  nlohmann::json json = toJson(task);
  EXPECT_EQ(json["container"]["volumes"][0],
            (nlohmann::json{{"container_path", "/data"}, {"mode", "ro"}, {"host_path", "/srv"}}));
  EXPECT_EQ(json["container"]["volumes"][1]["tmpfs_size_mb"], 16);
  EXPECT_EQ(json["container"]["volumes"][2]["sandbox_path"], "cache");
}

TEST(VolumeTest, AnUnknownModeFromTheWireIsAnError) {
  capnp::MallocMessageBuilder message;
  auto volume = message.initRoot<schema::Volume>();
  volume.setContainerPath("/x");
  volume.setMode(static_cast<schema::VolumeMode>(7));
  auto back = fromCapnp(volume.asReader());
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().message, "volume '/x': unknown mode");
}

}  // namespace
}  // namespace agora
