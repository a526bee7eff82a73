// The agent's persistent volumes without mounts: the directory made on first
// use (owned by the task's user) and kept, the mount list entry, refusals
// without namespaces, clashes with other volumes, the posix symlink into the
// sandbox, and deletion.

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/executor/volume_mounts.hpp"
#include "agent/persistent_volumes.hpp"
#include "agent/volumes.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

Resources volume(const std::string& disk, const std::string& id, const std::string& path,
                 bool readOnly = false) {
  return Resources::parse(disk)->toVolume(DiskPersistence{id, "", path, readOnly}).value();
}

class PersistentVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-pvol-unit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/sandbox");
  }
  void TearDown() override { fs::remove_all(dir_); }
  TaskInfo task(const Resources& volumes) {
    TaskInfo t;
    t.taskId = "t1";
    t.resources = *Resources::parse("cpus:1") + volumes;
    return t;
  }
  std::string dir_;
};

TEST_F(PersistentVolumesTest, MakesTheDirectoryOnceAndMountsItAtTheContainerPath) {
  Resources v = volume("disk(eng/web):10", "logs", "data/logs") + volume("disk(eng):5", "cfg", "/etc/app", true);
  auto mounts = persistentVolumeMounts(task(v), dir_, true);
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 2u);
  // Ordered by (role, id): "eng" before "eng/web"; '/' of a role is a space on disk.
  EXPECT_EQ((*mounts)[0].source, dir_ + "/volumes/roles/eng/cfg");
  EXPECT_EQ((*mounts)[0].target, "/etc/app");
  EXPECT_EQ((*mounts)[0].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV | MS_RDONLY));
  EXPECT_EQ((*mounts)[1].source, dir_ + "/volumes/roles/eng web/logs");
  EXPECT_EQ((*mounts)[1].target, "data/logs");
  EXPECT_EQ((*mounts)[1].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV));
  EXPECT_TRUE(fs::is_directory((*mounts)[1].source));
  std::ofstream(dir_ + "/volumes/roles/eng web/logs/keep") << "x";
  ASSERT_TRUE(persistentVolumeMounts(task(v), dir_, true));  // the next task finds the data
  EXPECT_TRUE(fs::exists(dir_ + "/volumes/roles/eng web/logs/keep"));
}

TEST_F(PersistentVolumesTest, TheDirectoryBelongsToTheTasksUser) {
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  struct passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  TaskInfo t = task(volume("disk(eng):1", "v", "data"));
  t.command.user = "nobody";
  ASSERT_TRUE(persistentVolumeMounts(t, dir_, true));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/volumes/roles/eng/v").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
  TaskInfo unknown = task(volume("disk(eng):1", "w2", "d"));
  unknown.command.user = "no-such-user-here";
  auto failed = persistentVolumeMounts(unknown, dir_, true);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("unknown user"), std::string::npos) << failed.error().message;
}

TEST_F(PersistentVolumesTest, WithoutNamespacesOnlyReadWriteRelativeVolumesWork) {
  for (const Resources& v : {volume("disk(eng):1", "a", "/srv"), volume("disk(eng):1", "b", "d", true)}) {
    auto refused = persistentVolumeMounts(task(v), dir_, false);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("needs the namespaces isolation"), std::string::npos);
  }
  auto mounts = persistentVolumeMounts(task(volume("disk(eng):1", "c", "state/db")), dir_, false);
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_TRUE(linkSandboxMounts(*mounts, dir_ + "/sandbox", std::nullopt));
  std::ofstream(dir_ + "/sandbox/state/db/file") << "data";
  EXPECT_TRUE(fs::is_symlink(dir_ + "/sandbox/state/db"));
  EXPECT_TRUE(fs::exists(dir_ + "/volumes/roles/eng/c/file"));
}

TEST_F(PersistentVolumesTest, AVolumeMayNotShareAContainerPathOrHideTheSandbox) {
  HostPathPolicy none;
  std::string sandbox = dir_ + "/sandbox";
  auto same = persistentVolumeMounts(task(volume("disk(eng):1", "a", "data")), dir_, true);
  ASSERT_TRUE(same);
  auto clash = resolveVolumes({Volume::tmpfs("data", 1)}, {none, true, sandbox}, *same);
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find("another volume has the container path data"), std::string::npos)
      << clash.error().message;
  auto hide = persistentVolumeMounts(task(volume("disk(eng):1", "b", dir_)), dir_, true);
  ASSERT_TRUE(hide);
  auto hidden = resolveVolumes({}, {none, true, sandbox}, *hide);
  ASSERT_FALSE(hidden);
  EXPECT_NE(hidden.error().message.find("would hide the task's sandbox"), std::string::npos);
}

TEST_F(PersistentVolumesTest, DeleteRemovesTheDataButNotWhatASymlinkPointsTo) {
  Resources v = volume("disk(eng):1", "gone", "data");
  ASSERT_TRUE(persistentVolumeMounts(task(v), dir_, true));
  std::string volumeDir = dir_ + "/volumes/roles/eng/gone";
  fs::create_directories(dir_ + "/outside");
  std::ofstream(dir_ + "/outside/precious") << "keep";
  fs::create_symlink(dir_ + "/outside", volumeDir + "/link");
  ASSERT_TRUE(deletePersistentVolume(dir_, v.volumeList().at(0)));
  EXPECT_FALSE(fs::exists(volumeDir));
  EXPECT_TRUE(fs::exists(dir_ + "/outside/precious"));
  EXPECT_TRUE(deletePersistentVolume(dir_, v.volumeList().at(0)));  // already gone: fine
}

}  // namespace
}  // namespace agora::agent
