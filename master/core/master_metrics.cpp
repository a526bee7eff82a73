#include "master/core/master_metrics.hpp"

#include "common/model.hpp"

namespace agora::master {

namespace {

// Reasons any garbage frame can produce, exported at 0 from the start so that
// the family is visible and rate() works before the first rejection
// (prometheus-cpp omits a family that has no samples).
constexpr const char* kFrameRejectReasons[] = {"malformed", "bad_version", "oversized",
                                               "unknown_protocol", "banned_peer", "forged_update",
                                               "implausible_reregistration"};

prometheus::Counter& offersCounter(Metrics& metrics, const std::string& what) {
  return metrics.counter("agora_master_offers_" + what + "_total", "Offers " + what + ".");
}

}  // namespace

MasterMetrics::MasterMetrics(Metrics& metrics)
    : metrics_(metrics),
      messagesInFamily_(
          metrics.counterFamily("agora_messages_in_total",
                                "Frames received and accepted, by protocol and message type.")),
      messagesOutFamily_(metrics.counterFamily("agora_messages_out_total",
                                               "Frames sent, by protocol and message type.")),
      rejectedFamily_(metrics.counterFamily("agora_messages_rejected_total",
                                            "Frames dropped without being served, by reason.")),
      offersSent_(offersCounter(metrics, "sent")),
      offersDeclined_(offersCounter(metrics, "declined")),
      offersAccepted_(offersCounter(metrics, "accepted")),
      rescindedFamily_(metrics.counterFamily("agora_master_offers_rescinded_total",
                                             "Offers rescinded, by reason.")),
      agentsFamily_(
          metrics.gaugeFamily("agora_master_agents", "Agents known to the master, by status.")),
      frameworksFamily_(
          metrics.gaugeFamily("agora_master_frameworks", "Frameworks, by connection status.")),
      tasksFamily_(metrics.gaugeFamily("agora_master_tasks",
                                       "Live and recently completed tasks, by state.")),
      offersOutstanding_(
          metrics.gauge("agora_master_offers_outstanding", "Offers not yet answered.")),
      eventLoopLag_(
          metrics.gauge("agora_master_event_loop_lag_seconds",
                        "Worst timer lateness of the master's event loop over the last second.")) {
  for (const char* reason : kFrameRejectReasons) {
    rejected_.emplace(reason, &rejectedFamily_.Add({{"reason", reason}}));
  }
  for (const char* reason : kRescindReasons) {
    rescinded_.emplace(reason, &rescindedFamily_.Add({{"reason", reason}}));
  }
}

void MasterMetrics::offersRescinded(std::string_view reason, uint64_t n) {
  reasonCounter(rescinded_, rescindedFamily_, reason).Increment(static_cast<double>(n));
}

uint64_t MasterMetrics::offersRescinded(std::string_view reason) const {
  return countOf(rescinded_, reason);
}

uint64_t MasterMetrics::offersRescinded() const { return total(rescinded_); }

prometheus::Counter& MasterMetrics::messageCounter(MessageCounters& cache, CounterFamily& family,
                                                   std::string_view protocol,
                                                   std::string_view type) {
  auto byProtocol = cache.find(protocol);
  if (byProtocol == cache.end())
    byProtocol = cache.emplace(protocol, MessageCounters::mapped_type{}).first;
  auto byType = byProtocol->second.find(type);
  if (byType == byProtocol->second.end()) {
    prometheus::Counter& counter =
        family.Add({{"protocol", std::string(protocol)}, {"type", std::string(type)}});
    byType = byProtocol->second.emplace(type, &counter).first;
  }
  return *byType->second;
}

prometheus::Counter& MasterMetrics::reasonCounter(CountersByReason& cache, CounterFamily& family,
                                                  std::string_view reason) {
  auto it = cache.find(reason);
  if (it == cache.end()) {
    it = cache.emplace(reason, &family.Add({{"reason", std::string(reason)}})).first;
  }
  return *it->second;
}

uint64_t MasterMetrics::countOf(const CountersByReason& cache, std::string_view reason) {
  auto it = cache.find(reason);
  return it == cache.end() ? 0 : count(*it->second);
}

uint64_t MasterMetrics::total(const CountersByReason& cache) {
  uint64_t sum = 0;
  for (const auto& [reason, counter] : cache) sum += count(*counter);
  return sum;
}

void MasterMetrics::rejected(std::string_view reason) {
  reasonCounter(rejected_, rejectedFamily_, reason).Increment();
}

uint64_t MasterMetrics::rejectedCount(std::string_view reason) const {
  return countOf(rejected_, reason);
}

uint64_t MasterMetrics::rejectedTotal() const { return total(rejected_); }

uint64_t MasterMetrics::messagesInCount(std::string_view protocol, std::string_view type) const {
  auto byProtocol = messagesIn_.find(protocol);
  if (byProtocol == messagesIn_.end()) return 0;
  auto byType = byProtocol->second.find(type);
  return byType == byProtocol->second.end() ? 0 : count(*byType->second);
}

void MasterMetrics::setGauges(GaugesByLabel& cache, GaugeFamily& family, const std::string& label,
                              const std::map<std::string, double>& counts) {
  for (const auto& [value, n] : counts) {
    if (!cache.contains(value)) cache.emplace(value, &family.Add({{label, value}}));
  }
  for (const auto& [value, gauge] : cache) {
    auto it = counts.find(value);
    gauge->Set(it == counts.end() ? 0 : it->second);
  }
}

void MasterMetrics::updateGauges(const GaugeCounts& counts, double eventLoopLagMs) {
  std::map<std::string, double> agents = {{"REGISTERED", 0}, {"UNREACHABLE", 0}};
  for (const auto& [status, n] : counts.agentsByStatus) agents[status] = n;
  setGauges(agents_, agentsFamily_, "status", agents);
  std::map<std::string, double> frameworks = {{"connected", 0}, {"disconnected", 0}};
  for (const auto& [status, n] : counts.frameworksByStatus) frameworks[status] = n;
  setGauges(frameworks_, frameworksFamily_, "status", frameworks);
  setGauges(tasks_, tasksFamily_, "state", counts.tasksByState);
  offersOutstanding_.Set(counts.offersOutstanding);
  eventLoopLag_.Set(eventLoopLagMs / 1000.0);
}

}  // namespace agora::master
