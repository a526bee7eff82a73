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
      startSocketUpdates_(
          metrics.counter("agora_agent_start_socket_updates_total",
                          "Executor status updates taken before the executor's link was up")),
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
  advance(startSocketUpdates_, c.startSocketUpdates, previous_.startSocketUpdates);
  advance(updatesSent_, c.statusUpdatesSent, previous_.statusUpdatesSent);
  advance(updatesRetried_, c.statusUpdatesRetried, previous_.statusUpdatesRetried);
  advance(updatesAcked_, c.statusUpdatesAcked, previous_.statusUpdatesAcked);
  updateContainers(snapshot);
  for (const auto& [reason, total] : c.messagesRejected) {
    auto& counter =
        metrics_.counter("agora_messages_rejected_total",
                         "Frames dropped: bad tag, version or payload", {{"reason", reason}});
    advance(counter, total, previous_.messagesRejected[reason]);
  }
}

void AgentMetrics::updateContainers(const AgentSnapshot& snapshot) {
  std::map<std::string, const ResourceStatistics*> live;
  for (const ContainerView& c : snapshot.containers) {
    if (c.usage) live[c.id] = &*c.usage;
  }
  for (auto it = containerGauges_.begin(); it != containerGauges_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    for (auto& [family, gauge] : it->second) family->Remove(gauge);
    it = containerGauges_.erase(it);
  }
  for (const auto& [id, usage] : live) setContainerGauges(id, *usage);
}

void AgentMetrics::setContainerGauges(const std::string& containerId, const ResourceStatistics& u) {
  struct Value {
    const char* name;
    const char* help;
    double value;
  };
  std::vector<Value> values = {
      {"agora_agent_container_cpu_user_seconds", "Container CPU time in user mode", u.cpusUserSec},
      {"agora_agent_container_cpu_system_seconds", "Container CPU time in kernel mode",
       u.cpusSystemSec},
      {"agora_agent_container_processes", "Processes in the container",
       static_cast<double>(u.processes)},
      {"agora_agent_container_memory_bytes", "Container memory (cgroup usage, else RSS)",
       static_cast<double>(u.cgroups ? u.memUsageBytes : u.memRssBytes)},
  };
  if (u.cgroups) {
    values.push_back({"agora_agent_container_cpu_throttled_seconds",
                      "Time the container was throttled by its CPU quota", u.cpusThrottledSec});
    values.push_back({"agora_agent_container_cpu_throttled_periods",
                      "CFS periods in which the container was throttled",
                      static_cast<double>(u.cpusNrThrottled)});
    values.push_back({"agora_agent_container_memory_peak_bytes", "Container peak memory",
                      static_cast<double>(u.memPeakBytes)});
    values.push_back({"agora_agent_container_memory_limit_bytes",
                      "Container memory limit (0: none)", static_cast<double>(u.memLimitBytes)});
  }
  ContainerGauges& gauges = containerGauges_[containerId];
  if (gauges.size() != values.size()) {
    for (auto& [family, gauge] : gauges) family->Remove(gauge);
    gauges.clear();
    for (const Value& v : values) {
      auto& family = metrics_.gaugeFamily(v.name, v.help);
      gauges.emplace_back(&family, &family.Add({{"container_id", containerId}}));
    }
  }
  for (size_t i = 0; i < values.size(); ++i) gauges[i].second->Set(values[i].value);
}

}  // namespace agora::agent
