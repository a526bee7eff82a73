#pragma once
// The Agora master: admits agents and frameworks, runs the allocator, sends
// offers, validates launches, relays status updates and acknowledgements,
// and detects dead agents and schedulers (schemas/PROTOCOL.md).
//
// Threading: every member runs on the loop thread. The only state other
// threads see is the SnapshotCell (rendered on the loop thread when a reader
// asks and the state changed since the last render), and the
// atomic prometheus-cpp metrics in the Metrics registry (master_metrics.hpp).
//
// Error policy: nothing received from the network can crash the master. A
// frame that cannot be served is dropped, logged (rate-limited) and counted
// in agora_messages_rejected_total{reason}; a scheduler also gets an `error`
// event when the call came from an unknown or replaced connection.

#include <capnp/message.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/metrics.hpp"
#include "common/peer_strikes.hpp"
#include "common/transport.hpp"
#include "master/allocator/allocator.hpp"
#include "master/events/event_bus.hpp"
#include "master/launch_planner.hpp"
#include "master/master_metrics.hpp"
#include "master/registry/registrar.hpp"
#include "master/snapshot.hpp"
#include "master/state.hpp"
#include "master/task_history.hpp"
#include "schemas/master_agent.capnp.h"
#include "schemas/scheduler.capnp.h"

namespace agora::master {

struct MasterOptions {
  double agentPingIntervalSec = 2;
  int agentMaxMissedPings = 5;
  double frameworkHeartbeatIntervalSec = 5;
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
  double agentReregisterTimeoutSec = 600;
  // A master start (a restart, or a new leader taking over) is not its
  // schedulers failing: frameworks whose schedulers were connected when the
  // last master stopped, and frameworks first learnt of from re-registering
  // agents, get this long to re-subscribe before their own failover timeout
  // starts. main.cpp keeps it at least agentReregisterTimeoutSec.
  double frameworkResubscribeTimeoutSec = 600;
  // An agent unreachable this long is removed: its remaining tasks become
  // GONE (partition-aware frameworks), it is recorded as gone in the
  // registry, and if it comes back it is told to kill its tasks. Checked at
  // each ping interval, so removal happens up to one interval late.
  double agentUnreachableTimeoutSec = 600;
  // Removed ("gone") agents are remembered, in the registry, so that one
  // that returns is told to shut down. That list is bounded: entries older
  // than this many seconds are pruned, and past the count the oldest go
  // first (as Mesos's --registry_max_agent_age / _count). Checked with the
  // unreachable agents, at each ping interval.
  double registryMaxAgentAgeSec = 14 * 24 * 3600;
  size_t registryMaxAgentCount = 100 * 1024;
  // An offer not answered (accepted or declined) within this many seconds is
  // rescinded and its resources re-offered; 0: offers never time out.
  double offerTimeoutSec = 0;
  // Completed tasks kept (in memory and, with a registrar, in the registry
  // across restarts), and how their writes are batched.
  CompletedTaskBounds completedTasks;
  TaskHistoryOptions taskHistory;
};

class Master {
 public:
  static constexpr Duration kAllocationPeriod = std::chrono::seconds(1);
  static constexpr Duration kGaugePeriod = std::chrono::seconds(1);
  static constexpr double kTimedOutRefuseSeconds = 5;

  // Installs itself as the transport's handler and starts its timers; its
  // metrics go to `metrics`.
  // REQUIRES: loop, transport and metrics outlive the master; called on the loop thread.
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options, Metrics& metrics);
  // As above, with a Metrics registry of its own (tests).
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  const std::string& id() const { return state_.masterId; }
  // Thread-safe: the latest published view for the HTTP API.
  // Loop thread: the current views, rendered now if the state changed.
  std::shared_ptr<const Snapshot> snapshot();
  // Thread-safe: where snapshots are published (the HTTP API reads it).
  const SnapshotCell& snapshotCell() const { return snapshots_; }

  // Loop thread only (tests, diagnostics).
  const MasterState& state() const { return state_; }
  const MasterMetrics& metrics() const { return metrics_; }
  const Allocator& allocator() const { return *allocator_; }
  // Rebuilds and publishes the snapshot now.
  void publishSnapshot();
  // Every change the master makes, as typed events (events/events.hpp), on
  // the loop thread. Subscribe on the loop thread.
  events::EventBus& events() { return bus_; }

  // Operator changes (HTTP API, posted to the loop). Loop thread only.
  // kInvalidArgument (naming the field) leaves everything unchanged. A change
  // is queued to the registry; answer only from afterPersisted().
  Status setWeight(const std::string& role, double weight);
  Status setQuota(const std::string& role, std::optional<Resources> guarantee,
                  std::optional<Resources> limit);
  Status removeQuota(const std::string& role);
  // Dynamic reservations (reservations.cpp). `resources` are all reserved
  // (for any role); reserve takes them from the agent's unreserved resources,
  // unreserve returns them. Offers on the agent are rescinded when they hold
  // what is needed. kNotFound: unknown agent; kInvalidArgument: why not.
  Status reserve(const std::string& agentId, const Resources& resources) {
    return operatorReservation(agentId, resources, true);
  }
  Status unreserve(const std::string& agentId, const Resources& resources) {
    return operatorReservation(agentId, resources, false);
  }
  // Persistent volumes (volumes.cpp): `volume` is one volume on reserved disk
  // of the agent that is free or offered (offers holding it are rescinded);
  // destroyVolume finds the volume by its id. kNotFound: unknown agent;
  // kInvalidArgument: why not (e.g. the volume is in use by a task).
  Status createVolume(const std::string& agentId, const Resources& volume) {
    return operatorVolumes(agentId, volume, true);
  }
  Status destroyVolume(const std::string& agentId, const std::string& id);
  // An operator's kill (POST /api/v1/tasks/ID/kill, operator_kill.cpp): the
  // live task `taskId` of `frameworkId` (empty: of whichever framework has
  // it) is sent to its agent as a kill, as if its framework had asked, with
  // the task's own grace period; `reason` is logged. kNotFound: no such task;
  // kFailedPrecondition: it has ended, or several frameworks have a task of
  // that ID; kUnavailable: its agent is unreachable (nothing sent).
  struct OperatorKill {
    std::string frameworkId;
    std::string agentId;
    TaskState state = TaskState::STAGING;  // when the kill was sent
  };
  Result<OperatorKill> killTaskByOperator(const std::string& taskId,
                                          const std::string& frameworkId,
                                          const std::string& reason);
  // Runs `done` on the loop once every change made so far is durable.
  void afterPersisted(std::function<void(Status)> done);

  // Highly available masters read the shared registry only when elected:
  // rebuilds agents, frameworks, weights and quota from it (recovery.cpp).
  // REQUIRES: nothing has reached this master yet (a standby serves nothing).
  void recoverAtTakeover(const RegistryContents& contents) {
    recover(contents);
    recoverCompletedTasks(contents);
    publishSnapshot();
    bus_.publish(events::LeadershipChanged{state_.masterId, true});
  }

 private:
  using AgentEnvelope = schema::AgentEnvelope;
  using Call = schema::Call;

  // Exactly one of `owned` and `borrowed` is non-null.
  Master(EventLoop& loop, ServerTransport& transport, MasterOptions options,
         std::unique_ptr<Metrics> owned, Metrics* borrowed);

  // master.cpp: dispatch, sending, timers, allocation and offers.
  void onFrame(const std::string& peer, std::string_view protocol, std::string_view payload);
  void reject(const std::string& reason, const std::string& detail);
  // A frame that did not decode: "oversized" (and a strike against the peer)
  // when it would unpack past its protocol's limit, "malformed" otherwise.
  void rejectUndecodable(const std::string& peer, const char* who, const Error& error);
  // False when the peer is not connected (its connection closed).
  bool sendToAgent(const std::string& peer, const char* type,
                   const std::function<void(AgentEnvelope::Builder)>& fill);
  void sendEvent(const std::string& peer, const char* type,
                 const std::function<void(schema::Event::Builder)>& fill);
  void sendUpdate(const Framework& framework, const TaskStatus& status);
  void sendError(const std::string& peer, const std::string& message);
  void scheduleAllocation();
  void allocate();
  // Forgets an outstanding offer without returning its resources to the
  // allocator. REQUIRES: the offer exists.
  // `why` names the end in the offer_removed event ("accepted", ...).
  Offer takeOffer(const std::string& offerId, const char* why, bool rescinded = false);
  // Forgets an outstanding offer and returns its resources to the allocator
  // (filtered for refuseSeconds). Sends `rescind` to the framework when `notify`.
  void removeOffer(const std::string& offerId, bool notify, double refuseSeconds,
                   const char* why);
  // removeOffer with a RESCIND event, counted under `reason` (a snake_case
  // token, see MasterMetrics::kRescindReasons).
  void rescindOffer(const std::string& offerId, const char* reason, double refuseSeconds = 0);
  // Offer timeout: the unanswered offer is rescinded, and its resources are
  // filtered for the holder for min(timeout, kTimedOutRefuseSeconds) so the
  // next pass offers them to someone else first.
  void armOfferTimeout(const std::string& offerId);
  void offerTimedOut(const std::string& offerId);
  // Master-generated update for a live task: the partition-aware state for
  // frameworks with PARTITION_AWARE, the other one otherwise. A terminal state
  // frees the task's resources and completes it.
  void failTask(const TaskKey& key, TaskState partitionAwareState, TaskState otherState,
                TaskReason reason, const std::string& message);
  void markChanged() { snapshots_.markChanged(); }
  // events.cpp: what the master publishes on its bus.
  // Applies `status` to `task` and publishes task_state_changed.
  void setTaskStatus(Task& task, const TaskStatus& status);
  void publishAgent(const Agent& agent, events::AgentChanged::Kind kind,
                    const std::string& reason = "");
  void publishFramework(const Framework& framework, events::FrameworkChanged::Kind kind,
                        const std::string& reason = "");
  void publishReservations(const Agent& agent);

  // recovery.cpp: the registry.
  // Rebuilds agents (awaiting re-registration), frameworks (disconnected, with
  // their failover deadlines), weights and quota from the registry.
  void recover(const RegistryContents& contents);
  // Puts the registry's completed tasks back (task_history.hpp).
  void recoverCompletedTasks(const RegistryContents& contents);
  // Queues `mutations`; `done` (optional) runs on the loop once they are
  // durable, and not at all if the master is gone by then.
  void persist(std::vector<Mutation> mutations, std::function<void(Status)> done = {});
  AgentRecord recordOf(const Agent& agent) const;
  void persistAgent(const Agent& agent, std::function<void(Status)> done = {});
  // Skips the write when the record is unchanged since last queued.
  void persistAgentRecord(const AgentRecord& record, std::function<void(Status)> done = {});
  void persistFramework(const Framework& framework, double removedTime = 0);
  // Agents recovered from the registry that did not re-register in time.
  void expireRecoveringAgents();
  // Admits a newly registered agent once its record is durable.
  void admitAgent(Agent agent);

  // agent_handler.cpp
  void onAgentFrame(const std::string& peer, std::string_view payload);
  void onRegisterAgent(const std::string& peer, schema::RegisterAgent::Reader message);
  void onReregisterAgent(const std::string& peer, schema::ReregisterAgent::Reader message);
  void onPong(const std::string& peer, schema::Pong::Reader message);
  void onStatusUpdate(const std::string& peer, schema::StatusUpdate::Reader message);
  // Whether `status` repeats an update of `task` its framework acknowledged.
  static bool acknowledgedBefore(const Task& task, const TaskStatus& status);
  void acknowledgeToAgent(const std::string& peer, const std::string& agentId,
                          const std::string& frameworkId, const std::string& taskId,
                          const std::string& uuid);
  void pingAgents();
  // Whether `agent`'s current connection still answers: it answered one of
  // the last two pings and is still connected (pinged again to keep it so).
  bool connectionAnswers(const Agent& agent);
  void markAgentUnreachable(Agent& agent, const std::string& why);

  // agent_removal.cpp: unreachable agents past the timeout, and their return.
  // Removes every agent unreachable for agentUnreachableTimeoutSec.
  void removeUnreachableAgents();
  // REQUIRES: the agent is unreachable. Invalidates `agent`.
  void removeAgent(Agent& agent, const std::string& why);
  // Forgets gone agents past registryMaxAgentAgeSec or registryMaxAgentCount.
  void pruneGoneAgents();
  // A removed agent came back: tells it to kill its tasks and register anew.
  void refuseGoneAgent(const std::string& peer, const std::string& agentId);
  // Takes a task reported by a re-registering agent back into the live set.
  // REQUIRES: the framework exists.
  void readmitTask(Agent& agent, std::string frameworkId, TaskInfo info, TaskStatus latest,
                   std::string sandbox);
  void sendRegistered(const Agent& agent, bool reregistered);

  // scheduler_handler.cpp
  void onSchedulerFrame(const std::string& peer, std::string_view payload);
  void onSubscribe(const std::string& peer, Call::Reader call);
  // The rest of SUBSCRIBE once the framework's record is durable.
  // Hands the framework's offer constraints to the allocator (none: lifts them).
  void constrainOffers(const FrameworkInfo& info);
  void admitFramework(const std::string& peer, const FrameworkInfo& info, double registeredTime);
  void onDecline(Framework& framework, Call::Decline::Reader decline);
  void onKill(Framework& framework, schema::TaskRef::Reader ref);
  void onAcknowledge(Framework& framework, Call::Acknowledge::Reader ack);
  // Sends a framework's acknowledgement of a status update on to the agent
  // (dropped while the agent is unavailable: it resends the update).
  void forwardAcknowledgement(const std::string& frameworkId, const std::string& agentId,
                              const std::string& taskId, const std::string& uuid);
  void onReconcile(Framework& framework, capnp::List<schema::TaskRef>::Reader refs);
  void checkSchedulers();
  void disconnectFramework(Framework& framework, const std::string& why);
  void removeFramework(const std::string& frameworkId, const std::string& why);
  // A framework known only from an agent's re-registration (this master has
  // not seen its scheduler): disconnected until the scheduler subscribes.
  void recoverFramework(const FrameworkInfo& info);
  // Removes the framework at framework.failoverDeadline (wall seconds).
  void startFailoverTimer(Framework& framework);
  // A framework this master has not seen fail (recovered from the registry
  // as connected, or from an agent): it is kept as connected in the registry
  // until `windowEnd` (wall seconds); then, unless its scheduler
  // re-subscribed, its own failover timeout runs (recovery.cpp).
  void awaitResubscription(Framework& framework, double windowEnd);
  void closeResubscribeWindow(const std::string& frameworkId);
  // A master-generated update about the task `about` describes (its IDs,
  // container and exit code).
  TaskStatus taskUpdate(const TaskStatus& about, TaskState state, TaskReason reason,
                        const std::string& message) const;

  // reservations.cpp
  // The agent's total as the allocator sees it: agent.total with its dynamic
  // reservations applied. Reservations that no longer fit (the agent came
  // back smaller) are dropped from agent.dynamic and the registry, logged.
  Resources applyReservations(Agent& agent);
  void persistReservations(const Agent& agent, std::function<void(Status)> done = {});
  // Validates the ACCEPT's reservation operations in order against `offered`
  // (updated to what they leave). Nothing changes on error.
  Result<std::vector<ReservationChange>> planReservations(
      const Framework& framework, const std::string& role, const Agent& agent,
      const std::vector<ReservationOperation>& operations, Resources& offered) const;
  void applyReservations(const Framework& framework, const std::string& role, Agent& agent,
                         const std::vector<ReservationChange>& changes);
  Status operatorReservation(const std::string& agentId, const Resources& resources, bool reserve);

  // volumes.cpp
  // `total` with the agent's volumes in place of their plain reserved disk;
  // volumes that no longer fit are dropped from agent.volumes and the
  // registry (their data stays on the agent), logged.
  Resources applyVolumes(Agent& agent, Resources total);
  // One CREATE or DESTROY against `offered`; `volumes` is the agent's
  // volumes as the ACCEPT's earlier operations leave them (updated).
  Result<ReservationChange> planVolume(const Agent& agent, const ReservationOperation& op,
                                       const Resources& offered, Resources& volumes) const;
  // A change's effect on agent.dynamic and agent.volumes.
  static void applyChange(Agent& agent, const ReservationChange& change);
  // The live task on the agent whose resources hold `volume`, if any.
  const Task* volumeUser(const Agent& agent, const PersistentVolume& volume) const;
  Status operatorVolumes(const std::string& agentId, const Resources& volumes, bool create);
  // When `changes` destroyed a volume: sendDestroyedVolumes.
  void sendVolumeDestroys(const std::string& agentId, const std::vector<ReservationChange>& changes);
  // Tells a registered agent to delete the data of agent.destroyedVolumes
  // (all of them: repeats are harmless, and one lost earlier is retried).
  void sendDestroyedVolumes(const Agent& agent);
  // The agent confirmed deleting volumes' data: they leave destroyedVolumes.
  void onVolumesDestroyed(Agent& agent, schema::VolumesDestroyed::Reader message);

  // accept_handler.cpp
  void onAccept(Framework& framework, Call::Accept::Reader accept);
  // Launches the valid tasks on `offered` and returns the rest to the allocator.
  void finishAccept(Framework& framework, Agent& agent, const std::string& role,
                    const std::vector<TaskRequest>& requests, const Resources& offered,
                    double refuseSeconds);
  void rejectAllTasks(Framework& framework, const std::vector<std::string>& taskIds,
                      TaskState state, TaskReason reason, const std::string& message);
  void launchTask(Framework& framework, Agent& agent, const std::string& role, TaskInfo task);

  EventLoop& loop_;
  ServerTransport& transport_;
  MasterOptions options_;
  MasterState state_;
  std::unique_ptr<Metrics> ownedMetrics_;  // null when the registry is borrowed
  MasterMetrics metrics_;
  std::unique_ptr<Allocator> allocator_;
  SnapshotCell snapshots_;
  events::EventBus bus_;
  // Persists completed tasks; null without a registrar.
  std::unique_ptr<TaskHistory> taskHistory_;
  uint64_t nextAgentNumber_ = 1;
  uint64_t nextFrameworkNumber_ = 1;
  uint64_t nextOfferNumber_ = 1;
  bool allocationPending_ = false;
  // Peers whose registration or subscription waits for the registry.
  std::set<std::string> pendingAgentPeers_;
  std::set<std::string> pendingSubscribes_;
  // Agent ID -> its record as last queued to the registry (skips rewriting
  // an unchanged record when an agent re-registers).
  std::map<std::string, std::string> persistedAgents_;
  std::vector<EventLoop::TimerId> timers_;
  std::map<std::string, EventLoop::TimerId> offerTimers_;  // by offer ID (offer timeout)
  // Peers turned away for repeatedly sending frames that unpack too far.
  PeerStrikes strikes_;
  uint64_t filtersExpiredSeen_ = 0;  // AllocatorStats::filtersExpired at the last pass
  // Guards callbacks posted to the loop against a destroyed master.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace agora::master
