// Real cgroups with real agora-executor processes: the Agent with a
// PosixContainerizer and the CgroupsIsolator (master faked in-process).
// Needs root and usable cgroups; skips otherwise. Each test process uses its
// own cgroup root ("agora-test-<pid>") so parallel runs do not interfere.

#include "agent/cgroups_isolator.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "agent/agent.hpp"
#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/executor/envelope.hpp"
#include "agent/executor/process_launcher.hpp"
#include "agent/http_api.hpp"
#include "agent/paths.hpp"
#include "agent/posix_containerizer.hpp"
#include "agent/proc_stat.hpp"
#include "tests/agent/real_agent_support.hpp"
#include "common/fake_transport.hpp"
#include "common/zmq_transport.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using schema::AgentEnvelope;

class CgroupsIsolatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    auto cg = cgroups::detectCgroups();
    if (!cg) GTEST_SKIP() << cg.error().message;
    char tmpl[] = "/tmp/agora-agent-cg-XXXXXX";
    workDir_ = mkdtemp(tmpl);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    masterServer_ = net_.bind("master");
    masterLink_ = net_.connect("master", "agent-cg");
    masterServer_->setHandler(
        [this](const std::string&, std::string_view, std::string_view p) { onMaster(p); });
    ASSERT_TRUE(paths::makeExecutorSocketDir(workDir_));
    auto executors = ZmqServer::create(loop_, paths::executorEndpoint(workDir_));
    ASSERT_TRUE(executors) << executors.error().message;
    executors_ = std::move(*executors);

    auto isolator = std::make_unique<CgroupsIsolator>(std::move(*cg),
                                                      CgroupsIsolator::Options{root_, false, 1024});
    isolator_ = isolator.get();
    std::vector<std::unique_ptr<Isolator>> isolators;
    isolators.push_back(std::move(isolator));
    containerizer_ = std::make_unique<PosixContainerizer>(
        reaper_,
        PosixContainerizer::Options{workDir_, std::string(AGORA_BIN_DIR) + "/agora-executor",
                                    paths::executorEndpoint(workDir_)},
        std::move(isolators));
    Agent::Options options;
    options.hostname = "cg";
    options.supervisor.workDir = workDir_;
    options.tickInterval = millis(200);
    agent_ = std::make_unique<Agent>(loop_, *masterLink_, *executors_, *containerizer_, options);
    agent_->start();
    ASSERT_TRUE(runUntil([&] { return agent_->registered(); }, seconds(5)));
  }

  void TearDown() override {
    if (!containerizer_) return;
    for (const auto& id : containerizer_->containers()) (void)containerizer_->destroy(id);
    EXPECT_TRUE(runUntil([&] { return containerizer_->containers().empty(); }, seconds(10)));
    // (e) nothing of any container remains; the root goes with the isolator.
    EXPECT_TRUE(isolator_->cgroups().children(root_).empty()) << "leftover cgroups under " << root_;
    auto probe = cgroups::detectCgroups();
    agent_.reset();
    containerizer_.reset();
    if (probe) {
      EXPECT_FALSE((*probe)->exists(root_)) << "the agent's cgroup root " << root_ << " stayed";
    }
    executors_.reset();
    fs::remove_all(workDir_);
  }

  void onMaster(std::string_view payload) {
    testing::answerAsMaster(*masterServer_, "agent-cg", payload, updates_);
  }

  bool runUntil(const std::function<bool()>& done, Duration timeout) {
    return testing::runUntil(loop_, reaper_, done, timeout);
  }

  void runTask(const std::string& taskId, const std::string& command, double cpus, double mem,
               KeyValues labels = {}) {
    TaskInfo task;
    task.taskId = taskId;
    task.command.value = command;
    task.killGracePeriodSec = 1;
    if (cpus > 0) {
      ASSERT_TRUE(task.resources.setScalar("cpus", cpus));
    }
    if (mem > 0) {
      ASSERT_TRUE(task.resources.setScalar("mem", mem));
    }
    task.labels = std::move(labels);
    masterServer_->send("agent-cg", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                          auto m = e.initRunTask();
                          m.initFramework().setId("fw");
                          toCapnp(task, m.initTask());
                        }));
  }
  void killTask(const std::string& taskId) {
    masterServer_->send("agent-cg", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                          auto k = e.initKillTask();
                          k.setFrameworkId("fw");
                          k.setTaskId(taskId);
                          k.setGracePeriodSec(-1);
                        }));
  }
  const TaskStatus* latestOf(const std::string& taskId) {
    const TaskStatus* out = nullptr;
    for (const auto& u : updates_) {
      if (u.taskId == taskId) out = &u;
    }
    return out;
  }
  const TaskStatus* terminalOf(const std::string& taskId) {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && isTerminal(u.state)) return &u;
    }
    return nullptr;
  }
  bool waitTerminal(const std::string& taskId, Duration timeout = seconds(15)) {
    return runUntil([&] { return terminalOf(taskId) != nullptr; }, timeout);
  }
  bool waitRunning(const std::string& taskId) {
    return runUntil(
        [&] {
          auto* s = latestOf(taskId);
          return s && s->state == TaskState::RUNNING;
        },
        seconds(10));
  }
  std::string containerOf(const std::string& taskId) {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && !u.containerId.empty()) return u.containerId;
    }
    return "";
  }
  std::string sandboxOf(const std::string& taskId) {
    return paths::sandbox(workDir_, "fw", taskId, containerOf(taskId));
  }
  std::string stderrOf(const std::string& taskId) {
    std::ifstream in(sandboxOf(taskId) + "/stderr");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Waits until FILE in the task's sandbox holds a pid.
  pid_t waitPidFile(const std::string& taskId, const std::string& file) {
    pid_t pid = 0;
    runUntil(
        [&] {
          std::ifstream in(sandboxOf(taskId) + "/" + file);
          return static_cast<bool>(in >> pid) && pid > 0;
        },
        seconds(10));
    return pid;
  }

  const std::string root_ = "agora-test-" + std::to_string(getpid());
  std::string workDir_;
  EventLoop loop_;
  FakeNetwork net_{loop_};
  ChildReaper reaper_{loop_, millis(20)};
  std::unique_ptr<FakeServer> masterServer_;
  std::unique_ptr<FakeClient> masterLink_;
  std::unique_ptr<ZmqServer> executors_;
  CgroupsIsolator* isolator_ = nullptr;  // owned by containerizer_
  std::unique_ptr<PosixContainerizer> containerizer_;
  std::unique_ptr<Agent> agent_;
  std::vector<TaskStatus> updates_;
};

TEST_F(CgroupsIsolatorTest, OverTheMemoryLimitTheTaskFailsWithTheMemoryReason) {
  // tail keeps everything after the last newline: /dev/zero has none.
  runTask("oom", "head -c 200M /dev/zero | tail > /dev/null", 0.5, 32);
  ASSERT_TRUE(waitTerminal("oom"));
  const TaskStatus* t = terminalOf("oom");
  EXPECT_EQ(t->state, TaskState::FAILED);
  EXPECT_EQ(t->reason, TaskReason::CONTAINER_LIMITATION_MEMORY) << t->message;
  EXPECT_EQ(t->message, "Memory limit exceeded: the task used more than its 32 MB (mem:32)");
}

TEST_F(CgroupsIsolatorTest, AChildKilledForMemoryFailsTheTaskThoughTheCommandExitsZero) {
  // The pipeline's tail is OOM-killed; the shell goes on and exits 0.
  runTask("child-oom", "head -c 200M /dev/zero | tail > /dev/null; exit 0", 0.5, 32);
  ASSERT_TRUE(waitTerminal("child-oom"));
  const TaskStatus* t = terminalOf("child-oom");
  EXPECT_EQ(t->state, TaskState::FAILED) << t->message;
  EXPECT_EQ(t->reason, TaskReason::CONTAINER_LIMITATION_MEMORY) << t->message;
  // Says the command exited 0, unless the kernel took the executor too (as
  // an instrumented, larger executor under a sanitizer can be).
  EXPECT_NE(t->message.find("more than its 32 MB"), std::string::npos) << t->message;
}

TEST_F(CgroupsIsolatorTest, ATaskWithinItsMemoryLimitFinishes) {
  runTask("small", "head -c 4M /dev/zero | tail > /dev/null", 0.5, 64);
  ASSERT_TRUE(waitTerminal("small"));
  EXPECT_EQ(terminalOf("small")->state, TaskState::FINISHED) << terminalOf("small")->message;
  // Its cgroup goes with it; the agent's root stays for the next container.
  std::string container = containerOf("small");
  EXPECT_TRUE(runUntil([&] { return !isolator_->cgroups().exists(root_ + "/" + container); },
                       seconds(10)));
  EXPECT_TRUE(isolator_->cgroups().exists(root_));
}

TEST_F(CgroupsIsolatorTest, AForkBombStopsAtPidsMaxAndTheAgentKeepsServing) {
  runTask("bomb", "i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo spawned; wait",
          0.5, 64, {{CgroupsIsolator::kPidsMaxLabel, "20"}});
  ASSERT_TRUE(
      runUntil([&] { return !stderrOf("bomb").empty() || terminalOf("bomb"); }, seconds(10)));
  uint32_t most = 0;
  runUntil(
      [&] {
        auto usage = containerizer_->usage(containerOf("bomb"));
        if (usage) most = std::max(most, usage->processes);
        return false;
      },
      millis(300));
  EXPECT_LE(most, 20u);
  EXPECT_NE(stderrOf("bomb").find("fork"), std::string::npos) << stderrOf("bomb");
  // The agent still launches and finishes another task meanwhile.
  runTask("after", "echo ok", 0.1, 32);
  ASSERT_TRUE(waitTerminal("after"));
  EXPECT_EQ(terminalOf("after")->state, TaskState::FINISHED);
  killTask("bomb");
  ASSERT_TRUE(waitTerminal("bomb"));
}

TEST_F(CgroupsIsolatorTest, TheExecutorAndItsTaskRunInTheContainersCgroupInEveryHierarchy) {
  // The task records its own cgroups and its parent's (the executor's).
  runTask("where", "cat /proc/self/cgroup > task.cg; cat /proc/$PPID/cgroup > executor.cg; sleep 1000",
          0.5, 64);
  ASSERT_TRUE(waitRunning("where"));
  auto read = [&](const std::string& file) {
    std::string text;
    runUntil(
        [&] {
          std::ifstream in(sandboxOf("where") + "/" + file);
          text.assign(std::istreambuf_iterator<char>(in), {});
          return text.find('\n') != std::string::npos;
        },
        seconds(10));
    return text;
  };
  const std::string suffix = "/" + isolator_->cgroupName(containerOf("where"));
  const std::vector<std::string> controllers =
      isolator_->cgroups().version() == 1
          ? std::vector<std::string>{"cpu", "cpuacct", "memory", "pids", "freezer"}
          : std::vector<std::string>{""};
  for (const std::string file : {"task.cg", "executor.cg"}) {
    std::string text = read(file);
    for (const auto& controller : controllers) {
      bool found = false;
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        // "ID:controller[,controller]:/path"
        size_t first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string list = "," + line.substr(first + 1, second - first - 1) + ",";
        if (list.find("," + controller + ",") == std::string::npos) continue;
        found = true;
        EXPECT_TRUE(line.ends_with(suffix)) << file << ": " << line << " (want ..." << suffix << ")";
      }
      EXPECT_TRUE(found) << file << " lists no " << controller << " hierarchy:\n" << text;
    }
  }
  killTask("where");
  ASSERT_TRUE(waitTerminal("where"));
}

TEST_F(CgroupsIsolatorTest, AJoinFileTheChildCannotWriteFailsTheLaunchNamingIt) {
  ProcessOptions process;
  process.argv = {"/bin/true"};
  process.joinFiles = {workDir_ + "/no-such-cgroup/tasks"};
  auto pid = launchProcess(process);
  ASSERT_FALSE(pid);
  EXPECT_EQ(pid.error().message,
            "join " + workDir_ + "/no-such-cgroup/tasks: No such file or directory");
}

TEST_F(CgroupsIsolatorTest, KillTakesDownASetsidGrandchild) {
  runTask("tree", "setsid sh -c 'echo $$ > grandchild.pid; exec sleep 1000' & sleep 1000", 0.5, 64);
  ASSERT_TRUE(waitRunning("tree"));
  pid_t grandchild = waitPidFile("tree", "grandchild.pid");
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(runUntil([&] { return processLive(grandchild); }, seconds(5)));
  auto stat = readProcStat(grandchild);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->session, grandchild) << "the grandchild left the executor's session";
  killTask("tree");
  ASSERT_TRUE(waitTerminal("tree"));
  EXPECT_EQ(terminalOf("tree")->state, TaskState::KILLED);
  ASSERT_TRUE(runUntil([&] { return containerizer_->containers().empty(); }, seconds(10)));
  EXPECT_TRUE(runUntil([&] { return !processLive(grandchild); }, seconds(2)));
}

TEST_F(CgroupsIsolatorTest, ADaemonDiesWhenTheTaskExits) {
  // The task exits only once the daemon is up, so the daemon is really left behind.
  runTask("daemon",
          "setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' & "
          "while [ ! -s daemon.pid ]; do sleep 0.01; done; exit 0",
          0.5, 64);
  ASSERT_TRUE(waitTerminal("daemon"));
  EXPECT_EQ(terminalOf("daemon")->state, TaskState::FINISHED);
  pid_t daemon = waitPidFile("daemon", "daemon.pid");
  ASSERT_GT(daemon, 0);
  ASSERT_TRUE(runUntil([&] { return containerizer_->containers().empty(); }, seconds(10)));
  EXPECT_TRUE(runUntil([&] { return !processLive(daemon); }, seconds(2)));
}

TEST_F(CgroupsIsolatorTest, ACpuQuotaThrottlesABusyLoopAndShowsInUsage) {
  runTask("busy", "while :; do :; done", 0.1, 32, {{CgroupsIsolator::kCpuQuotaLabel, "true"}});
  ASSERT_TRUE(waitRunning("busy"));
  std::string id = containerOf("busy");
  std::optional<ResourceStatistics> seen;
  ASSERT_TRUE(runUntil(
      [&] {
        for (const auto& c : agent_->snapshot()->containers) {
          // Both counted from the cgroup alone (no /proc scan): the
          // executor and the shell (an ASan executor is throttled even
          // before it starts the shell).
          if (c.id == id && c.usage && c.usage->cpusNrThrottled > 0 && c.usage->processes >= 2) {
            seen = c.usage;
          }
        }
        return seen.has_value();
      },
      seconds(5)));
  EXPECT_TRUE(seen->cgroups);
  EXPECT_GT(seen->cpusThrottledSec, 0);
  EXPECT_GT(seen->memLimitBytes, 0u);
  EXPECT_GT(seen->memRssBytes, 0u);
  auto body = nlohmann::json::parse(containersResponse(*agent_->snapshot()).body);
  bool found = false;
  for (const auto& c : body["containers"]) {
    if (c["id"] == id) {
      found = true;
      EXPECT_GT(c["usage"]["cpus_nr_throttled"].get<uint64_t>(), 0u);
      EXPECT_EQ(c["usage"]["mem_limit_bytes"].get<uint64_t>(), 32u << 20);
    }
  }
  EXPECT_TRUE(found);
  // 0.1 cpu: over 1 s of wall time it gets about 0.1 s.
  auto before = containerizer_->usage(id);
  ASSERT_TRUE(before);
  auto start = std::chrono::steady_clock::now();
  runUntil([] { return false; }, seconds(1));
  auto after = containerizer_->usage(id);
  ASSERT_TRUE(after);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu =
      after->cpusUserSec + after->cpusSystemSec - before->cpusUserSec - before->cpusSystemSec;
  EXPECT_LT(cpu, 0.3 * wall);
  killTask("busy");
  ASSERT_TRUE(waitTerminal("busy"));
}

TEST_F(CgroupsIsolatorTest, LeftoversOfThisWorkDirAreKilledAndRemoved) {
  // A cgroup as a crashed agent would leave it: created, holding a process.
  std::string id = "0123456789abcdef0123456789abcdef";
  ContainerConfig config;
  config.containerId = id;
  ASSERT_TRUE(isolator_->prepare(config));
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_TRUE(isolator_->isolate(id, child));
  // Another agent's fresh, still empty container is left alone.
  ContainerConfig other;
  other.containerId = "other";
  ASSERT_TRUE(isolator_->prepare(other));
  auto removed = isolator_->removeLeftovers([&](const std::string& c) { return c == id; });
  EXPECT_EQ(removed, std::vector<std::string>{id});
  EXPECT_TRUE(isolator_->cgroups().exists(isolator_->cgroupName("other")));
  ASSERT_TRUE(isolator_->cleanup("other"));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(isolator_->cgroups().exists(isolator_->cgroupName(id)));
}

TEST_F(CgroupsIsolatorTest, MeasuresCgroupCreateAttachRemove) {
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    std::string id = "m" + std::to_string(i);
    ContainerConfig config;
    config.containerId = id;
    ASSERT_TRUE(config.task.resources.setScalar("cpus", 0.5));
    ASSERT_TRUE(config.task.resources.setScalar("mem", 64));
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(isolator_->prepare(config));
    ASSERT_TRUE(isolator_->isolate(id, child));
    ::kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    ASSERT_TRUE(isolator_->cleanup(id));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << "cgroups create+limits+attach+remove (" << isolator_->cgroups().describe()
            << "): p50_ms=" << ms[ms.size() / 2] << " max_ms=" << ms.back() << std::endl;
}

}  // namespace
}  // namespace agora::agent
