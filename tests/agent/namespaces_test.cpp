// Tasks in their own namespaces, with real agora-executor processes started
// by a real Agent (master faked in-process). Needs root; skips otherwise.
// Every task records its pid namespace in SANDBOX/.pidns; after each test no
// process may remain in any of them, and the host gains no proc mount.

#include <dirent.h>
#include <pwd.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/cgroups_isolator.hpp"
#include "common/subprocess.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

std::string nsOf(const std::string& pid, const std::string& kind) {
  std::error_code ec;
  auto target = fs::read_symlink("/proc/" + pid + "/ns/" + kind, ec);
  return ec ? "" : target.string();
}

// Host pids of the processes in the namespace `link` ("pid:[4026532]").
std::vector<pid_t> processesIn(const std::string& link) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (nsOf(name, "pid") == link) out.push_back(std::stoi(name));
  }
  return out;
}

int procMounts() {
  std::ifstream in("/proc/self/mountinfo");
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(" - proc ") != std::string::npos) ++count;
  }
  return count;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class NamespacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/agora-agent-ns-XXXXXX";
    workDir_ = mkdtemp(tmpl);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    hostProcMounts_ = procMounts();
  }

  void startAgent(std::vector<std::unique_ptr<Isolator>> isolators = {}, bool namespaces = true) {
    agent_ = std::make_unique<testing::RealAgentHarness>(workDir_, namespaces,
                                                         std::move(isolators));
    ASSERT_EQ(agent_->error(), "");
  }

  void TearDown() override {
    if (!agent_) return;
    EXPECT_TRUE(agent_->destroyAll());
    for (const auto& taskId : tasks_) {
      std::string pidns = trimmed(agent_->readSandbox(taskId, ".pidns"));
      if (pidns.empty()) continue;
      EXPECT_NE(pidns, nsOf("self", "pid")) << taskId << " ran in the host's pid namespace";
      EXPECT_TRUE(agent_->runUntil([&] { return processesIn(pidns).empty(); }, seconds(5)))
          << taskId << " left processes in " << pidns;
    }
    EXPECT_EQ(procMounts(), hostProcMounts_) << "a proc mount leaked to the host";
    agent_.reset();
    fs::remove_all(workDir_);
  }

  // Runs `command` through the shell after recording its pid namespace.
  void run(const std::string& taskId, const std::string& command, ContainerInfo container = {},
           std::string user = "") {
    TaskInfo task;
    task.taskId = taskId;
    task.command.value = "readlink /proc/self/ns/pid > .pidns; " + command;
    task.command.user = std::move(user);
    task.killGracePeriodSec = 5;
    task.container = std::move(container);
    tasks_.push_back(taskId);
    agent_->launch(task);
  }

  const TaskStatus& finish(const std::string& taskId) {
    const TaskStatus* t = agent_->waitTerminal(taskId);
    if (t == nullptr) {
      static const TaskStatus kNone;
      ADD_FAILURE() << taskId << " did not end";
      return kNone;
    }
    return *t;
  }

  std::string workDir_;
  int hostProcMounts_ = 0;
  std::vector<std::string> tasks_;
  std::unique_ptr<testing::RealAgentHarness> agent_;
};

TEST_F(NamespacesTest, TheTaskSeesOnlyItsOwnProcesses) {
  startAgent();
  run("ps", "echo $$ > me; ls /proc > procs");
  EXPECT_EQ(finish("ps").state, TaskState::FINISHED) << finish("ps").message;
  // init is 1, the shell 2; readlink was 3 and ls is 4.
  EXPECT_EQ(trimmed(agent_->readSandbox("ps", "me")), "2");
  std::set<int> pids;
  std::istringstream procs(agent_->readSandbox("ps", "procs"));
  for (std::string name; procs >> name;) {
    if (name.find_first_not_of("0123456789") == std::string::npos) pids.insert(std::stoi(name));
  }
  EXPECT_EQ(pids, (std::set<int>{1, 2, 4}));
}

TEST_F(NamespacesTest, HostnameIsTheContainerIdUnlessSet) {
  startAgent();
  run("default", "cat /proc/sys/kernel/hostname > hn");
  ContainerInfo named;
  named.hostname = "web-1.example";
  run("named", "cat /proc/sys/kernel/hostname > hn", named);
  EXPECT_EQ(finish("default").state, TaskState::FINISHED) << finish("default").message;
  EXPECT_EQ(finish("named").state, TaskState::FINISHED) << finish("named").message;
  EXPECT_EQ(trimmed(agent_->readSandbox("default", "hn")), agent_->containerOf("default"));
  EXPECT_EQ(trimmed(agent_->readSandbox("named", "hn")), "web-1.example");
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_NE(std::string(host), "web-1.example");
}

TEST_F(NamespacesTest, IpcUtsAndMountNamespacesAreTheTasksOwnButNetworkIsTheHosts) {
  startAgent();
  run("ns", "for k in ipc uts mnt net; do readlink /proc/self/ns/$k; done > ns");
  EXPECT_EQ(finish("ns").state, TaskState::FINISHED) << finish("ns").message;
  std::istringstream lines(agent_->readSandbox("ns", "ns"));
  std::string ipc, uts, mnt, net;
  lines >> ipc >> uts >> mnt >> net;
  EXPECT_TRUE(ipc.rfind("ipc:", 0) == 0) << ipc;
  EXPECT_NE(ipc, nsOf("self", "ipc"));
  EXPECT_NE(uts, nsOf("self", "uts"));
  EXPECT_NE(mnt, nsOf("self", "mnt"));
  EXPECT_EQ(net, nsOf("self", "net"));
}

TEST_F(NamespacesTest, NetworkNoneSeesOnlyLoopbackAndItIsUp) {
  startAgent();
  ContainerInfo none;
  none.networkMode = NetworkMode::NONE;
  run("none", "readlink /proc/self/ns/net > net; cat /proc/net/dev > dev; "
              "cat /proc/net/if_inet6 > inet6 2>/dev/null; true",
      none);
  EXPECT_EQ(finish("none").state, TaskState::FINISHED) << finish("none").message;
  EXPECT_NE(trimmed(agent_->readSandbox("none", "net")), nsOf("self", "net"));
  std::istringstream dev(agent_->readSandbox("none", "dev"));
  std::vector<std::string> interfaces;
  for (std::string line; std::getline(dev, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    interfaces.push_back(name);
  }
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
  // An interface that is up gets ::1 (when the host has IPv6).
  if (fs::exists("/proc/net/if_inet6")) {
    EXPECT_NE(agent_->readSandbox("none", "inet6").find(" lo"), std::string::npos)
        << agent_->readSandbox("none", "inet6");
  }
}

TEST_F(NamespacesTest, OrphanedChildrenAreReaped) {
  startAgent();
  // The subshell exits at once: its five children are reparented to init.
  run("orphans",
      "sh -c 'for i in 1 2 3 4 5; do sleep 0.05 & done; exit 0'; "
      "n=0; while [ $n -lt 100 ]; do "
      "  ls /proc | grep -q '^[4-9]$' || break; n=$((n+1)); sleep 0.05; done; "
      "cat /proc/[0-9]*/stat > stats");
  EXPECT_EQ(finish("orphans").state, TaskState::FINISHED) << finish("orphans").message;
  std::string stats = agent_->readSandbox("orphans", "stats");
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats.find(") Z "), std::string::npos) << stats;
}

TEST_F(NamespacesTest, SigtermIsForwardedToTheCommand) {
  startAgent();
  run("trap",
      "trap 'echo term > got; exit 0' TERM; echo ready > ready; "
      "while :; do sleep 0.05; done");
  ASSERT_TRUE(agent_->waitRunning("trap"));
  ASSERT_EQ(trimmed(agent_->waitSandboxFile("trap", "ready")), "ready");
  agent_->kill("trap");
  const TaskStatus& t = finish("trap");
  EXPECT_EQ(t.state, TaskState::KILLED);
  EXPECT_EQ(t.message, "Task killed: Command exited with status 0");
  EXPECT_EQ(t.exitCode, 0);
  EXPECT_EQ(trimmed(agent_->readSandbox("trap", "got")), "term");
}

TEST_F(NamespacesTest, KillTakesDownASetsidGrandchild) {
  startAgent();
  run("tree", "setsid sh -c 'echo $$ > grandchild.pid; exec sleep 1000' & exec sleep 1000");
  ASSERT_TRUE(agent_->waitRunning("tree"));
  ASSERT_FALSE(agent_->waitSandboxFile("tree", "grandchild.pid").empty());
  std::string pidns = trimmed(agent_->waitSandboxFile("tree", ".pidns"));
  // init, the task's sleep and the grandchild's sleep.
  ASSERT_TRUE(agent_->runUntil([&] { return processesIn(pidns).size() == 3; }, seconds(5)))
      << processesIn(pidns).size();
  agent_->kill("tree");
  const TaskStatus& t = finish("tree");
  EXPECT_EQ(t.state, TaskState::KILLED);
  EXPECT_EQ(t.message, "Task killed: Command terminated by signal 15 (Terminated)");
  EXPECT_TRUE(agent_->runUntil([&] { return processesIn(pidns).empty(); }, seconds(5)));
}

TEST_F(NamespacesTest, ADaemonDiesWhenTheCommandExits) {
  startAgent();
  run("daemon",
      "setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' & "
      "while [ ! -s daemon.pid ]; do sleep 0.01; done; exit 0");
  EXPECT_EQ(finish("daemon").state, TaskState::FINISHED);
  std::string pidns = trimmed(agent_->readSandbox("daemon", ".pidns"));
  ASSERT_FALSE(agent_->readSandbox("daemon", "daemon.pid").empty());
  EXPECT_TRUE(agent_->runUntil([&] { return processesIn(pidns).empty(); }, seconds(5)));
}

TEST_F(NamespacesTest, ExitCodesAndSignalsAreReportedAsWithoutNamespaces) {
  startAgent();
  run("three", "exit 3");
  run("killed", "kill -KILL $$");
  const TaskStatus& three = finish("three");
  EXPECT_EQ(three.state, TaskState::FAILED);
  EXPECT_EQ(three.exitCode, 3);
  EXPECT_EQ(three.message, "Command exited with status 3");
  const TaskStatus& killed = finish("killed");
  EXPECT_EQ(killed.state, TaskState::FAILED);
  EXPECT_EQ(killed.exitCode, 137);
  EXPECT_EQ(killed.message, "Command terminated by signal 9 (Killed)");
}

TEST_F(NamespacesTest, TheCommandRunsAsItsUser) {
  startAgent();
  run("nobody", "id -u > uid", {}, "nobody");
  EXPECT_EQ(finish("nobody").state, TaskState::FINISHED) << finish("nobody").message;
  EXPECT_EQ(trimmed(agent_->readSandbox("nobody", "uid")), "65534");
}

TEST_F(NamespacesTest, InAUserNamespaceTheTaskIsRootInsideAndNobodyOutside) {
  startAgent();
  ContainerInfo userns;
  userns.userNamespace = true;
  run("userns",
      "id -u > uid; cat /proc/self/uid_map > map; touch mine; "
      "if cat /etc/shadow > /dev/null 2>&1; then echo read > shadow; else echo denied > shadow; fi",
      userns);
  EXPECT_EQ(finish("userns").state, TaskState::FINISHED) << finish("userns").message;
  EXPECT_EQ(trimmed(agent_->readSandbox("userns", "uid")), "0");
  std::istringstream map(agent_->readSandbox("userns", "map"));
  long inside = -1, outside = -1, count = -1;
  map >> inside >> outside >> count;
  EXPECT_EQ(inside, 0);
  EXPECT_EQ(outside, 65534);
  EXPECT_EQ(count, 1);
  struct stat st;
  ASSERT_EQ(stat((agent_->sandboxOf("userns") + "/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(trimmed(agent_->readSandbox("userns", "shadow")), "denied");
}

TEST_F(NamespacesTest, AUserNamespaceMapsRootToTheCommandsUser) {
  startAgent();
  ContainerInfo userns;
  userns.userNamespace = true;
  run("daemon-user", "id -u > uid; cat /proc/self/uid_map > map", userns, "daemon");
  EXPECT_EQ(finish("daemon-user").state, TaskState::FINISHED) << finish("daemon-user").message;
  EXPECT_EQ(trimmed(agent_->readSandbox("daemon-user", "uid")), "0");
  std::istringstream map(agent_->readSandbox("daemon-user", "map"));
  long inside = -1, outside = -1;
  map >> inside >> outside;
  EXPECT_EQ(inside, 0);
  EXPECT_EQ(outside, static_cast<long>(getpwnam("daemon")->pw_uid));
}

TEST_F(NamespacesTest, AMissingExecutableFailsTheLaunch) {
  startAgent();
  TaskInfo task;
  task.taskId = "missing";
  task.command.shell = false;
  task.command.value = "/nonexistent/agora-test";
  agent_->launch(task);
  const TaskStatus& t = finish("missing");
  EXPECT_EQ(t.state, TaskState::FAILED);
  EXPECT_EQ(t.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(t.message.find("exec /nonexistent/agora-test: No such file or directory"),
            std::string::npos)
      << t.message;
}

TEST_F(NamespacesTest, BridgeNetworkingFailsTheLaunchClearly) {
  startAgent();
  ContainerInfo bridge;
  bridge.networkMode = NetworkMode::BRIDGE;
  run("bridge", "touch ran", bridge);
  const TaskStatus& t = finish("bridge");
  EXPECT_EQ(t.state, TaskState::FAILED);
  EXPECT_EQ(t.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(t.message.find("network mode bridge is not supported by this agent yet"),
            std::string::npos)
      << t.message;
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("bridge") + "/ran"));
}

TEST_F(NamespacesTest, WithoutTheNamespacesIsolationNetworkNoneFailsRatherThanRunOnTheHost) {
  startAgent({}, /*namespaces=*/false);
  ContainerInfo none;
  none.networkMode = NetworkMode::NONE;
  run("none", "touch ran", none);
  run("plain", "readlink /proc/self/ns/uts > uts");
  const TaskStatus& t = finish("none");
  EXPECT_EQ(t.state, TaskState::FAILED);
  EXPECT_EQ(t.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(t.message.find("needs the namespaces isolation"), std::string::npos) << t.message;
  EXPECT_FALSE(fs::exists(agent_->sandboxOf("none") + "/ran"));
  EXPECT_EQ(finish("plain").state, TaskState::FINISHED);
  EXPECT_EQ(trimmed(agent_->readSandbox("plain", "uts")), nsOf("self", "uts"));
  tasks_.clear();  // these ran in the host's namespaces by design
}

TEST_F(NamespacesTest, CgroupsStillHoldTheTaskInsideItsNamespaces) {
  auto cg = cgroups::detectCgroups();
  if (!cg) GTEST_SKIP() << cg.error().message;
  std::string root = "agora-nstest-" + std::to_string(getpid());
  auto isolator =
      std::make_unique<CgroupsIsolator>(std::move(*cg), CgroupsIsolator::Options{root, false, 64});
  std::vector<std::unique_ptr<Isolator>> isolators;
  isolators.push_back(std::move(isolator));
  startAgent(std::move(isolators));
  run("cg", "cat /proc/self/cgroup > cgroup; echo $$ > me");
  EXPECT_EQ(finish("cg").state, TaskState::FINISHED) << finish("cg").message;
  EXPECT_EQ(trimmed(agent_->readSandbox("cg", "me")), "2");
  EXPECT_NE(agent_->readSandbox("cg", "cgroup").find(root + "/" + agent_->containerOf("cg")),
            std::string::npos)
      << agent_->readSandbox("cg", "cgroup");
}

}  // namespace
}  // namespace agora::agent

namespace agora::agent {
namespace {

// Runs agora-agent with `flags` (as `user` when set) until it exits, or
// until its stderr holds `until` when that is set; returns its exit code (-1
// when stopped), with its stderr in *err. The agent never gets a master.
int runAgentUntilExit(const std::vector<std::string>& flags, const std::string& user,
                      std::string* err, const std::string& until = "") {
  char tmpl[] = "/tmp/agora-agent-flag-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  chmod(dir.c_str(), 0777);
  SpawnOptions options;
  if (!user.empty()) options.argv = {"setpriv", "--reuid=" + user, "--regid=" + user, "--clear-groups"};
  options.argv.push_back(std::string(AGORA_BIN_DIR) + "/agora-agent");
  options.argv.insert(options.argv.end(), {"--master", "tcp://127.0.0.1:9", "--work-dir",
                                           dir + "/work", "--http", ""});
  options.argv.insert(options.argv.end(), flags.begin(), flags.end());
  options.stderrPath = dir + "/stderr";
  options.stdoutPath = dir + "/stdout";
  auto pid = spawn(options);
  int code = -1;
  auto stderrHas = [&](const std::string& text) {
    std::ifstream in(dir + "/stderr");
    return std::string(std::istreambuf_iterator<char>(in), {}).find(text) != std::string::npos;
  };
  if (pid) {
    // A refusing agent exits at once; one that starts is stopped once it
    // said `until`, or after 5 s.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (code < 0 && std::chrono::steady_clock::now() < deadline) {
      if (auto status = waitForExit(*pid, std::chrono::milliseconds(20))) code = exitCodeOf(*status);
      if (!until.empty() && stderrHas(until)) break;
    }
    if (code < 0) {
      kill(*pid, SIGKILL);
      waitpid(*pid, nullptr, 0);
    }
  }
  std::ifstream in(dir + "/stderr");
  *err = std::string(std::istreambuf_iterator<char>(in), {});
  fs::remove_all(dir);
  return code;
}

TEST(AgentIsolationFlagTest, NamespacesAskedForWithoutRootStopTheAgentWithAClearError) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the agent as another user";
  std::string err;
  EXPECT_EQ(runAgentUntilExit({"--isolation=namespaces"}, "65534", &err), 1);
  EXPECT_NE(err.find("--isolation=namespaces: namespaces isolation is unusable: not running as root"),
            std::string::npos)
      << err;
}

TEST(AgentIsolationFlagTest, AnUnknownIsolatorStopsTheAgent) {
  std::string err;
  EXPECT_EQ(runAgentUntilExit({"--isolation=cgroups,docker"}, "", &err), 1);
  EXPECT_NE(err.find("'docker' is not an isolator"), std::string::npos) << err;
}

TEST(AgentIsolationFlagTest, WithoutNamespacesTheAgentWarnsThatTasksSeeTheHostWritable) {
  std::string err;
  const std::string warning =
      "namespaces isolation off (--isolation leaves it out): tasks run without a mount "
      "namespace and see the host's filesystem writable";
  runAgentUntilExit({"--isolation=posix"}, "", &err, warning);
  size_t at = err.find(warning);
  ASSERT_NE(at, std::string::npos) << err;
  // glog's severity letter opens the line.
  size_t line = err.rfind('\n', at);
  EXPECT_EQ(err[line == std::string::npos ? 0 : line + 1], 'W') << err;
  EXPECT_EQ(err.find(warning, at + 1), std::string::npos) << "said more than once: " << err;
}

}  // namespace
}  // namespace agora::agent
