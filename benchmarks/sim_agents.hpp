#pragma once
// Many simulated agents in one process, each a real ZeroMQ DEALER speaking the
// master<->agent protocol: they register, answer pings and "run" every task
// at once (TASK_RUNNING then TASK_FINISHED). For load-testing the master.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/resources.hpp"

namespace agora::bench {

struct SimAgentsOptions {
  std::string masterEndpoint;
  int agents = 100;
  int threads = 2;
  Resources resources;
  // Keep launched tasks RUNNING (report them in reregisterAll()) instead of
  // finishing them at once.
  bool holdTasks = false;
};

class SimAgents {
 public:
  explicit SimAgents(SimAgentsOptions options);
  ~SimAgents();  // stops and joins

  void start();
  void stop();
  int registered() const { return registered_.load(); }
  uint64_t tasksRun() const { return tasksRun_.load(); }
  uint64_t acks() const { return acks_.load(); }
  // Thread-safe: every registered agent re-registers with its ID and held
  // tasks (as after a master restart); reregistered() counts the answers.
  void reregisterAll();
  int reregistered() const { return reregistered_.load(); }
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
  std::atomic<int> registered_{0};
  std::atomic<int> reregistered_{0};
  std::atomic<uint64_t> tasksRun_{0};
  std::atomic<uint64_t> acks_{0};
};

}  // namespace agora::bench
