#pragma once
// Simulated agents spread over child processes: one process cannot hold more
// than a few thousand ZeroMQ connections (each costs two descriptors and the
// descriptor limit is fixed), and libzmq's heartbeat cost in one process grows
// with the square of its connections, so 10,000 agents need several. The
// children die with this process and share their progress counters with it
// through an anonymous shared mapping.
//
// Construct it before this process starts any thread or ZeroMQ socket: the
// children are forked in the constructor and wait for start().

#include <sys/types.h>

#include <string>
#include <vector>

#include "benchmarks/sim_agents.hpp"

namespace agora::bench {

class SimAgentPool {
 public:
  explicit SimAgentPool(int processes);
  ~SimAgentPool();  // stops and reaps the children
  SimAgentPool(const SimAgentPool&) = delete;
  SimAgentPool& operator=(const SimAgentPool&) = delete;

  // Starts options.agents agents split evenly over the children (each runs
  // options.threads threads). options.firstIndex and counters are ignored.
  void start(const SimAgentsOptions& options);
  void stop();

  int registered() const;
  uint64_t tasksRun() const;
  void reregisterAll();
  int reregistered() const;

 private:
  struct Shared;
  void runChild(int slot);

  Shared* shared_;
  std::vector<pid_t> children_;
};

// The number of processes for `agents` simulated agents.
int simProcessesFor(int agents);

}  // namespace agora::bench
