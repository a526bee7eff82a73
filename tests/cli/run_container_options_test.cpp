// `agora run --network/--hostname/--image/--volume/--tmpfs/--read-only/--cap-add/--cap-drop`:
// parsed, validated, and carried into the task.

#include <gtest/gtest.h>

#include "cli/run_options.hpp"

namespace agora::cli {
namespace {

TEST(RunContainerOptionsTest, DefaultsToTheHostNetworkAndNoHostname) {
  GlobalOptions global;
  auto options = parseRunOptions({"--", "true"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_TRUE(task->container.isDefault());
}

TEST(RunContainerOptionsTest, NetworkNoneAndAHostnameGoIntoTheTask) {
  GlobalOptions global;
  auto options = parseRunOptions({"--network", "none", "--hostname=box-1", "--", "hostname"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_EQ(task->container.networkMode, NetworkMode::NONE);
  EXPECT_EQ(task->container.hostname, "box-1");
}

TEST(RunContainerOptionsTest, RejectsOtherNetworksAndBadHostnames) {
  GlobalOptions global;
  auto bridge = parseRunOptions({"--network", "bridge", "--", "true"}, global);
  ASSERT_FALSE(bridge);
  EXPECT_EQ(bridge.error().message, "--network 'bridge' is not host or none");
  auto bad = parseRunOptions({"--hostname", "no_underscores", "--", "true"}, global);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--hostname: hostname 'no_underscores'"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(parseRunOptions({"--hostname", "", "--", "true"}, global));
}

TEST(RunContainerOptionsTest, AnImageWithoutACommandRunsItsEntrypointAndCmd) {
  GlobalOptions global;
  auto options = parseRunOptions({"--image", "oci:/images/busybox:1"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_EQ(task->container.image, "oci:/images/busybox:1");
  EXPECT_FALSE(task->command.shell);
  EXPECT_TRUE(task->command.value.empty());
  EXPECT_TRUE(task->command.arguments.empty());
}

TEST(RunContainerOptionsTest, AnImageCommandReplacesTheImageCmd) {
  GlobalOptions global;
  auto options =
      parseRunOptions({"--image", "docker://127.0.0.1:5000/busybox", "--", "ls", "-l"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_FALSE(task->command.shell);
  EXPECT_TRUE(task->command.value.empty());
  EXPECT_EQ(task->command.arguments, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_FALSE(parseRunOptions({}, global));  // neither a command nor an image
}

TEST(RunContainerOptionsTest, OneCommandWordRunsThroughTheShellWithOrWithoutAnImage) {
  GlobalOptions global;
  for (std::vector<std::string> image : {std::vector<std::string>{},
                                         std::vector<std::string>{"--image", "oci:/i:1"}}) {
    std::vector<std::string> args = image;
    args.insert(args.end(), {"--", "ls /; echo x"});
    auto options = parseRunOptions(args, global);
    ASSERT_TRUE(options) << options.error().message;
    auto task = buildTask(*options, "run-1");
    ASSERT_TRUE(task);
    EXPECT_TRUE(task->command.shell) << task->container.image;
    EXPECT_EQ(task->command.value, "ls /; echo x");
    EXPECT_TRUE(task->command.arguments.empty());
  }
}

TEST(RunContainerOptionsTest, VolumesAndTmpfsGoIntoTheTaskInOrder) {
  GlobalOptions global;
  auto options = parseRunOptions({"--volume", "/srv/data:/data:ro", "--tmpfs", "/scratch:128",
                                  "--volume=cache:/cache", "--tmpfs", "tmp", "--", "true"},
                                 global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  const auto& v = task->container.volumes;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].describe(), "volume '/data' (host path /srv/data, ro)");
  EXPECT_EQ(v[1].describe(), "volume '/cache' (sandbox path cache)");
  EXPECT_EQ(v[2].describe(), "volume '/scratch' (tmpfs 128 MB)");
  EXPECT_EQ(v[3].describe(), "volume 'tmp' (tmpfs 64 MB)");
}

TEST(RunContainerOptionsTest, VolumeAndTmpfsFlagsParse) {
  auto rw = parseVolumeFlag("/a:/b:rw");
  ASSERT_TRUE(rw);
  EXPECT_FALSE(rw->readOnly());
  EXPECT_EQ(rw->source, Volume::Source::kHostPath);
  auto tmpfs = parseTmpfsFlag("/t:1");
  ASSERT_TRUE(tmpfs);
  EXPECT_EQ(tmpfs->tmpfsSizeMb, 1u);
}

TEST(RunContainerOptionsTest, RejectsMalformedVolumeAndTmpfsFlags) {
  auto message = [](const Result<Volume>& r) { return r ? std::string() : r.error().message; };
  EXPECT_EQ(message(parseVolumeFlag("/a")), "--volume '/a': expected SOURCE:CONTAINER[:ro]");
  EXPECT_EQ(message(parseVolumeFlag("/a:/b:x")), "--volume '/a:/b:x': the mode must be ro or rw");
  EXPECT_EQ(message(parseVolumeFlag("/a:/b/../c")),
            "--volume '/a:/b/../c': volume '/b/../c' (host path /a): container path must not "
            "contain '..'");
  EXPECT_EQ(message(parseVolumeFlag("/a::ro")),
            "--volume '/a::ro': volume '' (host path /a, ro): container path is empty");
  EXPECT_EQ(message(parseTmpfsFlag("/t:0")),
            "--tmpfs '/t:0': volume '/t' (tmpfs 0 MB): tmpfs size must be 1-1048576 MB");
  EXPECT_EQ(message(parseTmpfsFlag("/t:1g")), "--tmpfs '/t:1g': SIZE_MB must be a whole number of MB");
  EXPECT_EQ(message(parseTmpfsFlag("/t:1:2")), "--tmpfs '/t:1:2': expected CONTAINER[:SIZE_MB]");
  GlobalOptions global;
  auto twice = parseRunOptions({"--tmpfs", "/t", "--volume", "/srv:/t", "--", "true"}, global);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message,
            "volume '/t' (tmpfs 64 MB): another volume uses the same container path");
}

TEST(RunContainerOptionsTest, ReadOnlyAndCapabilityChangesGoIntoTheTask) {
  GlobalOptions global;
  auto options = parseRunOptions({"--read-only", "--cap-add", "NET_ADMIN", "--cap-add=sys_ptrace",
                                  "--cap-drop", "CAP_CHOWN", "--", "true"},
                                 global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_TRUE(task->container.readOnlyRootfs);
  EXPECT_EQ(task->container.capAdd, (std::vector<std::string>{"NET_ADMIN", "sys_ptrace"}));
  EXPECT_EQ(task->container.capDrop, (std::vector<std::string>{"CAP_CHOWN"}));
  EXPECT_FALSE(task->container.isDefault());
}

TEST(RunContainerOptionsTest, RejectsUnknownOrContradictoryCapabilities) {
  GlobalOptions global;
  auto unknown = parseRunOptions({"--cap-add", "SYS_EVERYTHING", "--", "true"}, global);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "--cap-add: unknown capability 'SYS_EVERYTHING'");
  auto numeric = parseRunOptions({"--cap-drop", "21", "--", "true"}, global);
  ASSERT_FALSE(numeric);
  EXPECT_EQ(numeric.error().message, "--cap-drop: unknown capability '21'");
  auto both = parseRunOptions({"--cap-add", "KILL", "--cap-drop", "cap_kill", "--", "true"}, global);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "capability KILL is both added and dropped");
}

}  // namespace
}  // namespace agora::cli
