// Escape attempts from real containers: tasks in their own namespaces,
// started by a real Agent through real agora-executor processes, probe the
// kernel (shell and agora-escape-probe) and write what happened into their
// sandbox. Needs root; skips otherwise. After each test no mount of the
// containers is left on the host.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <algorithm>
#include <sstream>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/namespace_task_runner.hpp"
#include "agent/executor/seccomp_profile.hpp"
#include "agent/executor/security_policy.hpp"
#include "agent/paths.hpp"
#include "agent/sandbox_files.hpp"
#include "common/metrics.hpp"
#include "common/capabilities.hpp"
#include "tests/agent/i386_abi.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = std::string(AGORA_BIN_DIR) + "/agora-escape-probe";
const std::string kHostCgroup = "/sys/fs/cgroup/pids/agora-escape-test";

std::string mountTable() {
  std::ifstream in("/proc/self/mountinfo");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "KEY VALUE" lines (or "KEY: VALUE", as /proc/PID/status has them) as a
// map; a line with only a key maps it to "".
std::map<std::string, std::string> fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (!key.empty() && key.back() == ':') key.pop_back();
    if (!key.empty()) out[key] = value;
  }
  return out;
}

std::string hex(CapabilitySet set) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(set));
  return buf;
}

// Records the capability, no_new_privs and seccomp lines of the task's status.
constexpr const char* kStatusProbe =
    "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status";

class ContainerSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    // Outside /tmp, so that a writable sandbox under a read-only root shows.
    char tmpl[] = "/var/tmp/agora-agent-sec-XXXXXX";
    workDir_ = mkdtemp(tmpl);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    // A copy of the probe outside /tmp: a namespaced task has a /tmp of its
    // own, which hides a build tree under the host's /tmp. World-readable,
    // for the tasks run as another user.
    char probeTmpl[] = "/var/tmp/agora-probe-XXXXXX";
    probeDir_ = mkdtemp(probeTmpl);
    ASSERT_EQ(chmod(probeDir_.c_str(), 0755), 0);
    probe_ = probeDir_ + "/agora-escape-probe";
    ASSERT_TRUE(fs::copy_file(kProbe, probe_));
    fs::permissions(probe_, fs::perms(0755));
    hostMounts_ = mountTable();
  }

  void TearDown() override {
    if (agent_) {
      EXPECT_TRUE(agent_->destroyAll());
    }
    agent_.reset();
    EXPECT_EQ(mountTable(), hostMounts_) << "a container's mount leaked to the host";
    if (fs::exists(kHostCgroup)) {
      ADD_FAILURE() << "a container created " << kHostCgroup;
      rmdir(kHostCgroup.c_str());
    }
    fs::remove_all(workDir_);
    if (!probeDir_.empty()) fs::remove_all(probeDir_);
  }

  void startAgent(bool namespaces = true) {
    agent_ = std::make_unique<testing::RealAgentHarness>(workDir_, namespaces);
    ASSERT_EQ(agent_->error(), "");
  }

  // Runs `script` through the shell with $P set to the probe.
  void run(const std::string& taskId, const std::string& script, ContainerInfo container = {},
           const std::string& user = "") {
    TaskInfo task;
    task.taskId = taskId;
    task.command.value = "P=" + probe_ + "; " + script;
    task.command.user = user;
    task.killGracePeriodSec = 2;
    task.container = std::move(container);
    agent_->launch(task);
  }

  // Runs `script` to completion and returns the named sandbox file.
  std::string output(const std::string& taskId, const std::string& script,
                     ContainerInfo container = {}, const std::string& user = "") {
    run(taskId, "{ " + script + "; } > out 2>&1", std::move(container), user);
    const TaskStatus* t = agent_->waitTerminal(taskId);
    if (t == nullptr) {
      ADD_FAILURE() << taskId << " did not end";
      return "";
    }
    EXPECT_EQ(t->state, TaskState::FINISHED) << taskId << ": " << t->message;
    std::string out = agent_->readSandbox(taskId, "out");
    std::cerr << "--- " << taskId << " wrote:\n" << out;
    return out;
  }

  std::string workDir_;
  std::string probeDir_, probe_;  // the probe's copy outside /tmp
  std::string hostMounts_;
  std::unique_ptr<testing::RealAgentHarness> agent_;
};

TEST_F(ContainerSecurityTest, RootHasDockersCapabilitiesNoNewPrivsAndSeccomp) {
  startAgent();
  auto status = fields(output("status", kStatusProbe));
  std::string defaults = hex(defaultCapabilities());
  EXPECT_EQ(status["CapEff"], defaults);
  EXPECT_EQ(status["CapPrm"], defaults);
  EXPECT_EQ(status["CapBnd"], defaults);
  EXPECT_EQ(status["CapInh"], hex(0));
  EXPECT_EQ(status["CapAmb"], hex(0));
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["Seccomp"], "2");
}

TEST_F(ContainerSecurityTest, TheTaskHoldsOnlyItsStandardDescriptors) {
  // Without namespaces: no container init closes descriptors on the way.
  startAgent(/*namespaces=*/false);
  // A descriptor of the agent's without FD_CLOEXEC (the agent runs in this
  // process) must reach neither the executor nor the task. ls opens
  // /proc/self/fd as the lowest free descriptor: 3, unless the task
  // inherited something.
  int leaky = dup(2);
  ASSERT_GE(leaky, 3);
  std::string out = output("fds", "ls /proc/self/fd");
  close(leaky);
  std::istringstream in(out);
  std::vector<int> fds;
  for (int fd; in >> fd;) fds.push_back(fd);
  std::sort(fds.begin(), fds.end());
  EXPECT_EQ(fds, (std::vector<int>{0, 1, 2, 3})) << out;
}

TEST_F(ContainerSecurityTest, TheAgentCompilesTheProfileOncePerCapabilitySetAndItApplies) {
  startAgent();
  ContainerInfo admin;
  admin.capAdd = {"SYS_ADMIN"};
  for (const char* id : {"first", "second"}) {
    auto result = fields(output(id, std::string("echo keyctl $($P keyctl); ") + kStatusProbe));
    EXPECT_EQ(result["keyctl"], "EPERM") << id;
    EXPECT_EQ(result["Seccomp"], "2") << id;
  }
  auto result = fields(output("admin", std::string("mkdir m; echo mount $($P mount $PWD/m); ") + kStatusProbe,
                       admin));
  EXPECT_EQ(result["mount"], "ok");
  EXPECT_EQ(result["Seccomp"], "2");
  EXPECT_EQ(agent_->containerizer().seccompCompilations(), 2u);
  // What the executor got is the profile for the container's capabilities.
  auto spec = readLaunchSpec(paths::launchFile(workDir_, agent_->containerOf("second")));
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_TRUE(spec->seccomp);
  auto expected = buildSeccompProfile(defaultCapabilities());
  ASSERT_TRUE(expected);
  EXPECT_TRUE(*spec->seccomp == (SeccompProgram{defaultCapabilities(), *expected}));
}

TEST_F(ContainerSecurityTest, AnotherUserHasNoCapabilitiesAndTheSameBound) {
  startAgent();
  auto status = fields(output("nobody", kStatusProbe, {}, "nobody"));
  EXPECT_EQ(status["CapEff"], hex(0));
  EXPECT_EQ(status["CapPrm"], hex(0));
  EXPECT_EQ(status["CapBnd"], hex(defaultCapabilities()));
  EXPECT_EQ(status["Seccomp"], "2");
}

// A task that could connect to the executor socket could speak for other
// containers' executors: a task not run as root finds no path to it.
TEST_F(ContainerSecurityTest, ATaskOfAnotherUserHasNoPathToTheExecutorSocket) {
  ASSERT_EQ(chmod(workDir_.c_str(), 0755), 0);  // as a work dir under /var/lib would be
  startAgent();
  const std::string socket = paths::executorSocket(workDir_);
  struct stat st {};
  ASSERT_EQ(stat(socket.c_str(), &st), 0) << socket;
  ASSERT_TRUE(S_ISSOCK(st.st_mode));
  std::string out = output(
      "reach", "if [ -e " + socket + " ]; then echo reachable; else echo none; fi", {}, "nobody");
  EXPECT_EQ(out, "none\n");
}

TEST_F(ContainerSecurityTest, KernelInterfacesAreRefused) {
  startAgent();
  auto result = fields(output(
      "kernel",
      "mkdir m; for op in init_module finit_module keyctl reboot unshare clone_newuser clone3; do "
      "echo $op $($P $op); done; echo mount $($P mount $PWD/m); "
      "echo setns $($P setns /proc/self/ns/mnt); echo no_aslr $($P personality 40000); "
      "echo linux32 $($P personality 8)"));
  for (const char* op : {"init_module", "finit_module", "keyctl", "reboot", "unshare",
                         "clone_newuser", "mount", "setns", "no_aslr"}) {
    EXPECT_EQ(result[op], "EPERM") << op;
  }
  EXPECT_EQ(result["clone3"], "ENOSYS");
  EXPECT_EQ(result["linux32"], "ok");
}

TEST_F(ContainerSecurityTest, The32BitAbiKillsTheProcess) {
  if (!testing::hostRunsI386Syscalls()) GTEST_SKIP() << "this host does not run i386 system calls";
  startAgent();
  auto result = fields(output("i386", "$P i386_getpid; echo rc $?"));
  EXPECT_EQ(result["rc"], std::to_string(128 + SIGSYS));
}

TEST_F(ContainerSecurityTest, KernelPathsAreMaskedOrReadOnly) {
  startAgent();
  auto result = fields(output(
      "paths",
      "echo timers $(cat /proc/timer_list | wc -c); echo keys $(cat /proc/keys | wc -c); "
      "echo kcore $(head -c 16 /proc/kcore | wc -c); echo firmware $(ls -A /sys/firmware | wc -l); "
      "if echo h > /proc/sysrq-trigger; then echo sysrq written; else echo sysrq refused; fi; "
      "if echo agora > /proc/sys/kernel/domainname; then echo sysctl written; "
      "else echo sysctl refused; fi; "
      "if mkdir " + kHostCgroup + "; then echo cgroup made; else echo cgroup refused; fi"));
  EXPECT_EQ(result["timers"], "0");
  EXPECT_EQ(result["keys"], "0");
  EXPECT_EQ(result["kcore"], "0");
  EXPECT_EQ(result["firmware"], "0");
  EXPECT_EQ(result["sysrq"], "refused");
  EXPECT_EQ(result["sysctl"], "refused");
  EXPECT_EQ(result["cgroup"], "refused");
  // On the host they have contents (this kernel may lack kcore and sysrq).
  std::ifstream timers("/proc/timer_list");
  EXPECT_NE(std::string(std::istreambuf_iterator<char>(timers), {}), "");
  EXPECT_FALSE(fs::is_empty("/sys/firmware"));
}

TEST_F(ContainerSecurityTest, ProcessesOfAnotherContainerAreUnreachable) {
  startAgent();
  run("victim", "echo $$ > inner; exec sleep 60");
  ASSERT_TRUE(agent_->waitRunning("victim"));
  std::string inner = agent_->waitSandboxFile("victim", "inner");
  ASSERT_FALSE(inner.empty());
  // The victim's host pid: the sleep working in its sandbox.
  pid_t hostPid = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (fs::read_symlink(entry.path() / "cwd", ec) != fs::path(agent_->sandboxOf("victim"))) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    comm >> command;
    if (command == "sleep") hostPid = std::stoi(name);
  }
  ASSERT_GT(hostPid, 0) << "no host pid for the victim";
  ASSERT_EQ(kill(hostPid, 0), 0);  // reachable from the host
  std::string pid = std::to_string(hostPid);
  auto result = fields(output("attacker", "echo ptrace $($P ptrace " + pid + "); echo kill $($P kill " +
                                              pid + "); echo visible $(ls /proc | grep -c '^" + pid +
                                              "$'); echo procs $(ls /proc | grep -c '^[0-9]')"));
  EXPECT_EQ(result["ptrace"], "ESRCH");
  EXPECT_EQ(result["kill"], "ESRCH");
  EXPECT_EQ(result["visible"], "0");
  // init, the shell, and the command substitution's shell, ls and grep.
  EXPECT_LE(std::stoi(result["procs"]), 5);
  const TaskStatus* victim = agent_->latest("victim");
  ASSERT_NE(victim, nullptr);
  EXPECT_EQ(victim->state, TaskState::RUNNING);
}

TEST_F(ContainerSecurityTest, ReadOnlyRootfsRefusesWritesOutsideTheSandboxTmpAndDev) {
  startAgent();
  ContainerInfo readOnly;
  readOnly.readOnlyRootfs = true;
  auto result = fields(output(
      "ro",
      "for p in /usr/agora-ro-test /etc/agora-ro-test /var/tmp/agora-ro-test /tmp/agora-ro-$$ "
      "$PWD/inside /dev/shm/agora-ro-$$; do if touch $p 2>/dev/null; then echo $p ok; rm -f $p; "
      "else echo $p refused; fi; done; echo pwd $PWD",
      readOnly));
  EXPECT_EQ(result["/usr/agora-ro-test"], "refused");
  EXPECT_EQ(result["/etc/agora-ro-test"], "refused");
  EXPECT_EQ(result["/var/tmp/agora-ro-test"], "refused");
  EXPECT_EQ(result[result["pwd"] + "/inside"], "ok");
  int tmpOk = 0, shmOk = 0;
  for (const auto& [path, outcome] : result) {
    if (path.rfind("/tmp/agora-ro-", 0) == 0) tmpOk += outcome == "ok";
    if (path.rfind("/dev/shm/agora-ro-", 0) == 0) shmOk += outcome == "ok";
  }
  EXPECT_EQ(tmpOk, 1);
  EXPECT_EQ(shmOk, 1);
  EXPECT_FALSE(fs::exists("/usr/agora-ro-test"));
}

TEST_F(ContainerSecurityTest, ReadOnlyWithoutAnImageLeavesTheHostsTmpDevAndShmUntouched) {
  startAgent();
  ContainerInfo readOnly;
  readOnly.readOnlyRootfs = true;
  const std::string mark = "agora-ro-host-" + std::to_string(getpid());
  auto result = fields(output(
      "ro-host",
      "for p in /tmp/" + mark + " /dev/" + mark + " /dev/shm/" + mark +
          "; do if touch $p 2>/dev/null; then echo $p ok; else echo $p refused; fi; done; "
          "echo shmfs $(stat -f -c %T /dev/shm)",
      readOnly));
  // Its own /tmp (in its sandbox), /dev and /dev/shm take writes; the
  // host's stay as they were.
  EXPECT_EQ(result["/tmp/" + mark], "ok");
  EXPECT_TRUE(fs::exists(agent_->sandboxOf("ro-host") + "/" + kSandboxTmpDir + "/" + mark));
  EXPECT_EQ(result["/dev/shm/" + mark], "ok");
  EXPECT_EQ(result["/dev/" + mark], "ok");
  EXPECT_EQ(result["shmfs"], "tmpfs");
  for (const std::string dir : {"/tmp/", "/dev/", "/dev/shm/"}) {
    EXPECT_FALSE(fs::exists(dir + mark)) << "the task wrote the host's " << dir + mark;
    fs::remove(dir + mark);
  }
}

TEST_F(ContainerSecurityTest, ASandboxUnderTheHostsTmpStaysReachableInTheTasksOwnTmp) {
  // The sandbox lies in the host's /tmp, which the task's own /tmp covers.
  fs::remove_all(workDir_);
  char tmpl[] = "/tmp/agora-agent-sec-XXXXXX";
  workDir_ = mkdtemp(tmpl);
  ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
  startAgent();
  const std::string mark = "agora-own-tmp-" + std::to_string(getpid());
  for (bool ro : {false, true}) {
    ContainerInfo container;
    container.readOnlyRootfs = ro;
    TaskInfo task;
    std::string id = ro ? "under-tmp-ro" : "under-tmp";
    task.taskId = id;
    task.command.value = "{ echo in > /tmp/" + mark +
                         " && echo wrote; echo abs > $AGORA_SANDBOX/abs; } > out 2>&1";
    task.container = container;
    agent_->launch(task);
    const TaskStatus* t = agent_->waitTerminal(id);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->state, TaskState::FINISHED) << t->message;
    std::string out = agent_->readSandbox(id, "out");
    std::cerr << "--- " << id << " wrote:\n" << out;
    EXPECT_NE(out.find("wrote\n"), std::string::npos) << out;
    EXPECT_EQ(agent_->readSandbox(id, "abs"), "abs\n");
    EXPECT_EQ(agent_->readSandbox(id, std::string(kSandboxTmpDir) + "/" + mark), "in\n");
    EXPECT_FALSE(fs::exists("/tmp/" + mark)) << "the task wrote the host's /tmp";
    fs::remove("/tmp/" + mark);
  }
}

TEST_F(ContainerSecurityTest, TheFilesApiServesNoHardLinkTheTaskCouldNotReadAndNoSwapRace) {
  startAgent();
  Metrics metrics;
  prometheus::Counter& refused = metrics.counter("files_refused", "test");
  SandboxFiles files(paths::sandboxesRoot(workDir_), &refused);
  // As nobody: d is a directory with a decoy "shadow", e a symlink to /etc;
  // the task swaps them until it is killed.
  run("swapper",
      "mkdir d && echo decoy > d/shadow && ln -s /etc e && echo ready > ready && exec $P swap d e",
      {}, "nobody");
  ASSERT_EQ(agent_->waitSandboxFile("swapper", "ready"), "ready\n");
  const std::string sandbox = agent_->sandboxOf("swapper");
  // A hard link to a file nobody cannot read. protected_hardlinks stops the
  // task making it itself; where that is off it could, so it is made for it.
  ASSERT_EQ(link("/etc/shadow", (sandbox + "/leak").c_str()), 0) << strerror(errno);
  auto leak = files.read(sandbox + "/leak", 0, -1);
  ASSERT_FALSE(leak) << "served /etc/shadow through a hard link";
  EXPECT_EQ(leak.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.Value(), 1);
  int served = 0, refusals = 0, leaked = 0;
  for (int i = 0; i < 20000; ++i) {
    auto chunk = files.read(sandbox + "/d/shadow", 0, -1);
    if (!chunk) {
      ++refusals;
      EXPECT_EQ(chunk.error().code, ErrorCode::kPermissionDenied) << chunk.error().message;
    } else if (chunk->data == "decoy\n") {
      ++served;
    } else {
      ++leaked;
    }
  }
  std::cerr << "d/shadow: " << served << " decoys served, " << refusals << " refused, " << leaked
            << " leaked\n";
  EXPECT_EQ(leaked, 0);
  EXPECT_GT(refusals, 0) << "the swap never raced the reads";
  EXPECT_EQ(refused.Value(), 1 + refusals);
  // Still serving the sandbox.
  auto ready = files.read(sandbox + "/ready", 0, -1);
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(ready->data, "ready\n");
  agent_->kill("swapper");
  EXPECT_NE(agent_->waitTerminal("swapper"), nullptr);
  unlink((sandbox + "/leak").c_str());
}

TEST_F(ContainerSecurityTest, AddingSysAdminAllowsMountsAndDroppingAllLeavesNothing) {
  startAgent();
  ContainerInfo admin;
  admin.capAdd = {"SYS_ADMIN"};
  auto added = fields(output("admin", std::string(kStatusProbe) +
                                          "; mkdir m; echo mount $($P mount $PWD/m); "
                                          "echo keyctl $($P keyctl)",
                             admin));
  EXPECT_EQ(added["CapEff"], hex(defaultCapabilities() | (CapabilitySet{1} << 21)));
  EXPECT_EQ(added["mount"], "ok");
  EXPECT_EQ(added["keyctl"], "EPERM");

  ContainerInfo none;
  none.capDrop = {"ALL"};
  auto dropped = fields(output(
      "none", std::string(kStatusProbe) +
                  "; touch f; if chown nobody f 2>/dev/null; then echo chown ok; else echo chown "
                  "refused; fi",
      none));
  EXPECT_EQ(dropped["CapEff"], hex(0));
  EXPECT_EQ(dropped["CapBnd"], hex(0));
  EXPECT_EQ(dropped["chown"], "refused");
}

TEST_F(ContainerSecurityTest, SeccompUnconfinedKeepsCapabilitiesAndPrivilegedHasAll) {
  startAgent();
  ContainerInfo unconfined;
  unconfined.seccompUnconfined = true;
  auto free = fields(output("unconfined", std::string(kStatusProbe) + "; echo keyctl $($P keyctl)",
                            unconfined));
  EXPECT_EQ(free["Seccomp"], "0");
  EXPECT_EQ(free["CapEff"], hex(defaultCapabilities()));
  EXPECT_EQ(free["NoNewPrivs"], "1");
  EXPECT_EQ(free["keyctl"], "ok");

  ContainerInfo privileged;
  privileged.privileged = true;
  auto all = fields(output("privileged",
                           std::string(kStatusProbe) + "; echo timers $(head -c 4 /proc/timer_list | wc -c)",
                           privileged));
  // Everything the agent itself may hold.
  std::ifstream self("/proc/self/status");
  auto host = fields(std::string(std::istreambuf_iterator<char>(self), {}));
  EXPECT_EQ(all["CapEff"], host["CapBnd"]);
  EXPECT_EQ(all["CapBnd"], host["CapBnd"]);
  EXPECT_EQ(all["Seccomp"], "0");
  EXPECT_EQ(all["NoNewPrivs"], "0");
  EXPECT_EQ(all["timers"], "4");
}

TEST_F(ContainerSecurityTest, InAUserNamespaceTheSamePolicyApplies) {
  startAgent();
  ContainerInfo userns;
  userns.userNamespace = true;
  auto result = fields(output("userns",
                              std::string(kStatusProbe) +
                                  "; echo timers $(cat /proc/timer_list | wc -c); echo unshare $($P unshare)",
                              userns));
  EXPECT_EQ(result["CapEff"], hex(defaultCapabilities()));
  EXPECT_EQ(result["Seccomp"], "2");
  EXPECT_EQ(result["timers"], "0");
  EXPECT_EQ(result["unshare"], "EPERM");
}

TEST_F(ContainerSecurityTest, ANamespacedTaskPastItsDiskIsKilledWithTheReason) {
  startAgent();
  TaskInfo task;
  task.taskId = "filler";
  task.command.value = "dd if=/dev/zero of=fill bs=1M count=24 2>/dev/null; sleep 30";
  task.resources = *Resources::parse("cpus:0.1;mem:64;disk:8");
  task.killGracePeriodSec = 1;
  agent_->launch(task);
  const TaskStatus* t = agent_->waitTerminal("filler");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->state, TaskState::FAILED) << t->message;
  EXPECT_EQ(t->reason, TaskReason::CONTAINER_LIMITATION_DISK) << t->message;
  EXPECT_NE(t->message.find("limit (8.0 MB)"), std::string::npos) << t->message;
}

TEST_F(ContainerSecurityTest, WithoutNamespacesSecurityOptionsFailTheLaunchClearly) {
  startAgent(/*namespaces=*/false);
  ContainerInfo admin;
  admin.capAdd = {"NET_ADMIN"};
  run("posix", "touch ran", admin);
  const TaskStatus* t = agent_->waitTerminal("posix");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->state, TaskState::FAILED);
  EXPECT_EQ(t->reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(t->message.find("capability changes: needs the namespaces isolation"), std::string::npos)
      << t->message;
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("posix") + "/ran"));
}

}  // namespace
}  // namespace agora::agent
