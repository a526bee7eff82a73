// Agent recovery with real processes: the agora-agent binary, killed with
// SIGKILL and restarted on the same work dir, while its agora-executor
// processes and tasks keep running. The master is faked in this process over
// a real ZeroMQ socket so each registration and update can be inspected.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/cgroups_isolator.hpp"
#include "agent/executor/envelope.hpp"
#include "agent/executor/fork_server.hpp"
#include "agent/paths.hpp"
#include "agent/proc_stat.hpp"
#include "common/codec.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/subprocess.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"
#include "tests/agent/real_agent_support.hpp"
#include "tests/support/port_holders.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using schema::AgentEnvelope;

struct Registration {
  bool reregister = false;
  std::string agentId;
  std::map<std::string, TaskState> tasks;  // task ID -> latest state reported
};

// SIGKILLs every process whose command line or working directory is under `dir`.
void killProcessesUnder(const std::string& dir) {
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(name);
      if (pid == getpid()) continue;
      std::error_code ec;
      std::string cwd = fs::read_symlink(entry.path() / "cwd", ec).string();
      std::ifstream in(entry.path() / "cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cwd.rfind(dir, 0) == 0 || cmdline.find(dir) != std::string::npos) kill(pid, SIGKILL);
    }
  }
}

// A child of `parent` whose comm is `comm`; 0 if none.
pid_t childNamed(pid_t parent, const std::string& comm) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = readProcStat(std::stoi(name));
    std::ifstream in(entry.path() / "comm");
    std::string got;
    std::getline(in, got);
    if (stat && stat->ppid == parent && got == comm) return stat->pid;
  }
  return 0;
}

uint16_t unusedPort() {
  auto server = http::HttpServer::create("127.0.0.1:0");
  return server ? static_cast<uint16_t>((*server)->port()) : 0;
}

constexpr const char* kSleeper = "echo $$ > pid; exec sleep 1000";

class AgentRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-recovery-XXXXXX";
    root_ = mkdtemp(tmpl);
    workDir_ = root_ + "/agent";
    bootIdFile_ = root_ + "/boot_id";
    writeFile(bootIdFile_, "boot-1\n");
    auto master = ZmqServer::create(loop_, "tcp://127.0.0.1:0");
    ASSERT_TRUE(master) << master.error().message;
    master_ = std::move(*master);
    master_->setHandler([this](const std::string& peer, std::string_view, std::string_view p) {
      onMaster(peer, p);
    });
  }

  void TearDown() override {
    stopAgent();
    killProcessesUnder(root_);
    if (!cgroupsRoot_.empty()) {
      if (auto cg = cgroups::detectCgroups()) {
        CgroupsIsolator isolator(std::move(*cg), CgroupsIsolator::Options{cgroupsRoot_});
        isolator.removeLeftovers([](const std::string&) { return true; });
      }
    }
    master_.reset();
    if (!getenv("AGORA_KEEP_TEST_DIR")) fs::remove_all(root_);
  }

  static void writeFile(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  static std::string readFile(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  void startAgent(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {std::string(AGORA_BIN_DIR) + "/agora-agent",
                                     "--master", master_->endpoint(),
                                     "--work-dir", workDir_,
                                     "--resources", "cpus:4;mem:1024",
                                     "--boot-id-file", bootIdFile_,
                                     "--status-update-retry-min", "0.2",
                                     "--status-update-retry-max", "1"};
    if (std::find(extra.begin(), extra.end(), "--isolation") == extra.end()) {
      extra.insert(extra.end(), {"--isolation", "posix"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    SpawnOptions options;
    options.argv = argv;
    options.stdoutPath = root_ + "/agent.out";
    options.stderrPath = stderrPath();
    options.dieWithParent = true;
    truncate(stderrPath().c_str(), 0);
    auto pid = spawn(options);
    ASSERT_TRUE(pid) << pid.error().message;
    agentPid_ = *pid;
  }
  std::string stderrPath() const { return root_ + "/agent.err"; }

  // SIGKILLs the agent (its executors keep running) and reaps it.
  void stopAgent() {
    if (agentPid_ <= 0) return;
    kill(agentPid_, SIGKILL);
    waitpid(agentPid_, nullptr, 0);
    agentPid_ = 0;
    agentPeer_.clear();
  }

  // Waits for the agent to exit on its own; its exit code, or -1.
  int waitAgentExit(Duration timeout) {
    int status = 0;
    bool exited = runUntil([&] { return waitpid(agentPid_, &status, WNOHANG) == agentPid_; },
                           timeout);
    if (!exited) return -1;
    agentPid_ = 0;
    return exitCodeOf(status);
  }

  bool runUntil(const std::function<bool()>& done, Duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      loop_.runOnce(millis(5));
      if (done()) return true;
    }
    loop_.runUntilIdle();
    return done();
  }

  void onMaster(const std::string& peer, std::string_view payload) {
    auto decoded = Decoded::parse(payload);
    ASSERT_TRUE(decoded);
    auto root = decoded->root<AgentEnvelope>();
    switch (root.which()) {
      case AgentEnvelope::REGISTER_AGENT: {
        if (peer == agentPeer_) return registered(peer, registrations_.back().agentId);
        agentPeer_ = peer;
        registrations_.push_back(Registration{false, "A" + std::to_string(++nextAgent_), {}});
        return registered(peer, registrations_.back().agentId);
      }
      case AgentEnvelope::REREGISTER_AGENT: {
        auto m = root.getReregisterAgent();
        if (peer != agentPeer_) {
          agentPeer_ = peer;
          Registration r{true, m.getAgentId(), {}};
          for (auto t : m.getTasks()) {
            r.tasks[t.getTask().getTaskId()] = fromCapnp(t.getLatest())->state;
          }
          registrations_.push_back(r);
        }
        return registered(peer, m.getAgentId());
      }
      case AgentEnvelope::STATUS_UPDATE: {
        auto status = *fromCapnp(root.getStatusUpdate().getStatus());
        updates_.push_back(status);
        master_->send(peer, kAgentProtocol, testing::statusAckFrame("fw", status));
        return;
      }
      default:
        return;
    }
  }

  void registered(const std::string& peer, const std::string& agentId) {
    master_->send(peer, kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                    auto m = e.initAgentRegistered();
                    m.setAgentId(agentId);
                    m.setPingIntervalSec(3600);
                    m.setReregistered(registrations_.back().reregister);
                  }));
  }

  void runTask(const std::string& taskId, const std::string& command) {
    master_->send(agentPeer_, kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                    auto m = e.initRunTask();
                    m.initFramework().setId("fw");
                    TaskInfo task;
                    task.taskId = taskId;
                    task.command.value = command;
                    task.killGracePeriodSec = 1;
                    toCapnp(task, m.initTask());
                  }));
  }
  void killTask(const std::string& taskId) {
    master_->send(agentPeer_, kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                    auto k = e.initKillTask();
                    k.setFrameworkId("fw");
                    k.setTaskId(taskId);
                    k.setGracePeriodSec(-1);
                  }));
  }

  // Distinct (by uuid) updates of `taskId` in state `state`.
  size_t count(const std::string& taskId, TaskState state) const {
    std::set<std::string> uuids;
    for (const auto& u : updates_) {
      if (u.taskId == taskId && u.state == state) uuids.insert(u.uuid);
    }
    return uuids.size();
  }
  size_t deliveries(const std::string& taskId, TaskState state) const {
    size_t n = 0;
    for (const auto& u : updates_) n += u.taskId == taskId && u.state == state;
    return n;
  }
  std::string containerOf(const std::string& taskId) const {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && !u.containerId.empty()) return u.containerId;
    }
    return "";
  }
  std::string sandboxOf(const std::string& taskId) const {
    return paths::sandbox(workDir_, "fw", taskId, containerOf(taskId));
  }
  // The pid the task wrote to its sandbox's "pid" file (0 if none yet).
  pid_t taskPid(const std::string& taskId) const {
    std::string text = readFile(sandboxOf(taskId) + "/pid");
    return text.empty() ? 0 : std::stoi(text);
  }
  void registerAgent() {
    size_t before = registrations_.size();
    ASSERT_TRUE(runUntil([&] { return registrations_.size() > before; }, seconds(10)))
        << readFile(stderrPath());
  }
  void launchRunning(const std::string& taskId, const std::string& command) {
    runTask(taskId, command);
    ASSERT_TRUE(runUntil([&] { return count(taskId, TaskState::RUNNING) == 1 && taskPid(taskId); },
                         seconds(10)))
        << readFile(stderrPath());
  }

  // Where agora-agent keeps per-boot state by default.
  std::string runtimeDir() const { return workDir_ + "/run"; }

  EventLoop loop_;
  std::unique_ptr<ZmqServer> master_;
  // Starts the agent with cgroups isolation and runs task "caged" under it:
  // its pid and its container's cgroup.
  std::pair<pid_t, std::string> launchCaged() {
    cgroupsRoot_ = "agora-recovery-" + std::to_string(getpid());
    startAgent({"--isolation", "cgroups", "--cgroups-root", cgroupsRoot_});
    registerAgent();
    launchRunning("caged", kSleeper);
    return {taskPid("caged"), cgroupsRoot_ + "/" + containerOf("caged")};
  }

  std::string root_, workDir_, bootIdFile_, cgroupsRoot_;
  pid_t agentPid_ = 0;
  std::string agentPeer_;
  int nextAgent_ = 0;
  std::vector<Registration> registrations_;
  std::vector<TaskStatus> updates_;
};

// Runs until the file GO appears in the sandbox, then exits 0.
constexpr const char* kWaiter = "echo $$ > pid; while [ ! -e GO ]; do sleep 0.02; done";

TEST_F(AgentRecoveryTest, RestartAfterSigkillKeepsTasksAndDeliversWhatHappenedMeanwhile) {
  startAgent();
  registerAgent();
  launchRunning("long", kSleeper);
  launchRunning("short", kWaiter);
  pid_t longPid = taskPid("long");
  pid_t forkServer = childNamed(agentPid_, "agora-forksrv");
  if (forkServerSupported()) {
    EXPECT_GT(forkServer, 0);
  }

  stopAgent();
  // The agent's executor fork server leaves with it; its executors stay.
  if (forkServer > 0) {
    EXPECT_TRUE(runUntil([&] { return !processLive(forkServer); }, seconds(5)));
  }
  writeFile(sandboxOf("short") + "/GO", "");
  // The task ends while the agent is down; its executor records how.
  ASSERT_TRUE(runUntil([&] { return fs::exists(paths::taskExitFile(runtimeDir(), containerOf("short"))); },
                       seconds(10)));
  EXPECT_TRUE(processLive(longPid));

  startAgent();
  registerAgent();
  const Registration& again = registrations_.back();
  EXPECT_TRUE(again.reregister);
  EXPECT_EQ(again.agentId, "A1");
  EXPECT_EQ(again.tasks.count("long"), 1u);
  EXPECT_EQ(again.tasks.count("short"), 1u);
  ASSERT_TRUE(runUntil([&] { return count("short", TaskState::FINISHED) == 1; }, seconds(10)))
      << readFile(stderrPath());
  // Nothing more comes: the FINISHED update went out exactly once.
  runUntil([] { return false; }, seconds(1.5));
  EXPECT_EQ(deliveries("short", TaskState::FINISHED), 1u);
  EXPECT_EQ(deliveries("long", TaskState::RUNNING), 1u);
  EXPECT_TRUE(processLive(longPid));
  EXPECT_EQ(taskPid("long"), longPid);

  // The recovered executor obeys the restarted agent.
  killTask("long");
  ASSERT_TRUE(runUntil([&] { return count("long", TaskState::KILLED) == 1; }, seconds(10)))
      << readFile(stderrPath());
  EXPECT_TRUE(runUntil([&] { return !processLive(longPid); }, seconds(5)));
}

TEST_F(AgentRecoveryTest, ExecutorsThatDiedWhileTheAgentWasDownAreReported) {
  startAgent();
  registerAgent();
  launchRunning("crashed", kSleeper);
  launchRunning("recorded", kWaiter);
  std::string crashedContainer = containerOf("crashed");
  std::string recordedContainer = containerOf("recorded");
  auto executorOf = [&](const std::string& container) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmd.find("agora-executor") != std::string::npos &&
          cmd.find(container) != std::string::npos) {
        return static_cast<pid_t>(std::stoi(entry.path().filename()));
      }
    }
    return pid_t{0};
  };
  pid_t crashedExecutor = executorOf(crashedContainer);
  pid_t recordedExecutor = executorOf(recordedContainer);
  ASSERT_GT(crashedExecutor, 0);
  ASSERT_GT(recordedExecutor, 0);

  stopAgent();
  kill(crashedExecutor, SIGKILL);
  writeFile(sandboxOf("recorded") + "/GO", "");
  ASSERT_TRUE(runUntil([&] { return fs::exists(paths::taskExitFile(runtimeDir(), recordedContainer)); },
                       seconds(10)));
  kill(recordedExecutor, SIGKILL);
  ASSERT_TRUE(runUntil(
      [&] { return !processLive(crashedExecutor) && !processLive(recordedExecutor); }, seconds(5)));

  startAgent();
  registerAgent();
  ASSERT_TRUE(runUntil(
      [&] {
        return count("crashed", TaskState::FAILED) == 1 && count("recorded", TaskState::FINISHED) == 1;
      },
      seconds(10)))
      << readFile(stderrPath());
  for (const auto& u : updates_) {
    if (u.taskId == "crashed" && u.state == TaskState::FAILED) {
      EXPECT_EQ(u.reason, TaskReason::EXECUTOR_TERMINATED);
    }
  }
  // The dead executor's task (left in its session) was killed on recovery.
  EXPECT_TRUE(runUntil([&] { return !processLive(taskPid("crashed")); }, seconds(5)));
  // Once acknowledged, their checkpoints are gone.
  EXPECT_TRUE(runUntil(
      [&] { return !fs::exists(paths::containerCheckpoint(runtimeDir(), crashedContainer)); },
      seconds(5)))
      << readFile(stderrPath());
}

TEST_F(AgentRecoveryTest, RebootRegistersANewAgentAndDropsTheOldContainers) {
  startAgent();
  registerAgent();
  launchRunning("old", kSleeper);
  pid_t oldPid = taskPid("old");
  std::string container = containerOf("old");
  stopAgent();

  writeFile(bootIdFile_, "boot-2\n");
  startAgent();
  registerAgent();
  EXPECT_FALSE(registrations_.back().reregister);
  EXPECT_EQ(registrations_.back().agentId, "A2");
  // The old containers are gone (here they still ran: a simulated reboot).
  EXPECT_TRUE(runUntil([&] { return !processLive(oldPid); }, seconds(5)));
  EXPECT_FALSE(fs::exists(paths::containerCheckpoint(runtimeDir(), container)));
  EXPECT_TRUE(runUntil([&] { return fs::exists(paths::agentCheckpoint(workDir_)); }, seconds(5)));
}

TEST_F(AgentRecoveryTest, CorruptCheckpointStopsTheAgentUntilCleanupIsAsked) {
  startAgent();
  registerAgent();
  launchRunning("t", kSleeper);
  pid_t pid = taskPid("t");
  std::string containerCkpt = paths::containerCheckpoint(runtimeDir(), containerOf("t"));
  stopAgent();

  // Truncated container checkpoint.
  std::string bytes = readFile(containerCkpt);
  writeFile(containerCkpt, bytes.substr(0, bytes.size() - 5));
  startAgent();
  EXPECT_EQ(waitAgentExit(seconds(10)), 1);
  std::string err = readFile(stderrPath());
  EXPECT_NE(err.find(containerCkpt), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  EXPECT_TRUE(processLive(pid));  // nothing was killed

  // A flipped bit in the agent checkpoint.
  writeFile(containerCkpt, bytes);
  std::string agentCkpt = paths::agentCheckpoint(workDir_);
  std::string agentBytes = readFile(agentCkpt);
  agentBytes[agentBytes.size() - 1] ^= 0x10;
  writeFile(agentCkpt, agentBytes);
  startAgent();
  EXPECT_EQ(waitAgentExit(seconds(10)), 1);
  err = readFile(stderrPath());
  EXPECT_NE(err.find(agentCkpt), std::string::npos) << err;
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;

  startAgent({"--recover", "cleanup"});
  registerAgent();
  EXPECT_FALSE(registrations_.back().reregister);
  EXPECT_TRUE(runUntil([&] { return !processLive(pid); }, seconds(5)));
}

// The agent's HTTP port must be free for its restart whatever its children
// do: executors that keep running, and children caught between fork and
// exec when the agent died.
TEST_F(AgentRecoveryTest, RestartedRightAfterSigkillMidLaunchItGetsItsHttpPortBack) {
  uint16_t port = unusedPort();
  ASSERT_NE(port, 0);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/health";
  std::vector<std::string> flags = {"--http", "127.0.0.1:" + std::to_string(port)};
  startAgent(flags);
  registerAgent();
  launchRunning("long", kSleeper);
  pid_t longPid = taskPid("long");
  for (int round = 0; round < 3; ++round) {
    // A burst of launches; the agent dies once the first of them started.
    std::string prefix = "burst-" + std::to_string(round) + "-";
    for (int i = 0; i < 6; ++i) runTask(prefix + std::to_string(i), kSleeper);
    ASSERT_TRUE(runUntil([&] { return !containerOf(prefix + "0").empty(); }, seconds(10)))
        << readFile(stderrPath());
    stopAgent();
    size_t registrations = registrations_.size();
    startAgent(flags);
    bool serving = runUntil(
        [&] {
          auto response = http::get(url, std::chrono::milliseconds(500));
          return (response && response->status == 200) || waitpid(agentPid_, nullptr, WNOHANG) != 0;
        },
        seconds(10));
    ASSERT_TRUE(serving && processLive(agentPid_))
        << "round " << round << ": " << agora::testing::describePortHolders(port) << "\n"
        << readFile(stderrPath());
    ASSERT_TRUE(runUntil([&] { return registrations_.size() > registrations; }, seconds(10)))
        << readFile(stderrPath());
    EXPECT_TRUE(registrations_.back().reregister);
  }
  EXPECT_TRUE(processLive(longPid));
  EXPECT_EQ(taskPid("long"), longPid);
}

TEST_F(AgentRecoveryTest, CgroupsOfRecoveredContainersAreAdopted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto probe = cgroups::detectCgroups();
  if (!probe) GTEST_SKIP() << probe.error().message;
  auto [pid, cgroup] = launchCaged();
  auto members = [&] {
    auto pids = (*probe)->processes(cgroup);
    return pids ? *pids : std::vector<pid_t>{};
  };
  ASSERT_NE(std::find(members().begin(), members().end(), pid), members().end());

  stopAgent();
  EXPECT_TRUE(processLive(pid));
  startAgent({"--isolation", "cgroups", "--cgroups-root", cgroupsRoot_});
  registerAgent();
  EXPECT_TRUE(registrations_.back().reregister);
  runUntil([] { return false; }, seconds(1));
  EXPECT_TRUE(processLive(pid));
  auto after = members();
  EXPECT_NE(std::find(after.begin(), after.end(), pid), after.end());

  // The adopted cgroup still kills the whole container.
  killTask("caged");
  ASSERT_TRUE(runUntil([&] { return count("caged", TaskState::KILLED) == 1; }, seconds(10)))
      << readFile(stderrPath());
  EXPECT_TRUE(runUntil([&] { return !(*probe)->exists(cgroup); }, seconds(5)));
}

TEST_F(AgentRecoveryTest, CleanupRemovesTheCgroupsOfTheContainersItKills) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto probe = cgroups::detectCgroups();
  if (!probe) GTEST_SKIP() << probe.error().message;
  auto [pid, cgroup] = launchCaged();
  ASSERT_TRUE((*probe)->exists(cgroup));
  stopAgent();

  // A fresh start discards the checkpoints that named the container: its
  // cgroup goes with its processes, not left behind for good.
  startAgent({"--isolation", "cgroups", "--cgroups-root", cgroupsRoot_, "--recover", "cleanup"});
  registerAgent();
  EXPECT_FALSE(registrations_.back().reregister);
  EXPECT_TRUE(runUntil([&] { return !processLive(pid); }, seconds(5)));
  EXPECT_TRUE(runUntil([&] { return !(*probe)->exists(cgroup); }, seconds(5)))
      << cgroup << " was left behind";
}

TEST_F(AgentRecoveryTest, SandboxesOfEndedTasksAreStillRemovedAfterARestart) {
  startAgent({"--sandbox-gc-delay", "3s"});
  registerAgent();
  runTask("quick", "echo done");
  ASSERT_TRUE(runUntil([&] { return count("quick", TaskState::FINISHED) == 1; }, seconds(10)));
  std::string sandbox = sandboxOf("quick");
  std::string checkpoint = paths::containerCheckpoint(runtimeDir(), containerOf("quick"));
  ASSERT_TRUE(runUntil([&] { return !fs::exists(checkpoint); }, seconds(10)));
  ASSERT_TRUE(fs::exists(sandbox + "/stdout"));
  // Killed before the delay ran out: the timer went with the process.
  stopAgent();
  startAgent({"--sandbox-gc-delay", "3s"});
  registerAgent();
  EXPECT_TRUE(runUntil([&] { return !fs::exists(sandbox); }, seconds(10)))
      << sandbox << " outlived its delay across the restart";
  EXPECT_FALSE(fs::exists(fs::path(sandbox).parent_path())) << "its emptied task directory";
}

TEST_F(AgentRecoveryTest, OnANearlyFullDiskFinishedSandboxesGoAtOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a small tmpfs for the work dir)";
  fs::create_directories(workDir_);
  ASSERT_EQ(mount("tmpfs", workDir_.c_str(), "tmpfs", 0, "size=16m"), 0) << strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{workDir_};
  // 15 of its 16 MiB taken: past the 90% the default headroom allows.
  {
    std::ofstream filler(workDir_ + "/filler");
    std::string mib(1 << 20, 'x');
    for (int i = 0; i < 15; ++i) filler << mib;
  }
  startAgent({"--sandbox-gc-delay", "1h"});
  registerAgent();
  runTask("small", "echo done");
  ASSERT_TRUE(runUntil([&] { return count("small", TaskState::FINISHED) == 1; }, seconds(10)));
  std::string sandbox = sandboxOf("small");
  EXPECT_TRUE(runUntil([&] { return !fs::exists(sandbox); }, seconds(10)))
      << sandbox << " kept for an hour on a full disk";
  stopAgent();
  killProcessesUnder(root_);
}

}  // namespace
}  // namespace agora::agent
