#pragma once
// SchedulerDriver: the scheduler side of the scheduler <-> master protocol
// (schemas/PROTOCOL.md). It subscribes (retrying every second until the master
// answers), heartbeats, detects a silent master (3 heartbeat intervals) and
// re-subscribes with the framework ID, acknowledges updates, and turns the
// master's events into Scheduler callbacks.
//
// Threads: the driver's state lives on one EventLoop. create() gives the driver
// its own loop and thread (start() runs it). The injecting constructor runs the
// driver on a loop the caller owns and drives (tests: SimulatedClock +
// runUntilIdle()). Every public method is thread-safe: off the loop thread it
// posts to the loop; on it (e.g. from a callback) it acts at once.
//
// Calls made while not subscribed (before the first SUBSCRIBED or while
// disconnected) are dropped and logged, as in Mesos: offers are void by then,
// kills should be retried and reconciliation after reconnected() recovers
// missed updates.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/zmq_transport.hpp"
#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "frameworks/sdk/messages.hpp"
#include "frameworks/sdk/scheduler.hpp"

namespace agora::zk {
class MasterConnection;
}  // namespace agora::zk

namespace agora::sdk {

struct DriverOptions {
  // The framework to subscribe. A non-empty id fails over to that framework.
  FrameworkInfo framework;
  // The master's scheduler endpoint ("tcp://127.0.0.1:5055"), or
  // zk://HOST:PORT[,HOST:PORT]/PATH to find the leading master through
  // ZooKeeper and re-subscribe (same framework ID) whenever it changes.
  // Used by create().
  std::string masterEndpoint = "tcp://127.0.0.1:5055";
  // Acknowledge each reliable update once Scheduler::update() returns. When
  // false, the framework must call acknowledge(status) itself.
  bool autoAcknowledge = true;
  Duration subscribeRetry = seconds(1);
  // Used until SUBSCRIBED carries the master's interval.
  double defaultHeartbeatIntervalSec = 5.0;
  // CurveZMQ: the framework's key pair (its .pub in the master's
  // --credentials frameworks/) and the master's public key. None: plain.
  std::optional<CurveClientKeys> curve{};
};

class SchedulerDriver {
 public:
  enum class State { kNotStarted, kSubscribing, kSubscribed, kStopped, kAborted };

  // Production: a ZeroMQ DEALER (identity sched-<random>) to
  // options.masterEndpoint, on the driver's own loop (RealClock) and thread.
  // REQUIRES: scheduler outlives the driver.
  static Result<std::unique_ptr<SchedulerDriver>> create(Scheduler& scheduler,
                                                         DriverOptions options);
  // The same connection on a loop the caller owns and runs (a framework with
  // more on its loop than the driver: a store, an election, an HTTP API);
  // join()/run() are not available. Call it on the loop thread once the loop
  // runs, or before. REQUIRES: scheduler and loop outlive the driver.
  static Result<std::unique_ptr<SchedulerDriver>> create(Scheduler& scheduler,
                                                         DriverOptions options, EventLoop& loop);

  // Runs on `loop`, which the caller drives; join()/run() are not available.
  // REQUIRES: scheduler and loop outlive the driver; transport is bound to loop.
  SchedulerDriver(Scheduler& scheduler, DriverOptions options, EventLoop& loop,
                  std::unique_ptr<ClientTransport> transport);
  // Stops (as stop(true): the framework is not torn down) and joins.
  ~SchedulerDriver();
  SchedulerDriver(const SchedulerDriver&) = delete;
  SchedulerDriver& operator=(const SchedulerDriver&) = delete;

  // Starts subscribing; with an owned loop, also starts the loop thread.
  void start();
  // failover=false tears the framework down at the master (its tasks are
  // killed); failover=true leaves it running so a new scheduler can fail over
  // within failoverTimeoutSec. Called from update(), it takes effect after
  // that update is acknowledged. An owned loop stops stopFlushDelay() later,
  // so the last calls can leave the (non-lingering) socket.
  void stop(bool failover = false);
  // REQUIRES: owned loop. Blocks until the driver stopped. Returns the error
  // that aborted it (an ERROR event), if any.
  Status join();
  // start() + join().
  Status run();

  // --- Calls; see PROTOCOL.md for their semantics at the master. ---
  // Tasks with an empty agentId get the agent of the offers.
  void accept(const std::vector<std::string>& offerIds, std::vector<Operation> operations,
              double refuseSeconds = kDefaultRefuseSeconds);
  void launch(const std::string& offerId, std::vector<TaskInfo> tasks,
              double refuseSeconds = kDefaultRefuseSeconds);
  void decline(const std::vector<std::string>& offerIds,
               double refuseSeconds = kDefaultRefuseSeconds);
  void revive(std::vector<std::string> roles = {});
  void suppress(std::vector<std::string> roles = {});
  void kill(const std::string& taskId, const std::string& agentId);
  // Needed only with autoAcknowledge=false; updates without a uuid are skipped.
  void acknowledge(const TaskStatus& status);
  // Empty: implicit reconciliation (every task of the framework).
  void reconcile(std::vector<TaskRef> tasks = {});
  void sendMessage(const std::string& agentId, std::string data);
  // Kills every task and removes the framework; the driver then stops.
  // The same as stop(/*failover=*/false).
  void teardown();

  // The loop the callbacks run on: frameworks may add timers to it (loop
  // thread only) or post() work to it from other threads.
  EventLoop& loop() { return loop_; }
  // Loop thread only.
  State state() const { return state_; }
  const std::string& frameworkId() const { return framework_.id; }
  const std::string& identity() const { return transport_->identity(); }

  static constexpr double kMissedHeartbeats = 3;
  static Duration stopFlushDelay() { return millis(100); }

 private:
  SchedulerDriver(Scheduler& scheduler, DriverOptions options,
                  std::unique_ptr<EventLoop> ownedLoop);
  // Runs fn on the loop thread: now when already there, else posted.
  void onLoop(std::function<void()> fn);
  // Connects the production transport (options_.masterEndpoint) on loop_.
  Status connect();
  // Sends a call if subscribed (or if it is a SUBSCRIBE); logs a drop otherwise.
  void send(Call::Body body);

  void subscribe();
  void onMessage(std::string_view protocol, std::string_view payload);
  void handle(event::Subscribed& e);
  void handle(event::Offers& e);
  void handle(event::Update& e);
  void handleOther(Event::Body& body);
  void onHeartbeatTimer();
  void onMasterSilent();
  // Subscribes again now (the master changed or went silent); the scheduler
  // sees disconnected() then reconnected().
  void resubscribe(const std::string& why);
  void finish(State state);
  std::string agentOfOffers(const std::vector<std::string>& offerIds) const;

  Scheduler& scheduler_;
  DriverOptions options_;
  std::unique_ptr<EventLoop> ownedLoop_;  // null when running on a caller's loop
  EventLoop& loop_;
  std::unique_ptr<ClientTransport> transport_;
  // transport_ as a master connection (create() only; null with a given transport).
  zk::MasterConnection* connection_ = nullptr;
  std::thread thread_;
  std::atomic<std::thread::id> ownedLoopThread_{};

  // Loop-thread state.
  State state_ = State::kNotStarted;
  FrameworkInfo framework_;
  bool everSubscribed_ = false;
  double heartbeatIntervalSec_ = 5.0;
  TimePoint lastHeard_{};
  EventLoop::TimerId subscribeTimer_ = 0;
  EventLoop::TimerId heartbeatTimer_ = 0;
  std::unordered_map<std::string, std::string> offerAgents_;  // outstanding offer -> agent
  std::optional<Error> abortError_;
  bool inUpdate_ = false;             // inside Scheduler::update()
  std::optional<bool> deferredStop_;  // stop(failover) asked for during update()
};

}  // namespace agora::sdk
