#pragma once
// The master's Prometheus metrics, kept in an agora::Metrics registry that
// GET /metrics serializes directly (Metrics::serveOn).
//
// Thread: every method except serialize() runs on the loop thread. The
// counter and gauge caches below are loop-thread-only, so after a metric's
// first use an update is one lookup plus an atomic add: no registry mutex and
// no label map. The prometheus-cpp metrics themselves are atomic, which is
// what lets the HTTP thread serialize them concurrently.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/metrics.hpp"

namespace agora::master {

class MasterMetrics {
 public:
  // Registers the master's families. REQUIRES: metrics outlives this object.
  explicit MasterMetrics(Metrics& metrics);
  MasterMetrics(const MasterMetrics&) = delete;
  MasterMetrics& operator=(const MasterMetrics&) = delete;

  void messageIn(std::string_view protocol, std::string_view type) {
    messageCounter(messagesIn_, messagesInFamily_, protocol, type).Increment();
  }
  void messageOut(std::string_view protocol, std::string_view type) {
    messageCounter(messagesOut_, messagesOutFamily_, protocol, type).Increment();
  }
  // reason: a short snake_case token such as "malformed" or "bad_version".
  void rejected(std::string_view reason);
  void offersSent(uint64_t n = 1) { offersSent_.Increment(static_cast<double>(n)); }
  void offersDeclined(uint64_t n = 1) { offersDeclined_.Increment(static_cast<double>(n)); }
  void offersAccepted(uint64_t n = 1) { offersAccepted_.Increment(static_cast<double>(n)); }
  // Rescind reasons exported from the start (others are added on first use).
  static constexpr const char* kRescindReasons[] = {
      "timeout", "agent_reregistered", "agent_unreachable", "framework_resubscribed",
      "reservation"};
  // reason: a short snake_case token, e.g. "timeout".
  void offersRescinded(std::string_view reason, uint64_t n = 1);

  // What the gauges show, counted from the components' state.
  struct GaugeCounts {
    std::map<std::string, double> agentsByStatus;      // "REGISTERED", ...
    std::map<std::string, double> frameworksByStatus;  // "connected", "disconnected"
    std::map<std::string, double> tasksByState;        // "TASK_RUNNING", ...
    double offersOutstanding = 0;
  };
  // Sets the gauges (agents, frameworks, tasks, outstanding offers, loop lag).
  // Called whenever the snapshot is rebuilt.
  void updateGauges(const GaugeCounts& counts, double eventLoopLagMs);

  // Counter values (tests, diagnostics).
  uint64_t rejectedCount(std::string_view reason) const;
  uint64_t rejectedTotal() const;
  uint64_t messagesInCount(std::string_view protocol, std::string_view type) const;
  uint64_t offersSent() const { return count(offersSent_); }
  uint64_t offersDeclined() const { return count(offersDeclined_); }
  uint64_t offersAccepted() const { return count(offersAccepted_); }
  uint64_t offersRescinded() const;  // all reasons
  uint64_t offersRescinded(std::string_view reason) const;

  // Thread-safe: the whole registry (not only the master's families) in
  // Prometheus text format, as GET /metrics serves it.
  std::string serialize() const { return metrics_.serialize(); }

 private:
  using CounterFamily = prometheus::Family<prometheus::Counter>;
  using GaugeFamily = prometheus::Family<prometheus::Gauge>;
  // protocol -> type -> counter; std::less<> allows lookups by string_view.
  using MessageCounters =
      std::map<std::string, std::map<std::string, prometheus::Counter*, std::less<>>, std::less<>>;
  using GaugesByLabel = std::map<std::string, prometheus::Gauge*, std::less<>>;

  static uint64_t count(const prometheus::Counter& counter) {
    return static_cast<uint64_t>(counter.Value());
  }
  using CountersByReason = std::map<std::string, prometheus::Counter*, std::less<>>;
  static prometheus::Counter& reasonCounter(CountersByReason& cache, CounterFamily& family,
                                            std::string_view reason);
  static uint64_t countOf(const CountersByReason& cache, std::string_view reason);
  static uint64_t total(const CountersByReason& cache);
  static prometheus::Counter& messageCounter(MessageCounters& cache, CounterFamily& family,
                                             std::string_view protocol, std::string_view type);
  // Sets every gauge of `cache` to its count in `counts` (0 when absent),
  // adding gauges for new label values.
  static void setGauges(GaugesByLabel& cache, GaugeFamily& family, const std::string& label,
                        const std::map<std::string, double>& counts);

  Metrics& metrics_;
  CounterFamily& messagesInFamily_;
  CounterFamily& messagesOutFamily_;
  CounterFamily& rejectedFamily_;
  prometheus::Counter& offersSent_;
  prometheus::Counter& offersDeclined_;
  prometheus::Counter& offersAccepted_;
  CounterFamily& rescindedFamily_;
  GaugeFamily& agentsFamily_;
  GaugeFamily& frameworksFamily_;
  GaugeFamily& tasksFamily_;
  prometheus::Gauge& offersOutstanding_;
  prometheus::Gauge& eventLoopLag_;  // seconds

  MessageCounters messagesIn_;
  MessageCounters messagesOut_;
  CountersByReason rejected_;
  CountersByReason rescinded_;
  GaugesByLabel agents_;      // by status
  GaugesByLabel frameworks_;  // by connection status
  GaugesByLabel tasks_;       // by state
};

}  // namespace agora::master
