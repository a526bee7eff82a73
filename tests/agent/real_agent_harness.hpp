#pragma once
// A real Agent with a PosixContainerizer that starts real agora-executor
// processes, driven by an in-process fake master: launch tasks, kill them,
// and wait for their updates. Destroys every container it started when it
// goes away.

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/image_provisioner.hpp"
#include "agent/paths.hpp"
#include "agent/posix_containerizer.hpp"
#include "common/fake_transport.hpp"
#include "common/zmq_transport.hpp"
#include "tests/agent/real_agent_support.hpp"

namespace agora::agent::testing {

class RealAgentHarness {
 public:
  // REQUIRES: workDir exists and outlives the harness. A non-empty
  // imageStoreDir gives the agent an image store there (tasks may name images).
  // `checkpoint` makes the agent checkpoint as agora-agent does; a non-empty
  // runtimeDir (created here) keeps per-boot state apart (agent/paths.hpp).
  // forkServer: executors come from an executor fork server (else exec'd).
  RealAgentHarness(const std::string& workDir, bool namespaces,
                   std::vector<std::unique_ptr<Isolator>> isolators = {},
                   const std::string& imageStoreDir = "", HostPathPolicy hostPaths = {},
                   bool checkpoint = false, const std::string& runtimeDir = "",
                   size_t maxStarting = 0, bool forkServer = true, bool memoryLayer = false)
      : workDir_(workDir) {
    masterServer_ = net_.bind("master");
    masterLink_ = net_.connect("master", kAgentIdentity);
    masterServer_->setHandler([this](const std::string&, std::string_view, std::string_view p) {
      size_t before = updates_.size();
      answerAsMaster(*masterServer_, kAgentIdentity, p, updates_);
      for (size_t i = before; i < updates_.size(); ++i) {
        seen_[updates_[i].taskId] |= 1u << static_cast<unsigned>(updates_[i].state);
      }
    });
    if (Status s = paths::makeExecutorSocketDir(workDir_); !s) {
      error_ = s.error().message;
      return;
    }
    auto executors = ZmqServer::create(loop_, paths::executorEndpoint(workDir_));
    if (!executors) {
      error_ = executors.error().message;
      return;
    }
    executors_ = std::move(*executors);
    if (!runtimeDir.empty() && !paths::makeDirs(runtimeDir, 0700)) {
      error_ = "cannot create " + runtimeDir;
      return;
    }
    containerizer_ = std::make_unique<PosixContainerizer>(
        reaper_,
        PosixContainerizer::Options{workDir_, std::string(AGORA_BIN_DIR) + "/agora-executor",
                                    paths::executorEndpoint(workDir_), namespaces,
                                    std::move(hostPaths), runtimeDir, forkServer, memoryLayer},
        std::move(isolators));
    Agent::Options options;
    if (!imageStoreDir.empty()) {
      auto images = ImageProvisioner::create(loop_, imageStoreDir);
      if (!images) {
        error_ = images.error().message;
        return;
      }
      images_ = std::move(*images);
      options.supervisor.images = images_.get();
    }
    options.hostname = "harness";
    options.supervisor.workDir = workDir_;
    options.checkpoint = checkpoint;
    options.supervisor.checkpoint = checkpoint;
    options.supervisor.runtimeDir = runtimeDir;
    options.supervisor.maxStarting = maxStarting;
    options.tickInterval = millis(200);
    options.supervisor.diskCheckInterval = millis(300);
    agent_ = std::make_unique<Agent>(loop_, *masterLink_, *executors_, *containerizer_, options);
    agent_->start();
    if (!runUntil([&] { return agent_->registered(); }, seconds(5))) error_ = "not registered";
  }

  // Kills what is left and waits until every container is reported gone.
  bool destroyAll() {
    if (!containerizer_) return true;
    for (const auto& id : containerizer_->containers()) (void)containerizer_->destroy(id);
    return runUntil([&] { return containerizer_->containers().empty(); }, seconds(10));
  }

  ~RealAgentHarness() {
    destroyAll();
    agent_.reset();
    containerizer_.reset();
    images_.reset();
  }

  // Empty when the agent came up and registered.
  const std::string& error() const { return error_; }
  PosixContainerizer& containerizer() { return *containerizer_; }
  const Agent& agent() const { return *agent_; }
  ImageProvisioner* images() { return images_.get(); }

  void launch(const TaskInfo& task) {
    masterServer_->send(kAgentIdentity, kAgentProtocol,
                        buildEnvelope<schema::AgentEnvelope>([&](auto e) {
                          auto m = e.initRunTask();
                          m.initFramework().setId("fw");
                          toCapnp(task, m.initTask());
                        }));
  }
  void kill(const std::string& taskId) {
    masterServer_->send(kAgentIdentity, kAgentProtocol,
                        buildEnvelope<schema::AgentEnvelope>([&](auto e) {
                          auto k = e.initKillTask();
                          k.setFrameworkId("fw");
                          k.setTaskId(taskId);
                          k.setGracePeriodSec(-1);
                        }));
  }

  // Turns the loop and reaps until `done` or the timeout, checking whenever
  // the loop did something and at least every `poll` (reaping included).
  bool runUntil(const std::function<bool()>& done, Duration timeout,
                std::chrono::microseconds poll = std::chrono::milliseconds(2)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      loop_.runOnce(poll);
      reaper_.poll();
      if (done()) return true;
    }
    return done();
  }

  const TaskStatus* latest(const std::string& taskId) const {
    const TaskStatus* out = nullptr;
    for (const auto& u : updates_) {
      if (u.taskId == taskId) out = &u;
    }
    return out;
  }
  // Constant time: checked for every task on each turn of the loop by
  // callers that wait for thousands.
  bool saw(const std::string& taskId, TaskState state) const {
    auto it = seen_.find(taskId);
    return it != seen_.end() && (it->second & (1u << static_cast<unsigned>(state))) != 0;
  }
  const TaskStatus* terminal(const std::string& taskId) const {
    for (const auto& u : updates_) {
      if (u.taskId == taskId && isTerminal(u.state)) return &u;
    }
    return nullptr;
  }
  const TaskStatus* waitTerminal(const std::string& taskId, Duration timeout = seconds(15)) {
    runUntil([&] { return terminal(taskId) != nullptr; }, timeout);
    return terminal(taskId);
  }
  bool waitRunning(const std::string& taskId) {
    return runUntil(
        [&] {
          auto* s = latest(taskId);
          return s && s->state == TaskState::RUNNING;
        },
        seconds(10));
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
  // The whole of FILE in the task's sandbox ("" when missing).
  std::string readSandbox(const std::string& taskId, const std::string& file) const {
    std::ifstream in(sandboxOf(taskId) + "/" + file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Waits until FILE in the task's sandbox is non-empty; returns it.
  std::string waitSandboxFile(const std::string& taskId, const std::string& file,
                              Duration timeout = seconds(10)) {
    runUntil([&] { return !readSandbox(taskId, file).empty(); }, timeout);
    return readSandbox(taskId, file);
  }

 private:
  static constexpr const char* kAgentIdentity = "agent-harness";

  std::string workDir_;
  std::string error_;
  EventLoop loop_;
  FakeNetwork net_{loop_};
  ChildReaper reaper_{loop_, millis(20)};
  std::unique_ptr<FakeServer> masterServer_;
  std::unique_ptr<FakeClient> masterLink_;
  std::unique_ptr<ZmqServer> executors_;
  std::unique_ptr<ImageProvisioner> images_;
  std::unique_ptr<PosixContainerizer> containerizer_;
  std::unique_ptr<Agent> agent_;
  std::vector<TaskStatus> updates_;
  std::unordered_map<std::string, uint32_t> seen_;  // task -> bit per state in updates_
};

}  // namespace agora::agent::testing
