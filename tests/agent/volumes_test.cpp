// Container volumes with real mounts: a real Agent starts real
// agora-executor processes that mount host paths, tmpfs and sandbox paths in
// the task's own mount namespace. Needs root; skips otherwise. After every
// test no mount under the test's directories may be left in the host's
// mount table (any found is detached before the directories are removed).

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Mount points of the host's mount table at or under `dir`.
std::vector<std::string> mountsUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devices, root, point;
    fields >> id >> parent >> devices >> root >> point;
    if (point == dir || point.rfind(dir + "/", 0) == 0) out.push_back(point);
  }
  return out;
}

// The line of a mountinfo dump whose mount point is `point`.
std::string mountLine(const std::string& mountinfo, const std::string& point) {
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    if (line.find(" " + point + " ") != std::string::npos) return line;
  }
  return "";
}

class VolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    char work[] = "/tmp/agora-volumes-work-XXXXXX";
    char host[] = "/tmp/agora-volumes-host-XXXXXX";
    workDir_ = mkdtemp(work);
    hostDir_ = mkdtemp(host);
    chmod(hostDir_.c_str(), 0755);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    fs::create_directories(hostDir_ + "/allowed/data");
    fs::create_directories(hostDir_ + "/secret");
    fs::create_directories(hostDir_ + "/target");
    fs::create_symlink(hostDir_ + "/secret", hostDir_ + "/allowed/escape");
    std::ofstream(hostDir_ + "/secret/key") << "secret";
  }

  void startAgent(bool namespaces = true, const std::string& allowed = "") {
    auto policy = HostPathPolicy::parse(allowed.empty() ? hostDir_ + "/allowed" : allowed);
    ASSERT_TRUE(policy) << policy.error().message;
    agent_ = std::make_unique<testing::RealAgentHarness>(workDir_, namespaces,
                                                         std::vector<std::unique_ptr<Isolator>>{},
                                                         "", std::move(*policy));
    ASSERT_EQ(agent_->error(), "");
  }

  void TearDown() override {
    if (agent_) {
      EXPECT_TRUE(agent_->destroyAll());
    }
    agent_.reset();
    for (const std::string& dir : {workDir_, hostDir_}) {
      if (dir.empty()) continue;
      auto left = mountsUnder(dir);
      EXPECT_TRUE(left.empty()) << "a mount leaked to the host: " << left.front();
      // Deepest first; a leaked bind must not let remove_all reach its source.
      for (auto it = left.rbegin(); it != left.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
      fs::remove_all(dir);
    }
  }

  const TaskStatus& run(const std::string& taskId, const std::string& command,
                        std::vector<Volume> volumes, const std::string& user = "",
                        bool readOnlyRootfs = false) {
    TaskInfo task;
    task.container.readOnlyRootfs = readOnlyRootfs;
    task.taskId = taskId;
    task.command.value = command;
    task.command.user = user;
    task.container.volumes = std::move(volumes);
    agent_->launch(task);
    const TaskStatus* t = agent_->waitTerminal(taskId);
    if (t == nullptr) {
      static const TaskStatus kNone;
      ADD_FAILURE() << taskId << " did not end";
      return kNone;
    }
    return *t;
  }

  // No mount of the task is left in the host's table after it ended.
  void expectNoMountsOf(const std::string& taskId) {
    EXPECT_TRUE(mountsUnder(agent_->sandboxOf(taskId)).empty()) << taskId;
    EXPECT_TRUE(mountsUnder(hostDir_).empty()) << taskId;
  }

  std::string workDir_, hostDir_;
  std::unique_ptr<testing::RealAgentHarness> agent_;
};

TEST_F(VolumesTest, AFileWrittenInAReadWriteHostPathVolumeIsOnTheHost) {
  startAgent();
  const TaskStatus& t =
      run("rw", "echo hello > data/f && cat /proc/self/mountinfo > mountinfo",
          {Volume::hostPath(hostDir_ + "/allowed/data", "data")});
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  std::ifstream in(hostDir_ + "/allowed/data/f");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hello");
  std::string mount =
      mountLine(agent_->readSandbox("rw", "mountinfo"), agent_->sandboxOf("rw") + "/data");
  ASSERT_FALSE(mount.empty()) << agent_->readSandbox("rw", "mountinfo");
  EXPECT_NE(mount.find("nosuid"), std::string::npos) << mount;
  EXPECT_NE(mount.find("nodev"), std::string::npos) << mount;
  expectNoMountsOf("rw");
}

TEST_F(VolumesTest, AReadOnlyVolumeRefusesWrites) {
  startAgent();
  const TaskStatus& t = run(
      "ro",
      "if touch " + hostDir_ + "/target/new 2> err; then echo wrote; else echo refused; fi > result",
      {Volume::hostPath(hostDir_ + "/allowed/data", hostDir_ + "/target", true)});
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  EXPECT_EQ(trimmed(agent_->readSandbox("ro", "result")), "refused");
  EXPECT_NE(agent_->readSandbox("ro", "err").find("Read-only file system"), std::string::npos)
      << agent_->readSandbox("ro", "err");
  EXPECT_FALSE(fs::exists(hostDir_ + "/allowed/data/new"));
  EXPECT_FALSE(fs::exists(hostDir_ + "/target/new"));
  expectNoMountsOf("ro");
}

TEST_F(VolumesTest, AReadOnlyVolumeShowsTheHostsFiles) {
  startAgent();
  std::ofstream(hostDir_ + "/allowed/data/seen") << "from the host\n";
  const TaskStatus& t =
      run("ro-read", "cat " + hostDir_ + "/target/seen > seen",
          {Volume::hostPath(hostDir_ + "/allowed/data", hostDir_ + "/target", true)});
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  EXPECT_EQ(trimmed(agent_->readSandbox("ro-read", "seen")), "from the host");
  EXPECT_TRUE(fs::is_empty(hostDir_ + "/target"));
  expectNoMountsOf("ro-read");
}

TEST_F(VolumesTest, HostPathsOutsideTheAllowedListAreRefusedAtLaunch) {
  startAgent();
  std::string allowed = hostDir_ + "/allowed";
  const TaskStatus& outside =
      run("outside", "touch ran", {Volume::hostPath(hostDir_ + "/secret", "s")});
  EXPECT_EQ(outside.state, TaskState::FAILED);
  EXPECT_EQ(outside.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(outside.message.find("volume 's' (host path " + hostDir_ + "/secret): host path " +
                                 hostDir_ + "/secret is not under an allowed host path "
                                 "(--allowed-host-paths: " + allowed + ")"),
            std::string::npos)
      << outside.message;
  const TaskStatus& escape =
      run("escape", "touch ran", {Volume::hostPath(allowed + "/escape", "s")});
  EXPECT_EQ(escape.state, TaskState::FAILED);
  EXPECT_EQ(escape.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(escape.message.find(allowed + "/escape (resolved: " + hostDir_ + "/secret)"),
            std::string::npos)
      << escape.message;
  const TaskStatus& dotdot =
      run("dotdot", "touch ran", {Volume::hostPath(allowed + "/data/../../secret", "s")});
  EXPECT_EQ(dotdot.state, TaskState::FAILED);
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("outside") + "/ran"));
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("escape") + "/ran"));
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("dotdot") + "/ran"));
  expectNoMountsOf("escape");
}

TEST_F(VolumesTest, AnAgentWithoutAllowedHostPathsRefusesEveryHostPath) {
  agent_ = std::make_unique<testing::RealAgentHarness>(workDir_, true);
  ASSERT_EQ(agent_->error(), "");
  const TaskStatus& t =
      run("none", "touch ran", {Volume::hostPath(hostDir_ + "/allowed/data", "d")});
  EXPECT_EQ(t.state, TaskState::FAILED);
  EXPECT_NE(t.message.find("this agent allows no host paths (--allowed-host-paths is empty)"),
            std::string::npos)
      << t.message;
}

TEST_F(VolumesTest, ATmpfsVolumeIsTmpfsOfItsSizeOwnedByTheTaskUser) {
  startAgent();
  const TaskStatus& t = run("tmpfs",
                            "stat -f -c %T scratch > type; stat -c %u scratch > owner; "
                            "stat -f -c '%b %S' scratch > size; "
                            "dd if=/dev/zero of=scratch/big bs=1M count=8 2> dd.err; "
                            "stat -c %s scratch/big > written",
                            {Volume::tmpfs("scratch", 4)}, "nobody");
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  EXPECT_EQ(trimmed(agent_->readSandbox("tmpfs", "type")), "tmpfs");
  EXPECT_EQ(trimmed(agent_->readSandbox("tmpfs", "owner")), "65534");
  std::istringstream size(agent_->readSandbox("tmpfs", "size"));
  long blocks = 0, blockSize = 0;
  size >> blocks >> blockSize;
  EXPECT_EQ(blocks * blockSize, 4 << 20) << agent_->readSandbox("tmpfs", "size");
  EXPECT_NE(agent_->readSandbox("tmpfs", "dd.err").find("No space left on device"),
            std::string::npos)
      << agent_->readSandbox("tmpfs", "dd.err");
  EXPECT_EQ(trimmed(agent_->readSandbox("tmpfs", "written")), std::to_string(4 << 20));
  // The tmpfs's content stays in the container: the sandbox keeps an empty mount point.
  EXPECT_TRUE(fs::is_empty(agent_->sandboxOf("tmpfs") + "/scratch"));
  expectNoMountsOf("tmpfs");
}

TEST_F(VolumesTest, ATmpfsAtAnAbsolutePathHidesTheHostsDirectoryFromTheTaskOnly) {
  startAgent();
  std::ofstream(hostDir_ + "/target/host-file") << "x";
  const TaskStatus& t = run("abs", "ls -A " + hostDir_ + "/target > listing; touch " + hostDir_ +
                                       "/target/task-file",
                            {Volume::tmpfs(hostDir_ + "/target", 1)});
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  EXPECT_EQ(agent_->readSandbox("abs", "listing"), "");
  EXPECT_TRUE(fs::exists(hostDir_ + "/target/host-file"));
  EXPECT_FALSE(fs::exists(hostDir_ + "/target/task-file"));
  expectNoMountsOf("abs");
}

TEST_F(VolumesTest, AMissingAbsoluteContainerPathFailsTheLaunchClearly) {
  startAgent();
  const TaskStatus& t =
      run("missing", "touch ran", {Volume::tmpfs(hostDir_ + "/no/such/dir", 1)});
  EXPECT_EQ(t.state, TaskState::FAILED);
  EXPECT_EQ(t.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(t.message.find("container path " + hostDir_ +
                           "/no/such/dir (without an image it must exist on the host): No "
                           "such file or directory"),
            std::string::npos)
      << t.message;
  EXPECT_FALSE(fs::exists(hostDir_ + "/no"));
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("missing") + "/ran"));
}

TEST_F(VolumesTest, ASandboxPathVolumeIsBoundElsewhereInTheSandbox) {
  startAgent();
  const TaskStatus& t =
      run("sub",
          "echo shared > deps/cache/f; "
          "if [ -L deps/cache ]; then echo link; else echo mount; fi > kind; "
          "if touch ro/x 2> ro.err; then echo wrote; else echo refused; fi > ro.result",
          {Volume::sandboxPath("cache/v1", "deps/cache"), Volume::sandboxPath("cache", "ro", true)},
          "nobody");
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  std::string sandbox = agent_->sandboxOf("sub");
  EXPECT_EQ(trimmed(agent_->readSandbox("sub", "cache/v1/f")), "shared");
  EXPECT_EQ(trimmed(agent_->readSandbox("sub", "kind")), "mount");
  EXPECT_EQ(trimmed(agent_->readSandbox("sub", "ro.result")), "refused");
  struct stat st;
  ASSERT_EQ(stat((sandbox + "/cache/v1").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);  // created for the task's user
  EXPECT_FALSE(fs::exists(sandbox + "/ro/x"));
  expectNoMountsOf("sub");
}

TEST_F(VolumesTest, AReadOnlyRootKeepsEachVolumeInItsOwnMode) {
  startAgent();
  // /mnt is outside everything the read-only root keeps writable; the
  // sandbox is kept writable, but not the read-only volume inside it.
  const TaskStatus& t =
      run("rofs",
          "if touch /mnt/x 2> rw.err; then echo wrote; else echo refused; fi > rw.result; "
          "if touch ro/x 2> ro.err; then echo wrote; else echo refused; fi > ro.result",
          {Volume::tmpfs("/mnt", 1), Volume::sandboxPath("cache", "ro", true)},
          "", /*readOnlyRootfs=*/true);
  ASSERT_EQ(t.state, TaskState::FINISHED) << t.message;
  EXPECT_EQ(trimmed(agent_->readSandbox("rofs", "rw.result")), "wrote")
      << agent_->readSandbox("rofs", "rw.err");
  EXPECT_EQ(trimmed(agent_->readSandbox("rofs", "ro.result")), "refused");
  EXPECT_NE(agent_->readSandbox("rofs", "ro.err").find("Read-only file system"), std::string::npos)
      << agent_->readSandbox("rofs", "ro.err");
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("rofs") + "/cache/x"));
  expectNoMountsOf("rofs");
}

TEST_F(VolumesTest, WithoutNamespacesOnlySandboxPathVolumesWorkAsLinks) {
  startAgent(/*namespaces=*/false);
  const TaskStatus& linked =
      run("linked", "echo x > deps/cache/f", {Volume::sandboxPath("cache", "deps/cache")});
  ASSERT_EQ(linked.state, TaskState::FINISHED) << linked.message;
  EXPECT_EQ(trimmed(agent_->readSandbox("linked", "cache/f")), "x");
  const TaskStatus& tmpfs = run("tmpfs", "touch ran", {Volume::tmpfs("scratch", 1)});
  EXPECT_EQ(tmpfs.state, TaskState::FAILED);
  EXPECT_EQ(tmpfs.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(tmpfs.message.find("volume 'scratch' (tmpfs 1 MB): needs the namespaces isolation"),
            std::string::npos)
      << tmpfs.message;
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("tmpfs") + "/ran"));
}

}  // namespace
}  // namespace agora::agent
