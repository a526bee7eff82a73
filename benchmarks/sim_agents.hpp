#pragma once
// Many simulated agents in one process, each a real ZeroMQ DEALER speaking the
// master<->agent protocol: they register, answer pings and "run" every task
// at once (TASK_RUNNING then TASK_FINISHED, or held RUNNING), and kill them
// at once (TASK_KILLED). For load-testing the master and frameworks.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/zmq_transport.hpp"
#include "common/resources.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::bench {

// One frame of the master<->agent protocol (a packed AgentEnvelope).
std::string agentEnvelope(const std::function<void(schema::AgentEnvelope::Builder)>& fill);

// Progress counters; may live in memory shared between processes (see
// sim_agent_pool.hpp), hence lock-free atomics only.
struct SimCounters {
  std::atomic<int> registered{0};
  std::atomic<int> reregistered{0};
  std::atomic<uint64_t> tasksRun{0};
  std::atomic<uint64_t> tasksKilled{0};
  std::atomic<uint64_t> acks{0};
};

struct SimAgentsOptions {
  std::string masterEndpoint;
  int agents = 100;
  int threads = 2;
  Resources resources;
  // Keep launched tasks RUNNING (report them in reregisterAll()) instead of
  // finishing them at once.
  bool holdTasks = false;
  // Agent i is "sim-<firstIndex + i>" (several processes share one master).
  int firstIndex = 0;
  // Counters to update instead of this object's own; must outlive it.
  SimCounters* counters = nullptr;
  // CurveZMQ: every agent's key pair and the master's key (none: plain links).
  std::optional<CurveClientKeys> curve{};
};

class SimAgents {
 public:
  explicit SimAgents(SimAgentsOptions options);
  ~SimAgents();  // stops and joins

  void start();
  void stop();
  int registered() const { return counters_->registered.load(); }
  uint64_t tasksRun() const { return counters_->tasksRun.load(); }
  uint64_t tasksKilled() const { return counters_->tasksKilled.load(); }
  uint64_t acks() const { return counters_->acks.load(); }
  // Thread-safe: every registered agent re-registers with its ID and held
  // tasks (as after a master restart); reregistered() counts the answers.
  void reregisterAll();
  int reregistered() const { return counters_->reregistered.load(); }
  // Registration request -> AgentRegistered, per agent, in ms.
  std::vector<double> registrationLatenciesMs() const;
  // Steady-clock time each agent sent its first registration.
  std::vector<std::chrono::steady_clock::time_point> registrationStarts() const;
  // Agent ID -> index, filled as agents register (read after all registered).
  int indexOf(const std::string& agentId) const;

 private:
  struct Shard;
  void runShard(Shard& shard);

  SimAgentsOptions options_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  SimCounters ownCounters_;
  SimCounters* counters_;
};

}  // namespace agora::bench
