#pragma once
// The Agora master: admits agents and frameworks, runs the allocator, sends
// offers, validates launches, relays status updates and acknowledgements,
// and detects dead agents and schedulers (schemas/PROTOCOL.md).
//
// Master is the dispatcher: it decodes each frame and routes it to the
// component that owns what the message is about (dispatch.cpp), runs the
// timers and the allocation passes, and renders the snapshot. The state is
// the components': agents/ (agents), frameworks/ (frameworks), offers/ (the
// offer book), tasks/ (the task table), and operations/ (launches,
// reservations, volumes, roles), each publishing its changes as typed events
// on the bus (events/).
//
// Threading: every member runs on the loop thread. The only state other
// threads see is the SnapshotCell (rendered on the loop thread when a reader
// asks and the state changed since the last render), and the
// atomic prometheus-cpp metrics in the Metrics registry (core/master_metrics.hpp).
//
// Error policy: nothing received from the network can crash the master. A
// frame that cannot be served is dropped, logged (rate-limited) and counted
// in agora_messages_rejected_total{reason}; a scheduler also gets an `error`
// event when the call came from an unknown or replaced connection.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/metrics.hpp"
#include "common/peer_strikes.hpp"
#include "common/rate_limit.hpp"
#include "common/transport.hpp"
#include "master/agents/agents.hpp"
#include "master/core/context.hpp"
#include "master/frameworks/frameworks.hpp"
#include "master/master_view.hpp"
#include "master/offers/offer_book.hpp"
#include "master/operations/operations.hpp"
#include "master/registry/registrar.hpp"
#include "master/snapshot.hpp"
#include "master/tasks/tasks.hpp"

namespace agora::master {

struct MasterOptions {
  Duration agentPingInterval = std::chrono::seconds(2);
  int agentMaxMissedPings = 5;
  Duration frameworkHeartbeatInterval = std::chrono::seconds(5);
  // Empty: random per start.
  std::string masterId;
  std::string version = "0.1.0";
  // Orders roles and frameworks: "drf" (weighted DRF) or "random".
  std::string allocatorSorter = "drf";
  // The smallest pools worth offering (parseMinAllocatable); empty: the
  // allocator's default.
  std::vector<Resources> minAllocatable;
  // Where admissions, frameworks, weights and quota are persisted, and what is
  // recovered at construction (recovery.cpp). Borrowed; null: nothing persists.
  Registrar* registrar = nullptr;
  // Agents recovered from the registry that have not re-registered this long
  // after the start are marked unreachable.
  Duration agentReregisterTimeout = std::chrono::minutes(10);
  // A master start (a restart, or a new leader taking over) is not its
  // schedulers failing: frameworks whose schedulers were connected when the
  // last master stopped, and frameworks first learnt of from re-registering
  // agents, get this long to re-subscribe before their own failover timeout
  // starts. main.cpp keeps it at least agentReregisterTimeout.
  Duration frameworkResubscribeTimeout = std::chrono::minutes(10);
  // An agent unreachable this long is removed: its remaining tasks become
  // GONE (partition-aware frameworks), it is recorded as gone in the
  // registry, and if it comes back it is told to kill its tasks. Checked at
  // each ping interval, so removal happens up to one interval late.
  Duration agentUnreachableTimeout = std::chrono::minutes(10);
  // Removed ("gone") agents are remembered, in the registry, so that one
  // that returns is told to shut down. That list is bounded: entries older
  // than this are pruned, and past the count the oldest go
  // first (as Mesos's --registry_max_agent_age / _count). Checked with the
  // unreachable agents, at each ping interval.
  Duration registryMaxAgentAge = std::chrono::hours(14 * 24);
  size_t registryMaxAgentCount = 100 * 1024;
  // An offer not answered (accepted or declined) within this long is
  // rescinded and its resources re-offered; 0: offers never time out.
  Duration offerTimeout{};
  // Completed tasks kept (in memory and, with a registrar, in the registry
  // across restarts), and how their writes are batched.
  CompletedTaskBounds completedTasks;
  TaskHistoryOptions taskHistory;
  // What principals may do (borrowed; null: the built-in rules, under which
  // tasks do not run as root nor get privileges, capabilities or host paths).
  acl::Authorizer* authorizer = nullptr;
  // Per authenticated principal (frameworks.hpp, agents.hpp).
  size_t maxFrameworksPerPrincipal = 100;
  RateLimit subscribeRate{20, 100};
  RateLimit agentRegistrationRate{200, 5000};
};

class Master {
 public:
  static constexpr Duration kAllocationPeriod = std::chrono::seconds(1);
  static constexpr Duration kGaugePeriod = std::chrono::seconds(1);
  using OperatorKill = Tasks::OperatorKill;

  // Installs itself as the transport's handler and starts its timers; its
  // metrics go to `metrics`.
  // REQUIRES: loop, transport and metrics outlive the master; called on the loop thread.
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options, Metrics& metrics);
  // As above, with a Metrics registry of its own (tests).
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  const std::string& id() const { return ctx_.masterId; }
  // Thread-safe: the latest published view for the HTTP API.
  // Loop thread: the current views, rendered now if the state changed.
  std::shared_ptr<const Snapshot> snapshot();
  // Thread-safe: where snapshots are published (the HTTP API reads it).
  const SnapshotCell& snapshotCell() const { return snapshots_; }

  // Loop thread only (tests, diagnostics): every component's records.
  MasterView state() const;
  const MasterMetrics& metrics() const { return metrics_; }
  const Allocator& allocator() const { return *allocator_; }
  // Rebuilds and publishes the snapshot now.
  void publishSnapshot();
  // Every change the master makes, as typed events (events/events.hpp), on
  // the loop thread. Subscribe on the loop thread.
  events::EventBus& events() { return bus_; }

  // Operator changes (HTTP API, posted to the loop; operations/). Loop
  // thread only. kInvalidArgument (naming the field) leaves everything
  // unchanged. A change is queued to the registry; answer only from
  // afterPersisted().
  Status setWeight(const std::string& role, double weight) {
    return operations_->setWeight(role, weight);
  }
  Status setQuota(const std::string& role, std::optional<Resources> guarantee,
                  std::optional<Resources> limit) {
    return operations_->setQuota(role, std::move(guarantee), std::move(limit));
  }
  Status removeQuota(const std::string& role) { return operations_->removeQuota(role); }
  Status reserve(const std::string& agentId, const Resources& resources) {
    return operations_->reserve(agentId, resources, true);
  }
  Status unreserve(const std::string& agentId, const Resources& resources) {
    return operations_->reserve(agentId, resources, false);
  }
  Status createVolume(const std::string& agentId, const Resources& volume) {
    return operations_->createVolume(agentId, volume);
  }
  Status destroyVolume(const std::string& agentId, const std::string& id,
                       const PrincipalCheck& authorize = {}) {
    return operations_->destroyVolume(agentId, id, authorize);
  }
  // An operator's teardown (POST /api/v1/teardown): the framework's
  // scheduler is told, its tasks killed, the framework removed for good.
  // `authorize` is asked with the framework's principal first.
  // kNotFound for a framework this master does not know.
  Status teardownFramework(const std::string& frameworkId, const std::string& why,
                           const PrincipalCheck& authorize) {
    return frameworks_->teardown(frameworkId, why, authorize);
  }
  // An operator's kill (POST /api/v1/tasks/ID/kill; Tasks::killByOperator).
  // `authorize` is asked with the principal of the task's framework.
  Result<OperatorKill> killTaskByOperator(const std::string& taskId,
                                          const std::string& frameworkId,
                                          const std::string& reason,
                                          const PrincipalCheck& authorize = {}) {
    Tasks::KillAuthorizer byFramework;
    if (authorize) {
      byFramework = [&](const std::string& owner) {
        const Framework* framework = frameworks_->findFramework(owner);
        return authorize(framework != nullptr ? framework->principal : std::string());
      };
    }
    return tasks_->killByOperator(taskId, frameworkId, reason, byFramework);
  }
  // Runs `done` on the loop once every change made so far is durable.
  void afterPersisted(std::function<void(Status)> done) {
    persister_.afterPersisted(std::move(done));
  }

  // Highly available masters read the shared registry only when elected:
  // rebuilds agents, frameworks, weights, quota and completed tasks from it
  // (recovery.cpp). REQUIRES: nothing has reached this master yet (a
  // standby serves nothing).
  void recoverAtTakeover(const RegistryContents& contents);

 private:
  // Exactly one of `owned` and `borrowed` is non-null.
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options,
         std::unique_ptr<Metrics> owned, Metrics* borrowed);

  // dispatch.cpp: frames to the components that own what they are about.
  void onFrame(const std::string& peer, std::string_view protocol, std::string_view payload);
  void onAgentFrame(const std::string& peer, std::string_view payload);
  void onSchedulerFrame(const std::string& peer, std::string_view payload);
  // A frame that did not decode: "oversized" (and a strike against the peer)
  // when it would unpack past its protocol's limit, "malformed" otherwise.
  void rejectUndecodable(const std::string& peer, const char* who, const Error& error);

  void scheduleAllocation();
  // recovery.cpp: agents, frameworks, weights and quota, then completed tasks.
  void recover(const RegistryContents& contents);

  EventLoop& loop_;
  ServerTransport& transport_;
  MasterOptions options_;
  std::unique_ptr<Metrics> ownedMetrics_;  // null when the registry is borrowed
  std::unique_ptr<acl::Authorizer> ownedAuthorizer_;  // null when options_ has one
  MasterMetrics metrics_;
  Outbox outbox_;
  Persister persister_;
  std::unique_ptr<Allocator> allocator_;
  SnapshotCell snapshots_;
  events::EventBus bus_;
  MasterContext ctx_;
  // The components, each the one owner of its records; constructed in this
  // order (each borrows those before it) and destroyed in reverse.
  std::unique_ptr<OfferBook> offers_;
  std::unique_ptr<Tasks> tasks_;
  std::unique_ptr<Frameworks> frameworks_;
  std::unique_ptr<Agents> agents_;
  std::unique_ptr<Operations> operations_;
  bool allocationPending_ = false;
  std::vector<EventLoop::TimerId> timers_;
  // Peers turned away for repeatedly sending frames that unpack too far.
  PeerStrikes strikes_;
  LifetimeGuard guard_;
};

}  // namespace agora::master
