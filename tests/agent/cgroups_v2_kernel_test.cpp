// The cgroup v2 backend against the kernel's unified hierarchy. On a hybrid
// host (cgroup v1 controllers plus a cgroup2 mount that offers none of cpu,
// memory and pids) it checks what v2 does without controllers: nested
// cgroups, moving processes in, killing a whole tree — a setsid grandchild
// included — with cgroup.kill and with the freezer, cpu.stat, removal, and
// that a missing controller fails create() by name. Where the hierarchy
// offers the controllers (a pure v2 host) the limits are checked too. Needs
// root and a cgroup2 mount; skips otherwise. Each test uses its own cgroup
// "agora-v2test-<pid>" under the mount's root and removes it.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/cgroups/cgroupfs.hpp"
#include "agent/cgroups/cgroups_v2.hpp"
#include "agent/proc_stat.hpp"

namespace agora::agent::cgroups {
namespace {

// The first cgroup2 mount point, or "".
std::string cgroup2Mount() {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target, type;
    if (fields >> source >> target >> type && type == "cgroup2") return target;
  }
  return "";
}

template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

class CgroupsV2KernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    mount_ = cgroup2Mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount";
    root_ = mount_ + "/agora-v2test-" + std::to_string(getpid());
    ASSERT_TRUE(makeDirs(root_));
  }

  void TearDown() override {
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (root_.empty()) return;
    // Leaves first; a test that failed may have left processes in them.
    CgroupsV2 cg(root_, {{}, true});
    for (const auto& name : subdirectories(root_)) {
      for (const auto& child : subdirectories(root_ + "/" + name)) {
        (void)cg.killAll(name + "/" + child);
        (void)cg.remove(name + "/" + child);
      }
      (void)cg.killAll(name);
      (void)cg.remove(name);
    }
    EXPECT_TRUE(removeDir(root_)) << root_;
    if (disableHugetlb_) {
      Status s = writeFile(mount_ + "/cgroup.subtree_control", "-hugetlb");
      EXPECT_TRUE(s) << s.error().message;
    }
  }

  // Forks a child that, once it is in cgroup `name`, runs `body`.
  template <typename Body>
  pid_t spawnIn(CgroupsV2& cg, const std::string& name, Body body) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[1]);
      char byte;
      if (read(fds[0], &byte, 1) != 1) _exit(100);
      body();
      _exit(0);
    }
    close(fds[0]);
    children_.push_back(pid);
    Status attached = cg.attach(name, pid);
    EXPECT_TRUE(attached) << attached.error().message;
    EXPECT_EQ(write(fds[1], "x", 1), 1);
    close(fds[1]);
    return pid;
  }

  // A child in `name` that runs a shell which starts a setsid grandchild
  // (a daemon in its own session) and then sleeps; returns {child, grandchild}.
  std::pair<pid_t, pid_t> spawnTree(CgroupsV2& cg, const std::string& name) {
    pid_t child = spawnIn(cg, name, [] {
      execl("/bin/sh", "sh", "-c", "setsid sleep 1000 & exec sleep 1000", nullptr);
    });
    pid_t grandchild = 0;
    EXPECT_TRUE(waitFor([&] {
      auto pids = cg.processes(name);
      if (!pids || pids->size() != 2) return false;
      for (pid_t pid : *pids) {
        if (pid != child) grandchild = pid;
      }
      auto st = readProcStat(grandchild);
      return st && st->session == grandchild;  // past its setsid()
    })) << "the shell did not start its setsid grandchild in "
        << name;
    return {child, grandchild};
  }

  // Kills the tree in `name` and checks that nothing of it is left.
  void expectKillsTree(CgroupsV2& cg, const std::string& name) {
    auto [child, grandchild] = spawnTree(cg, name);
    ASSERT_NE(grandchild, 0);
    Status killed = cg.killAll(name);
    ASSERT_TRUE(killed) << killed.error().message;
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    children_.clear();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_TRUE(waitFor([&] { return !processLive(grandchild); }));
    auto left = cg.processes(name);
    ASSERT_TRUE(left);
    EXPECT_TRUE(left->empty());
    Status removed = cg.remove(name);
    EXPECT_TRUE(removed) << removed.error().message;
    EXPECT_FALSE(cg.exists(name));
  }

  std::string mount_;  // the cgroup2 mount point
  std::string root_;
  std::vector<pid_t> children_;
  bool disableHugetlb_ = false;  // this test enabled it in the mount's root
};

TEST_F(CgroupsV2KernelTest, CgroupKillTakesDownTheWholeTreeAndTheCgroupGoes) {
  if (!pathExists(root_ + "/cgroup.kill")) GTEST_SKIP() << "kernel without cgroup.kill";
  CgroupsV2 cg(root_, {{}, true});
  ASSERT_TRUE(cg.create("agora/c1"));
  EXPECT_EQ(cg.children("agora"), std::vector<std::string>{"c1"});
  auto created = cg.createdAt("agora/c1");
  ASSERT_TRUE(created);
  EXPECT_GT(*created, 0);
  expectKillsTree(cg, "agora/c1");
}

TEST_F(CgroupsV2KernelTest, WithoutCgroupKillTheFreezerTakesDownTheWholeTree) {
  CgroupsV2 cg(root_, {{}, /*killFile=*/false});
  ASSERT_TRUE(cg.create("agora/c2"));
  expectKillsTree(cg, "agora/c2");
}

TEST_F(CgroupsV2KernelTest, KillingAnEmptyOrMissingCgroupSucceeds) {
  CgroupsV2 cg(root_, {{}, true});
  EXPECT_TRUE(cg.killAll("agora/never-created"));
  ASSERT_TRUE(cg.create("agora/empty"));
  EXPECT_TRUE(cg.killAll("agora/empty"));
  EXPECT_TRUE(cg.remove("agora/empty"));
}

TEST_F(CgroupsV2KernelTest, CpuStatCountsTheTimeItsProcessesSpent) {
  CgroupsV2 cg(root_, {{}, true});
  ASSERT_TRUE(cg.create("agora/spin"));
  pid_t pid = spawnIn(cg, "agora/spin", [] {
    timespec start{}, now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    do {
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
             300000000L);
  });
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  children_.clear();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto usage = cg.usage("agora/spin");
  ASSERT_TRUE(usage) << usage.error().message;
  // 0.3 s of CPU spent; the kernel splits it between user and system by ticks.
  EXPECT_GE(usage->cpuUserSec + usage->cpuSystemSec, 0.25);
  EXPECT_LT(usage->cpuUserSec + usage->cpuSystemSec, 5.0);
  EXPECT_TRUE(cg.remove("agora/spin"));
}

TEST_F(CgroupsV2KernelTest, AControllerTheHierarchyDoesNotOfferFailsCreateByName) {
  auto offered = readFile(root_ + "/cgroup.controllers");
  ASSERT_TRUE(offered);
  if (offered->find("pids") != std::string::npos) GTEST_SKIP() << "this hierarchy offers pids";
  CgroupsV2 cg(root_, {{"pids"}, true});
  Status created = cg.create("agora/c3");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(created.error().message.find("controller 'pids' is not available in " + root_),
            std::string::npos)
      << created.error().message;
  EXPECT_FALSE(cg.exists("agora"));
}

TEST_F(CgroupsV2KernelTest, WhereTheControllersAreOfferedTheLimitsReachTheKernel) {
  auto offered = readFile(root_ + "/cgroup.controllers");
  ASSERT_TRUE(offered);
  for (const char* c : {"cpu", "memory", "pids"}) {
    if (offered->find(c) == std::string::npos) {
      GTEST_SKIP() << "this hierarchy does not offer " << c << " (a cgroup v1 host)";
    }
  }
  CgroupsV2 cg(root_);
  ASSERT_TRUE(cg.create("agora/limited"));
  CgroupLimits limits;
  limits.cpus = 0.5;
  limits.cpuQuota = true;
  limits.memoryBytes = 64 << 20;
  limits.pidsMax = 32;
  Status set = cg.setLimits("agora/limited", limits);
  ASSERT_TRUE(set) << set.error().message;
  auto read = [&](const std::string& file) {
    auto text = readFile(root_ + "/agora/limited/" + file);
    return text ? *text : std::string("<unreadable>");
  };
  EXPECT_EQ(read("memory.max"), std::to_string(64 << 20) + "\n");
  EXPECT_EQ(read("pids.max"), "32\n");
  EXPECT_EQ(read("cpu.max").rfind("50000 ", 0), 0u) << read("cpu.max");
  expectKillsTree(cg, "agora/limited");
}

// The kernel's "no internal processes" rule, shown with hugetlb: on a cgroup
// v1 host like this one the one controller left to the cgroup2 mount.
TEST_F(CgroupsV2KernelTest, PrepareRootMovesTheRootsProcessesSoItCanHandOutControllers) {
  auto offered = readFile(mount_ + "/cgroup.controllers");
  ASSERT_TRUE(offered);
  if (offered->find("hugetlb") == std::string::npos) GTEST_SKIP() << "no hugetlb in cgroup2";
  auto enabled = readFile(mount_ + "/cgroup.subtree_control");
  ASSERT_TRUE(enabled);
  if (enabled->find("hugetlb") == std::string::npos) {
    ASSERT_TRUE(writeFile(mount_ + "/cgroup.subtree_control", "+hugetlb"));
    disableHugetlb_ = true;
  }
  CgroupsV2 cg(root_, {{"hugetlb"}, true});
  // The agent as a delegated service starts: a process in the root itself.
  pid_t agent = spawnIn(cg, "", [] { execl("/bin/sleep", "sleep", "1000", nullptr); });
  Status blocked = cg.create("agora/c");
  ASSERT_FALSE(blocked) << "the kernel let a cgroup with processes hand out a controller";
  EXPECT_NE(blocked.error().message.find("enabling the hugetlb controller"), std::string::npos)
      << blocked.error().message;

  auto moved = cg.prepareRoot();
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, 1u);
  auto left = readFile(root_ + "/cgroup.procs");
  ASSERT_TRUE(left);
  EXPECT_TRUE(parsePids(*left).empty()) << *left;
  auto inLeaf = cg.processes(CgroupsV2::kAgentLeaf);
  ASSERT_TRUE(inLeaf);
  EXPECT_EQ(*inLeaf, std::vector<pid_t>{agent});

  Status created = cg.create("agora/c");
  ASSERT_TRUE(created) << created.error().message;
  auto handed = readFile(root_ + "/agora/c/cgroup.controllers");
  ASSERT_TRUE(handed);
  EXPECT_NE(handed->find("hugetlb"), std::string::npos) << *handed;
  auto again = cg.prepareRoot();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST_F(CgroupsV2KernelTest, PrepareRootLeavesTheHierarchysRootAlone) {
  // In a cgroup namespace the mount shows a cgroup that is not the root.
  if (pathExists(mount_ + "/cgroup.type")) GTEST_SKIP() << "not the hierarchy's root";
  CgroupsV2 cg(mount_, {{}, true});
  auto moved = cg.prepareRoot();
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, 0u);
  EXPECT_FALSE(pathExists(mount_ + "/" + CgroupsV2::kAgentLeaf));
}

}  // namespace
}  // namespace agora::agent::cgroups
