// Real executors: the Agent with a PosixContainerizer and agora-executor
// processes on an ipc socket; the master is faked in-process.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "agent/agent.hpp"
#include "agent/executor/envelope.hpp"
#include "agent/http_api.hpp"
#include "agent/paths.hpp"
#include "agent/posix_containerizer.hpp"
#include "common/fake_transport.hpp"
#include "common/http_client.hpp"
#include "common/zmq_transport.hpp"
#include "tests/agent/real_agent_support.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using schema::AgentEnvelope;

// Records the order of isolator calls.
class RecordingIsolator final : public Isolator {
 public:
  explicit RecordingIsolator(std::vector<std::string>& calls) : calls_(calls) {}
  std::string name() const override { return "recording"; }
  Status prepare(const ContainerConfig&) override { return record("prepare"); }
  Status isolate(const std::string&, pid_t pid) override {
    // The child must still be us (stopped before exec), not the executor.
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    comm >> name;
    return record(name == "agora-executor" ? "isolate-too-late" : "isolate");
  }
  Status cleanup(const std::string&) override { return record("cleanup"); }

 private:
  Status record(const std::string& what) {
    calls_.push_back(what);
    return {};
  }
  std::vector<std::string>& calls_;
};

class AgentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-agent-it-XXXXXX";
    workDir_ = mkdtemp(tmpl);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    masterServer_ = net_.bind("master");
    masterLink_ = net_.connect("master", "agent-it");
    masterServer_->setHandler(
        [this](const std::string&, std::string_view, std::string_view p) { onMaster(p); });
    ASSERT_TRUE(paths::makeExecutorSocketDir(workDir_));
    auto executors = ZmqServer::create(loop_, paths::executorEndpoint(workDir_));
    ASSERT_TRUE(executors) << executors.error().message;
    executors_ = std::move(*executors);
    startAgent(std::string(AGORA_BIN_DIR) + "/agora-executor");
  }

  void startAgent(const std::string& executorPath, size_t maxStarting = 0, double defaultDiskMb = 0,
                  Duration sandboxGcDelay = Duration::zero()) {
    agent_.reset();
    containerizer_.reset();
    std::vector<std::unique_ptr<Isolator>> isolators;
    isolators.push_back(std::make_unique<RecordingIsolator>(isolatorCalls_));
    containerizer_ = std::make_unique<PosixContainerizer>(
        reaper_,
        PosixContainerizer::Options{workDir_, executorPath, paths::executorEndpoint(workDir_)},
        std::move(isolators));
    Agent::Options options;
    options.hostname = "it";
    options.supervisor.workDir = workDir_;
    options.supervisor.maxStarting = maxStarting;
    options.supervisor.defaultDiskMb = defaultDiskMb;
    options.supervisor.diskCheckInterval = millis(200);
    options.supervisor.sandboxGcDelay = sandboxGcDelay;
    options.statusUpdates.retryMin = seconds(0.5);
    options.statusUpdates.retryMax = seconds(1);
    agent_ = std::make_unique<Agent>(loop_, *masterLink_, *executors_, *containerizer_, options);
    agent_->start();
    ASSERT_TRUE(runUntil([&] { return agent_->registered(); }, seconds(5)));
  }

  void TearDown() override {
    for (const auto& id : containerizer_->containers()) (void)containerizer_->destroy(id);
    runUntil([&] { return containerizer_->containers().empty(); }, seconds(5));
    agent_.reset();
    containerizer_.reset();
    executors_.reset();
    fs::remove_all(workDir_);
  }

  void onMaster(std::string_view payload) {
    testing::answerAsMaster(*masterServer_, "agent-it", payload, updates_);
  }

  bool runUntil(const std::function<bool()>& done, Duration timeout) {
    return testing::runUntil(loop_, reaper_, done, timeout);
  }

  void runTask(const std::string& taskId, const std::string& command, double grace = 3) {
    masterServer_->send("agent-it", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                          auto m = e.initRunTask();
                          m.initFramework().setId("fw");
                          TaskInfo task;
                          task.taskId = taskId;
                          task.command.value = command;
                          task.killGracePeriodSec = grace;
                          toCapnp(task, m.initTask());
                        }));
  }
  void killTask(const std::string& taskId) {
    masterServer_->send("agent-it", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                          auto k = e.initKillTask();
                          k.setFrameworkId("fw");
                          k.setTaskId(taskId);
                          k.setGracePeriodSec(-1);
                        }));
  }
  std::vector<TaskState> statesOf(const std::string& taskId) {
    std::vector<TaskState> out;
    for (const auto& u : updates_) {
      if (u.taskId == taskId) out.push_back(u.state);
    }
    return out;
  }
  const TaskStatus* terminalOf(const std::string& taskId) {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && isTerminal(u.state)) return &u;
    }
    return nullptr;
  }
  bool waitTerminal(const std::string& taskId, Duration timeout = seconds(10)) {
    return runUntil([&] { return terminalOf(taskId) != nullptr; }, timeout);
  }
  std::string sandboxOf(const std::string& taskId) {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && !u.containerId.empty())
        return paths::sandbox(workDir_, "fw", taskId, u.containerId);
    }
    return "";
  }

  std::string workDir_;
  EventLoop loop_;
  FakeNetwork net_{loop_};
  ChildReaper reaper_{loop_, millis(20)};
  std::unique_ptr<FakeServer> masterServer_;
  std::unique_ptr<FakeClient> masterLink_;
  std::unique_ptr<ZmqServer> executors_;
  std::unique_ptr<PosixContainerizer> containerizer_;
  std::unique_ptr<Agent> agent_;
  std::vector<TaskStatus> updates_;
  std::vector<std::string> isolatorCalls_;
};

TEST_F(AgentIntegrationTest, EchoFinishesWithItsOutputInTheSandbox) {
  runTask("echo", "echo hi");
  ASSERT_TRUE(waitTerminal("echo"));
  EXPECT_EQ(statesOf("echo"),
            (std::vector<TaskState>{TaskState::STARTING, TaskState::RUNNING, TaskState::FINISHED}));
  EXPECT_EQ(terminalOf("echo")->exitCode, 0);
  std::ifstream out(sandboxOf("echo") + "/stdout");
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "hi");
  ASSERT_TRUE(runUntil([&] { return containerizer_->containers().empty(); }, seconds(5)));
  EXPECT_EQ(isolatorCalls_, (std::vector<std::string>{"prepare", "isolate", "cleanup"}));
}

TEST_F(AgentIntegrationTest, TheTaskGetsItsOwnEnvironmentNotTheAgents) {
  // What a shell that started the agent would leave in its environment.
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  setenv("TMUX", "/tmp/tmux-0/default,1,0", 1);
  setenv("AGORA_LEAK_CHECK", "agent", 1);
  setenv("PATH", ("/opt/agent-only/bin:" + path).c_str(), 1);
  startAgent(std::string(AGORA_BIN_DIR) + "/agora-executor");  // executors get this environment
  unsetenv("TMUX");
  unsetenv("AGORA_LEAK_CHECK");
  setenv("PATH", path.c_str(), 1);
  masterServer_->send("agent-it", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
                        auto m = e.initRunTask();
                        m.initFramework().setId("fw");
                        TaskInfo task;
                        task.taskId = "env";
                        task.command.value = "env | sort";
                        task.command.environment = {{"MINE", "1"}};
                        toCapnp(task, m.initTask());
                      }));
  ASSERT_TRUE(waitTerminal("env"));
  ASSERT_EQ(terminalOf("env")->state, TaskState::FINISHED) << terminalOf("env")->message;
  std::ifstream in(sandboxOf("env") + "/stdout");
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(env.count("TMUX"), 0u);
  EXPECT_EQ(env.count("AGORA_LEAK_CHECK"), 0u);
  EXPECT_EQ(env["PATH"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_FALSE(env["HOME"].empty());
  EXPECT_EQ(env["MINE"], "1");
  EXPECT_EQ(env["AGORA_TASK_ID"], "env");
  EXPECT_EQ(env["AGORA_FRAMEWORK_ID"], "fw");
  EXPECT_EQ(env["AGORA_AGENT_ID"], agent_->agentId());
  EXPECT_FALSE(env["AGORA_AGENT_ID"].empty());
  EXPECT_EQ(env["AGORA_SANDBOX"], sandboxOf("env"));
  EXPECT_FALSE(env["AGORA_CONTAINER_ID"].empty());
  // What the shell itself adds (PWD, SHLVL, _) and nothing else.
  std::set<std::string> expected = {"PATH",
                                    "HOME",
                                    "MINE",
                                    "AGORA_TASK_ID",
                                    "AGORA_FRAMEWORK_ID",
                                    "AGORA_AGENT_ID",
                                    "AGORA_CONTAINER_ID",
                                    "AGORA_SANDBOX",
                                    "MESOS_TASK_ID",
                                    "MESOS_FRAMEWORK_ID",
                                    "MESOS_AGENT_ID",
                                    "MESOS_SANDBOX",
                                    "MESOS_DIRECTORY",
                                    "PWD",
                                    "SHLVL",
                                    "_"};
  for (const auto& [key, value] : env) EXPECT_TRUE(expected.count(key)) << key << "=" << value;
}

TEST_F(AgentIntegrationTest, SecretsReachTheCommandAndNoApiServesThem) {
  masterServer_->send(
      "agent-it", kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto e) {
        auto m = e.initRunTask();
        m.initFramework().setId("fw");
        TaskInfo task;
        task.taskId = "secrets";
        task.command.value =
            "[ \"$DB\" = env-value-123 ] && echo env-ok; "
            "[ \"$(cat $AGORA_SECRETS/db/pass)\" = file-value-456 ] && echo file-ok; "
            "stat -c '%a %U' $AGORA_SECRETS $AGORA_SECRETS/db/pass";
        task.secrets = {TaskSecret{"db-env", "env-value-123", "DB", ""},
                        TaskSecret{"db-file", "file-value-456", "", "db/pass"}};
        toCapnp(task, m.initTask());
      }));
  ASSERT_TRUE(waitTerminal("secrets"));
  std::string sandbox = sandboxOf("secrets");
  std::ifstream in(sandbox + "/stdout");
  std::stringstream out;
  out << in.rdbuf();
  // Root passes permission checks: the mode is what a task's user would meet.
  EXPECT_EQ(out.str(), "env-ok\nfile-ok\n500 root\n400 root\n") << out.str();
  auto server = http::HttpServer::create("127.0.0.1:0");
  ASSERT_TRUE(server);
  installHttpApi(
      **server, [this] { return agent_->snapshot(); },
      SandboxFiles(paths::sandboxesRoot(workDir_)));
  ASSERT_TRUE((*server)->start());
  std::string base = "http://" + (*server)->address();
  auto secret = http::get(
      base + "/files/read?path=" + http::urlEncode(sandbox + "/.secrets/db/pass") + "&offset=0");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->status, 403);
  EXPECT_EQ(http::get(base + "/files/read?path=" +
                      http::urlEncode(sandbox + "//./.secrets/db/pass") + "&offset=0")
                ->status,
            403);
  for (const char* path : {"/api/v1/containers", "/health"}) {
    auto body = http::get(base + path);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->body.find("value-"), std::string::npos) << path << ": " << body->body;
  }
  (*server)->stop();
}

TEST_F(AgentIntegrationTest, NonZeroExitFails) {
  runTask("three", "exit 3");
  ASSERT_TRUE(waitTerminal("three"));
  const TaskStatus* t = terminalOf("three");
  EXPECT_EQ(t->state, TaskState::FAILED);
  EXPECT_EQ(t->exitCode, 3);
  EXPECT_EQ(t->message, "Command exited with status 3");
}

TEST_F(AgentIntegrationTest, KillEndsASleepWithinTheGracePeriod) {
  runTask("sleep", "sleep 100", 3);
  ASSERT_TRUE(runUntil([&] { return statesOf("sleep").size() == 2; }, seconds(10)));
  auto start = std::chrono::steady_clock::now();
  killTask("sleep");
  ASSERT_TRUE(waitTerminal("sleep"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(terminalOf("sleep")->state, TaskState::KILLED);
}

TEST_F(AgentIntegrationTest, ATaskIgnoringSigtermGetsSigkill) {
  runTask("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.05; done", 0.5);
  ASSERT_TRUE(runUntil([&] { return statesOf("stubborn").size() == 2; }, seconds(10)));
  // Wait until the trap is installed.
  ASSERT_TRUE(runUntil(
      [&] {
        return fs::exists(sandboxOf("stubborn") + "/stdout") &&
               fs::file_size(sandboxOf("stubborn") + "/stdout") > 0;
      },
      seconds(5)));
  killTask("stubborn");
  ASSERT_TRUE(waitTerminal("stubborn", seconds(5)));
  EXPECT_EQ(terminalOf("stubborn")->state, TaskState::KILLED);
  EXPECT_EQ(terminalOf("stubborn")->exitCode, 128 + SIGKILL);
}

TEST_F(AgentIntegrationTest, LaunchesBeyondMaxStartingWaitTheirTurnInOrder) {
  startAgent(std::string(AGORA_BIN_DIR) + "/agora-executor", /*maxStarting=*/1);
  for (const char* id : {"a", "b", "c"}) runTask(id, "sleep 30");
  // Launched and not yet running: never more than one.
  size_t mostStarting = 0;
  auto running = [&] {
    size_t n = 0;
    for (const char* id : {"a", "b", "c"}) {
      auto states = statesOf(id);
      n += std::find(states.begin(), states.end(), TaskState::RUNNING) != states.end();
    }
    return n;
  };
  ASSERT_TRUE(runUntil(
      [&] {
        size_t launched = containerizer_->containers().size();
        size_t up = running();
        if (launched > up) mostStarting = std::max(mostStarting, launched - up);
        return up == 3;
      },
      seconds(20)));
  EXPECT_EQ(mostStarting, 1u);
  // In launch order: each waited for the one before it to run.
  std::vector<std::string> order;
  for (const auto& u : updates_) {
    if (u.state == TaskState::RUNNING) order.push_back(u.taskId);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));

  // Killed while it waits: it ends at once and never gets a container.
  for (const char* id : {"a", "b", "c"}) killTask(id);
  ASSERT_TRUE(runUntil([&] { return containerizer_->containers().empty(); }, seconds(10)));
  runTask("d", "sleep 30");
  runTask("e", "sleep 30");
  killTask("e");
  ASSERT_TRUE(waitTerminal("e"));
  EXPECT_EQ(terminalOf("e")->state, TaskState::KILLED);
  EXPECT_EQ(terminalOf("e")->reason, TaskReason::TASK_KILLED_DURING_LAUNCH);
  EXPECT_EQ(terminalOf("e")->message, "Task killed while it waited for its container to start");
  EXPECT_EQ(terminalOf("e")->containerId.empty(), false);
  ASSERT_TRUE(runUntil(
      [&] {
        auto states = statesOf("d");
        return std::find(states.begin(), states.end(), TaskState::RUNNING) != states.end();
      },
      seconds(10)));
  EXPECT_EQ(containerizer_->containers().size(), 1u);
}

TEST_F(AgentIntegrationTest, MissingExecutorBinaryFailsTheLaunch) {
  startAgent(workDir_ + "/no-such-executor");
  runTask("lost", "true");
  ASSERT_TRUE(waitTerminal("lost"));
  EXPECT_EQ(terminalOf("lost")->reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(terminalOf("lost")->message.find("No such file"), std::string::npos);
  EXPECT_TRUE(containerizer_->containers().empty());
}

TEST_F(AgentIntegrationTest, GarbageOnTheExecutorSocketIsDropped) {
  zmq::socket_t rogue(zmqContext(), zmq::socket_type::dealer);
  rogue.set(zmq::sockopt::linger, 0);
  rogue.set(zmq::sockopt::routing_id, "rogue");  // printable: its frames reach decoding
  rogue.connect(paths::executorEndpoint(workDir_));
  rogue.send(zmq::str_buffer("just one frame"), zmq::send_flags::none);
  rogue.send(zmq::str_buffer("agora.executor.v1"), zmq::send_flags::sndmore);
  rogue.send(zmq::str_buffer("\xff\xff\xff\xff garbage"), zmq::send_flags::none);
  rogue.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
  rogue.send(zmq::str_buffer("b"), zmq::send_flags::sndmore);
  rogue.send(zmq::str_buffer("c"), zmq::send_flags::none);
  ASSERT_TRUE(runUntil([&] { return executors_->stats().malformedFrames >= 2; }, seconds(5)));
  runTask("after", "echo ok");
  ASSERT_TRUE(waitTerminal("after"));
  EXPECT_EQ(terminalOf("after")->state, TaskState::FINISHED);
  auto counters = agent_->snapshot()->counters;
  EXPECT_GE(counters.messagesRejected["decode"], 1u);
}

// A process that reaches the executor socket (as a task could before it was
// moved into a root-only directory) claims another container's identity and
// reports it FINISHED: the agent refuses it, the task keeps running, and its
// real executor keeps its link (a kill still goes through it).
TEST_F(AgentIntegrationTest, AnotherProcessCannotSpeakForAnExecutor) {
  runTask("victim", "sleep 30", /*grace=*/1);
  ASSERT_TRUE(runUntil(
      [&] {
        auto states = statesOf("victim");
        return std::find(states.begin(), states.end(), TaskState::RUNNING) != states.end();
      },
      seconds(10)));
  std::string containerId;
  for (const auto& u : updates_) {
    if (u.taskId == "victim" && !u.containerId.empty()) containerId = u.containerId;
  }
  ASSERT_FALSE(containerId.empty());
  struct stat dir {};
  ASSERT_EQ(stat(paths::executorSocketDir(workDir_).c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 07777, 0700u);

  auto forge = [&](const std::string& identity) {
    auto rogue = std::make_unique<zmq::socket_t>(zmqContext(), zmq::socket_type::dealer);
    rogue->set(zmq::sockopt::linger, 0);
    rogue->set(zmq::sockopt::routing_id, identity);
    rogue->connect(paths::executorEndpoint(workDir_));
    auto send = [&](const std::string& frame) {
      rogue->send(zmq::buffer(std::string_view(kExecutorProtocol)), zmq::send_flags::sndmore);
      rogue->send(zmq::buffer(frame), zmq::send_flags::none);
    };
    send(buildEnvelope<schema::ExecutorEnvelope>([&](auto e) {
      auto r = e.initRegister();
      r.setContainerId(containerId);
      r.setTaskId("victim");
      r.setFrameworkId("fw");
    }));
    TaskStatus finished;
    finished.taskId = "victim";
    finished.containerId = containerId;
    finished.state = TaskState::FINISHED;
    finished.uuid = randomUuidBytes();
    send(buildEnvelope<schema::ExecutorEnvelope>(
        [&](auto e) { toCapnp(finished, e.initStatusUpdate()); }));
    return rogue;
  };
  // Its bare container ID (what executors used to use), and a wrong secret.
  auto bare = forge(containerId);
  auto guessed = forge(containerId + ":" + std::string(32, '0'));
  ASSERT_TRUE(runUntil(
      [&] {
        const auto& rejected = agent_->snapshot()->counters.messagesRejected;
        auto it = rejected.find("forged");
        return it != rejected.end() && it->second >= 4;
      },
      seconds(5)));
  EXPECT_EQ(terminalOf("victim"), nullptr);
  // The agent still reaches the real executor: the kill goes through it
  // (grace 1 s) rather than waiting for the executor's silence.
  killTask("victim");
  ASSERT_TRUE(waitTerminal("victim", seconds(5)));
  EXPECT_EQ(terminalOf("victim")->state, TaskState::KILLED);
}

// A task writing past its `disk` is killed with the limitation (measured
// off the loop like `du`); a task asking for none gets the agent's default.
TEST_F(AgentIntegrationTest, ATaskPastItsDiskLimitIsKilledWithTheReason) {
  agent_.reset();
  startAgent(std::string(AGORA_BIN_DIR) + "/agora-executor", 0, /*defaultDiskMb=*/8);
  runTask("fill", "dd if=/dev/zero of=fill bs=1M count=64 2>/dev/null; sleep 30");
  ASSERT_TRUE(waitTerminal("fill", seconds(15)));
  EXPECT_EQ(terminalOf("fill")->state, TaskState::FAILED);
  EXPECT_EQ(terminalOf("fill")->reason, TaskReason::CONTAINER_LIMITATION_DISK);
  EXPECT_NE(terminalOf("fill")->message.find("exceeds the sandbox's limit (8.0 MB)"),
            std::string::npos)
      << terminalOf("fill")->message;
  runTask("small", "dd if=/dev/zero of=fill bs=1M count=1 2>/dev/null");
  ASSERT_TRUE(waitTerminal("small"));
  EXPECT_EQ(terminalOf("small")->state, TaskState::FINISHED);
}

// A finished task's sandbox goes once its updates are acknowledged and the
// delay passed; a running task's stays.
TEST_F(AgentIntegrationTest, AFinishedTasksSandboxIsRemovedAfterTheDelay) {
  agent_.reset();
  startAgent(std::string(AGORA_BIN_DIR) + "/agora-executor", 0, 0, millis(300));
  runTask("done", "echo hi");
  runTask("running", "sleep 30");
  ASSERT_TRUE(waitTerminal("done"));
  std::string sandbox = sandboxOf("done");
  ASSERT_FALSE(sandbox.empty());
  ASSERT_TRUE(runUntil([&] { return !fs::exists(sandbox); }, seconds(10))) << sandbox;
  EXPECT_TRUE(fs::exists(sandboxOf("running") + "/stdout"));
}

TEST_F(AgentIntegrationTest, FilesApiServesSandboxesOnly) {
  runTask("files", "echo hello; ln -s /etc/passwd link");
  ASSERT_TRUE(waitTerminal("files"));
  std::string sandbox = sandboxOf("files");
  auto server = http::HttpServer::create("127.0.0.1:0");
  ASSERT_TRUE(server);
  installHttpApi(
      **server, [this] { return agent_->snapshot(); },
      SandboxFiles(paths::sandboxesRoot(workDir_)));
  ASSERT_TRUE((*server)->start());
  std::string base = "http://" + (*server)->address() + "/files/read?path=";
  auto ok = http::get(base + http::urlEncode(sandbox + "/stdout") + "&offset=0");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ok->body)["data"], "hello\n");
  auto size = http::get(base + http::urlEncode(sandbox + "/stdout") + "&offset=-1");
  EXPECT_EQ(nlohmann::json::parse(size->body)["offset"], 6);
  EXPECT_EQ(http::get(base + http::urlEncode(sandbox + "/../../../../../etc/passwd"))->status, 403);
  EXPECT_EQ(http::get(base + http::urlEncode(sandbox + "/link"))->status, 403);
  EXPECT_EQ(http::get(base + http::urlEncode("/etc/passwd"))->status, 403);
  EXPECT_EQ(http::get(base + http::urlEncode(sandbox + "/missing"))->status, 404);
  EXPECT_EQ(http::get(base + http::urlEncode(sandbox + "/stdout") + "&offset=x")->status, 400);
  auto containers = http::get("http://" + (*server)->address() + "/api/v1/containers");
  ASSERT_TRUE(containers);
  EXPECT_EQ(containers->status, 200);
  EXPECT_TRUE(nlohmann::json::parse(containers->body)["containers"].is_array());
  (*server)->stop();
}

}  // namespace
}  // namespace agora::agent
