#pragma once
// Exports an AgentSnapshot as Prometheus metrics. Counters advance by the
// difference to the previous snapshot.
//
// Thread: update() from the loop thread (the one that publishes snapshots).

#include <map>
#include <string>

#include "agent/agent_snapshot.hpp"
#include "common/metrics.hpp"

namespace agora::agent {

class AgentMetrics {
 public:
  // REQUIRES: metrics outlives this object.
  explicit AgentMetrics(Metrics& metrics);
  void update(const AgentSnapshot& snapshot);

 private:
  void advance(prometheus::Counter& counter, uint64_t total, uint64_t& previous);

  Metrics& metrics_;
  prometheus::Gauge& running_;
  prometheus::Gauge& registered_;
  prometheus::Counter& launches_;
  prometheus::Counter& launchFailures_;
  prometheus::Counter& updatesSent_;
  prometheus::Counter& updatesRetried_;
  prometheus::Counter& updatesAcked_;
  AgentCounters previous_;
};

}  // namespace agora::agent
