#include "agent/agent_metrics.hpp"

namespace agora::agent {

AgentMetrics::AgentMetrics(Metrics& metrics)
    : metrics_(metrics),
      running_(metrics.gauge("agora_agent_containers_running", "Containers not yet terminated")),
      registered_(metrics.gauge("agora_agent_registered", "1 when registered with the master")),
      launches_(
          metrics.counter("agora_agent_container_launches_total", "Container launches attempted")),
      launchFailures_(metrics.counter("agora_agent_container_launch_failures_total",
                                      "Container launches that failed")),
      updatesSent_(metrics.counter("agora_agent_status_updates_sent_total",
                                   "Status updates sent to the master (first transmissions)")),
      updatesRetried_(metrics.counter("agora_agent_status_updates_retried_total",
                                      "Status update retransmissions")),
      updatesAcked_(metrics.counter("agora_agent_status_updates_acked_total",
                                    "Status updates acknowledged")) {}

void AgentMetrics::advance(prometheus::Counter& counter, uint64_t total, uint64_t& previous) {
  if (total > previous) counter.Increment(static_cast<double>(total - previous));
  previous = total;
}

void AgentMetrics::update(const AgentSnapshot& snapshot) {
  running_.Set(static_cast<double>(snapshot.containersRunning));
  registered_.Set(snapshot.registered ? 1 : 0);
  const AgentCounters& c = snapshot.counters;
  advance(launches_, c.launches, previous_.launches);
  advance(launchFailures_, c.launchFailures, previous_.launchFailures);
  advance(updatesSent_, c.statusUpdatesSent, previous_.statusUpdatesSent);
  advance(updatesRetried_, c.statusUpdatesRetried, previous_.statusUpdatesRetried);
  advance(updatesAcked_, c.statusUpdatesAcked, previous_.statusUpdatesAcked);
  for (const auto& [reason, total] : c.messagesRejected) {
    auto& counter =
        metrics_.counter("agora_messages_rejected_total",
                         "Frames dropped: bad tag, version or payload", {{"reason", reason}});
    advance(counter, total, previous_.messagesRejected[reason]);
  }
}

}  // namespace agora::agent
