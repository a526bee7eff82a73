// The agent's volume logic without mounts: host path policy (symlinks and
// ".." cannot escape), the resolved mount list, its launch spec form, and
// the executor's sandbox walk (no symlink followed) and links.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/volume_mounts.hpp"
#include "agent/volumes.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class VolumesUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-volumes-unit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/allowed/data");
    fs::create_directories(dir_ + "/secret");
    fs::create_directories(dir_ + "/sandbox");
    fs::create_symlink(dir_ + "/secret", dir_ + "/allowed/escape");
    fs::create_symlink("data", dir_ + "/allowed/inside");
  }
  void TearDown() override { fs::remove_all(dir_); }

  HostPathPolicy policy() { return *HostPathPolicy::parse(dir_ + "/allowed,"); }
  std::string dir_;
};

TEST_F(VolumesUnitTest, ParsesTheAllowedListCanonically) {
  auto parsed = HostPathPolicy::parse(dir_ + "/allowed/inside/," + dir_ + "/secret");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->allowed(),
            (std::vector<std::string>{dir_ + "/allowed/data", dir_ + "/secret"}));
  EXPECT_TRUE(HostPathPolicy::parse("")->allowed().empty());
  EXPECT_EQ(HostPathPolicy::parse("rel").error().message, "allowed host path 'rel' is not absolute");
  EXPECT_NE(HostPathPolicy::parse(dir_ + "/missing").error().message.find("No such file"),
            std::string::npos);
}

TEST_F(VolumesUnitTest, AllowsOnlyPathsThatResolveUnderAnAllowedDirectory) {
  HostPathPolicy p = policy();
  EXPECT_EQ(*p.resolve(dir_ + "/allowed/data"), dir_ + "/allowed/data");
  EXPECT_EQ(*p.resolve(dir_ + "/allowed/inside"), dir_ + "/allowed/data");
  auto escape = p.resolve(dir_ + "/allowed/escape");
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().message, "host path " + dir_ + "/allowed/escape (resolved: " + dir_ +
                                        "/secret) is not under an allowed host path "
                                        "(--allowed-host-paths: " +
                                        dir_ + "/allowed)");
  auto dotdot = p.resolve(dir_ + "/allowed/../secret");
  ASSERT_FALSE(dotdot);
  EXPECT_NE(dotdot.error().message.find("(resolved: " + dir_ + "/secret)"), std::string::npos);
  // A sibling sharing the prefix is not under it.
  fs::create_directories(dir_ + "/allowed2");
  EXPECT_FALSE(p.resolve(dir_ + "/allowed2"));
  EXPECT_EQ(HostPathPolicy().resolve(dir_ + "/allowed").error().message,
            "host path " + dir_ +
                "/allowed is refused: this agent allows no host paths (--allowed-host-paths is "
                "empty)");
}

TEST_F(VolumesUnitTest, ResolvesVolumesIntoMountsParentsFirst) {
  HostPathPolicy p = policy();
  auto mounts = resolveVolumes(
      {Volume::tmpfs("scratch/deep", 16), Volume::hostPath(dir_ + "/allowed/inside", "/mnt", true),
       Volume::sandboxPath("./cache/", "scratch")},
      VolumeContext{p, true, dir_ + "/sandbox"});
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 3u);
  EXPECT_EQ((*mounts)[0], (MountEntry{dir_ + "/allowed/data", "/mnt", "",
                                      MS_NOSUID | MS_NODEV | MS_RDONLY, "",
                                      "volume '/mnt' (host path " + dir_ + "/allowed/inside, ro)"}));
  EXPECT_EQ((*mounts)[1].source, "cache");
  EXPECT_EQ((*mounts)[1].target, "scratch");
  EXPECT_EQ((*mounts)[2], (MountEntry{"tmpfs", "scratch/deep", "tmpfs", MS_NOSUID | MS_NODEV,
                                      "size=16m,mode=0755", "volume 'scratch/deep' (tmpfs 16 MB)"}));
}

TEST_F(VolumesUnitTest, RefusesWhatTheAgentCannotOrMayNotMount) {
  HostPathPolicy p = policy();
  auto escape = resolveVolumes({Volume::hostPath(dir_ + "/allowed/escape", "/data")},
                               VolumeContext{p, true, dir_ + "/sandbox"});
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().message.rfind("volume '/data' (host path " + dir_ +
                                             "/allowed/escape): host path " + dir_,
                                         0),
            0u)
      << escape.error().message;
  auto posix = resolveVolumes({Volume::sandboxPath("a", "b"), Volume::tmpfs("t", 8)},
                              VolumeContext{p, false, dir_ + "/sandbox"});
  ASSERT_FALSE(posix);
  EXPECT_EQ(posix.error().message,
            "volume 't' (tmpfs 8 MB): needs the namespaces isolation, which this agent does not "
            "use (without it only read-write sandbox-path volumes at relative container paths "
            "work)");
  EXPECT_TRUE(resolveVolumes({Volume::sandboxPath("a", "b")}, VolumeContext{p, false, "/sb"}));
  auto hides = resolveVolumes({Volume::tmpfs("/tmp", 8)}, VolumeContext{p, true, "/tmp/x/sb"});
  ASSERT_FALSE(hides);
  EXPECT_EQ(hides.error().message, "volume '/tmp' (tmpfs 8 MB): would hide the task's sandbox /tmp/x/sb");
  EXPECT_FALSE(resolveVolumes({Volume::tmpfs("/t", 0)}, VolumeContext{p, true, "/sb"}));
}

TEST_F(VolumesUnitTest, MountsSurviveTheLaunchSpec) {
  LaunchSpec spec{"c1", "fw", {}, "/sb", "ipc:///x", true, {}};
  spec.mounts = {MountEntry{"/srv", "/data", "", MS_BIND | MS_RDONLY, "", "volume '/data'"},
                 MountEntry{"tmpfs", "t", "tmpfs", MS_NOSUID, "size=1m", "volume 't'"}};
  auto back = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->mounts, spec.mounts);
}

TEST_F(VolumesUnitTest, TheSandboxWalkCreatesDirectoriesAndNeverFollowsASymlink) {
  std::string sandbox = dir_ + "/sandbox";
  fs::create_symlink(dir_ + "/secret", sandbox + "/link");
  fs::create_symlink("a", sandbox + "/relative-link");
  int root = open(sandbox.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  int made = openBeneath(root, "a/b//c", true, false, static_cast<uid_t>(-1), 0);
  EXPECT_GE(made, 0);
  close(made);
  EXPECT_TRUE(fs::is_directory(sandbox + "/a/b/c"));
  int file = openBeneath(root, "a/f", true, true, static_cast<uid_t>(-1), 0);
  EXPECT_GE(file, 0);
  close(file);
  EXPECT_TRUE(fs::is_regular_file(sandbox + "/a/f"));
  errno = 0;
  EXPECT_EQ(openBeneath(root, "link/x", true, false, static_cast<uid_t>(-1), 0), -1);
  EXPECT_EQ(errno, ELOOP);
  EXPECT_EQ(openBeneath(root, "relative-link", false, false, static_cast<uid_t>(-1), 0), -1);
  EXPECT_EQ(errno, ELOOP);
  EXPECT_EQ(openBeneath(root, "a/../../secret", false, false, static_cast<uid_t>(-1), 0), -1);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_EQ(openBeneath(root, "a/f/x", true, false, static_cast<uid_t>(-1), 0), -1);
  EXPECT_EQ(errno, ENOTDIR);
  EXPECT_TRUE(fs::is_empty(dir_ + "/secret"));
  close(root);
}

TEST_F(VolumesUnitTest, WithoutNamespacesSandboxVolumesBecomeRelativeLinks) {
  std::string sandbox = dir_ + "/sandbox";
  Status linked = linkSandboxMounts(
      {MountEntry{"cache/v1", "deps/cache", "", MS_NOSUID | MS_NODEV, "", "volume 'deps/cache'"}},
      sandbox, std::nullopt);
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(fs::read_symlink(sandbox + "/deps/cache"), "../cache/v1");
  std::ofstream(sandbox + "/deps/cache/f") << "x";
  EXPECT_TRUE(fs::exists(sandbox + "/cache/v1/f"));
  Status ro = linkSandboxMounts({MountEntry{"a", "b", "", MS_RDONLY, "", "volume 'b'"}}, sandbox,
                                std::nullopt);
  ASSERT_FALSE(ro);
  EXPECT_EQ(ro.error().message,
            "volume 'b': needs the namespaces isolation, which this agent does not use");
  fs::create_symlink(dir_ + "/secret", sandbox + "/out");
  EXPECT_FALSE(linkSandboxMounts({MountEntry{"out/x", "y", "", 0, "", "volume 'y'"}}, sandbox,
                                 std::nullopt));
  EXPECT_TRUE(fs::is_empty(dir_ + "/secret"));
}

}  // namespace
}  // namespace agora::agent
