#pragma once
// Exports an AgentSnapshot as Prometheus metrics. Counters advance by the
// difference to the previous snapshot. Each live container's usage is a set
// of gauges labelled container_id, removed once the container is gone.
//
// Thread: update() from the loop thread (the one that publishes snapshots).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/agent_snapshot.hpp"
#include "common/metrics.hpp"

namespace agora::agent {

class AgentMetrics {
 public:
  // REQUIRES: metrics outlives this object.
  explicit AgentMetrics(Metrics& metrics);
  void update(const AgentSnapshot& snapshot);

 private:
  using ContainerGauges =
      std::vector<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>>;

  void advance(prometheus::Counter& counter, uint64_t total, uint64_t& previous);
  void updateContainers(const AgentSnapshot& snapshot);
  void setContainerGauges(const std::string& containerId, const ResourceStatistics& usage);

  Metrics& metrics_;
  prometheus::Gauge& running_;
  prometheus::Gauge& registered_;
  prometheus::Counter& launches_;
  prometheus::Counter& launchFailures_;
  prometheus::Counter& startSocketUpdates_;
  prometheus::Counter& updatesSent_;
  prometheus::Counter& updatesRetried_;
  prometheus::Counter& updatesAcked_;
  AgentCounters previous_;
  std::map<std::string, ContainerGauges> containerGauges_;  // by container ID
};

}  // namespace agora::agent
