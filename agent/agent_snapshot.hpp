#pragma once
// What the agent's loop publishes for its HTTP API and metrics (read from
// other threads; see SnapshotCell). Plain data.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/resource_statistics.hpp"

namespace agora::agent {

// Counters owned by the loop thread; copied into each snapshot.
struct AgentCounters {
  uint64_t launches = 0;
  uint64_t launchFailures = 0;
  // Executor status updates taken from a start socket, before the
  // executor's link to the agent was up (start_sockets.hpp).
  uint64_t startSocketUpdates = 0;
  uint64_t statusUpdatesSent = 0;
  uint64_t statusUpdatesRetried = 0;
  uint64_t statusUpdatesAcked = 0;
  std::map<std::string, uint64_t> messagesRejected;  // by reason
};

struct ContainerView {
  std::string id;
  std::string frameworkId;
  std::string taskId;
  pid_t executorPid = 0;
  std::string state;  // "LAUNCHING", "RUNNING", "KILLING", "TERMINATED"
  std::string taskState;
  std::string sandbox;
  double started = 0;                       // seconds since the Unix epoch
  std::optional<ResourceStatistics> usage;  // sampled each agent tick while live
};

struct AgentSnapshot {
  std::string agentId;
  bool registered = false;
  std::vector<ContainerView> containers;
  uint64_t containersRunning = 0;
  AgentCounters counters;
};

}  // namespace agora::agent
