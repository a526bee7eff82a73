#include "frameworks/sdk/scheduler_driver.hpp"

#include <glog/logging.h>

#include "common/zk/master_connection.hpp"

namespace agora::sdk {

Result<std::unique_ptr<SchedulerDriver>> SchedulerDriver::create(Scheduler& scheduler,
                                                                 DriverOptions options) {
  auto loop = std::make_unique<EventLoop>(RealClock::instance());
  std::unique_ptr<SchedulerDriver> driver(
      new SchedulerDriver(scheduler, std::move(options), std::move(loop)));
  if (Status connected = driver->connect(); !connected) return makeError(connected.error());
  return driver;
}

Result<std::unique_ptr<SchedulerDriver>> SchedulerDriver::create(Scheduler& scheduler,
                                                                 DriverOptions options,
                                                                 EventLoop& loop) {
  std::unique_ptr<SchedulerDriver> driver(
      new SchedulerDriver(scheduler, std::move(options), loop, nullptr));
  if (Status connected = driver->connect(); !connected) return makeError(connected.error());
  return driver;
}

Status SchedulerDriver::connect() {
  auto client = zk::MasterConnection::create(loop_, options_.masterEndpoint,
                                             randomIdentity("sched"), seconds(10), options_.curve);
  if (!client) return makeError(client.error().withContext("cannot start the scheduler driver"));
  // Called on the driver's loop, so it may act at once.
  (*client)->setLeaderHandler([this](const zk::MasterInfo& leader) {
    resubscribe("new leading master " + leader.id);
  });
  // A new connection may reach a restarted master that has not seen this
  // scheduler's connection: re-subscribe now rather than after missed heartbeats.
  (*client)->setConnectedHandler([this] {
    if (state_ == State::kSubscribed) resubscribe("connected to the master again");
  });
  connection_ = client->get();
  transport_ = std::move(*client);
  transport_->setHandler(
      [this](std::string_view protocol, std::string_view payload) { onMessage(protocol, payload); });
  return {};
}

SchedulerDriver::SchedulerDriver(Scheduler& scheduler, DriverOptions options,
                                 std::unique_ptr<EventLoop> ownedLoop)
    : scheduler_(scheduler),
      options_(std::move(options)),
      ownedLoop_(std::move(ownedLoop)),
      loop_(*ownedLoop_),
      framework_(options_.framework),
      heartbeatIntervalSec_(options_.defaultHeartbeatIntervalSec) {}

SchedulerDriver::SchedulerDriver(Scheduler& scheduler, DriverOptions options, EventLoop& loop,
                                 std::unique_ptr<ClientTransport> transport)
    : scheduler_(scheduler),
      options_(std::move(options)),
      loop_(loop),
      transport_(std::move(transport)),
      framework_(options_.framework),
      heartbeatIntervalSec_(options_.defaultHeartbeatIntervalSec) {
  if (!transport_) return;  // create() on a caller's loop connects next
  transport_->setHandler([this](std::string_view protocol, std::string_view payload) {
    onMessage(protocol, payload);
  });
}

SchedulerDriver::~SchedulerDriver() {
  if (thread_.joinable()) {
    stop(true);
    thread_.join();
  } else if (!ownedLoop_) {
    // Caller's loop, on its thread: leave no timer pointing at this driver.
    loop_.cancelTimer(subscribeTimer_);
    loop_.cancelTimer(heartbeatTimer_);
  }
  transport_->setHandler(nullptr);
}

void SchedulerDriver::onLoop(std::function<void()> fn) {
  bool onLoopThread =
      ownedLoop_ ? ownedLoopThread_.load() == std::this_thread::get_id() : loop_.inLoopThread();
  if (onLoopThread) {
    fn();
  } else {
    loop_.post(std::move(fn));
  }
}

void SchedulerDriver::start() {
  if (ownedLoop_) {
    CHECK(!thread_.joinable()) << "SchedulerDriver::start() called twice";
    thread_ = std::thread([this] {
      ownedLoopThread_ = std::this_thread::get_id();
      loop_.run();
    });
  }
  onLoop([this] {
    if (state_ != State::kNotStarted) return;
    state_ = State::kSubscribing;
    subscribe();
    subscribeTimer_ = loop_.addPeriodic(options_.subscribeRetry, [this] { subscribe(); });
  });
}

void SchedulerDriver::stop(bool failover) {
  onLoop([this, failover] {
    if (state_ == State::kStopped || state_ == State::kAborted) return;
    if (inUpdate_) {
      // Acknowledge the update being handled first, then stop (handle(Update)).
      deferredStop_ = failover;
      return;
    }
    if (!failover && state_ == State::kSubscribed) send(call::Teardown{});
    finish(State::kStopped);
  });
}

Status SchedulerDriver::join() {
  CHECK(ownedLoop_) << "join() needs a driver made by create()";
  if (thread_.joinable()) thread_.join();
  if (abortError_) return makeError(*abortError_);
  return {};
}

Status SchedulerDriver::run() {
  start();
  return join();
}

void SchedulerDriver::finish(State state) {
  state_ = state;
  loop_.cancelTimer(subscribeTimer_);
  loop_.cancelTimer(heartbeatTimer_);
  offerAgents_.clear();
  // ZeroMQ sockets here do not linger: give the last call time to leave.
  if (ownedLoop_) loop_.addTimer(stopFlushDelay(), [this] { loop_.stop(); });
}

void SchedulerDriver::send(Call::Body body) {
  bool isSubscribe = std::holds_alternative<call::Subscribe>(body);
  if (state_ != State::kSubscribed && !(isSubscribe && state_ == State::kSubscribing)) {
    LOG(WARNING) << "dropping " << callName(body) << ": not subscribed to the master";
    return;
  }
  Call call{framework_.id, std::move(body)};
  if (!transport_->send(kSchedulerProtocol, encodeCall(call))) {
    LOG(WARNING) << "could not send " << callName(call.body) << " to the master (queue full)";
  }
}

void SchedulerDriver::subscribe() {
  if (state_ != State::kSubscribing) return;
  VLOG(1) << "subscribing framework '" << framework_.name << "'"
          << (framework_.id.empty() ? "" : " (id " + framework_.id + ")");
  send(call::Subscribe{framework_});
}

void SchedulerDriver::onMessage(std::string_view protocol, std::string_view payload) {
  if (protocol != kSchedulerProtocol) {
    LOG(WARNING) << "dropping frame with unknown protocol '" << protocol << "'";
    return;
  }
  auto event = decodeEvent(payload);
  if (!event) {
    LOG(WARNING) << "dropping undecodable event: " << event.error().message;
    return;
  }
  lastHeard_ = loop_.clock().now();
  if (state_ == State::kStopped || state_ == State::kAborted) return;
  Event::Body& body = event->body;
  if (auto* subscribed = std::get_if<event::Subscribed>(&body)) return handle(*subscribed);
  if (auto* notLeader = std::get_if<event::NotLeader>(&body)) {
    // A standby: the next subscription goes to the leader it names.
    LOG_EVERY_N(INFO, 10) << "the master is a standby; the leader is " << notLeader->leaderId
                          << " at " << notLeader->leaderEndpoint;
    if (connection_ != nullptr && !notLeader->leaderEndpoint.empty()) {
      connection_->redirect(notLeader->leaderEndpoint);
    }
    return;
  }
  if (auto* error = std::get_if<event::Error>(&body)) {
    // Scheduler::error() and join() hand the refusal to the framework, which
    // reports it: logged below ERROR so a command-line tool prints it once.
    LOG(WARNING) << "master error for framework '" << framework_.name << "': " << error->message;
    abortError_ = Error{ErrorCode::kFailedPrecondition, error->message};
    finish(State::kAborted);
    scheduler_.error(*this, error->message);
    return;
  }
  if (state_ != State::kSubscribed) {
    VLOG(1) << "ignoring " << eventName(body) << " while not subscribed";
    return;
  }
  if (auto* offers = std::get_if<event::Offers>(&body)) return handle(*offers);
  if (auto* update = std::get_if<event::Update>(&body)) return handle(*update);
  handleOther(body);
}

void SchedulerDriver::handle(event::Subscribed& e) {
  if (state_ != State::kSubscribing) {
    if (e.frameworkId != framework_.id) {
      LOG(WARNING) << "ignoring SUBSCRIBED for framework " << e.frameworkId << ": already "
                   << framework_.id;
    }
    return;
  }
  framework_.id = e.frameworkId;
  if (e.heartbeatIntervalSec > 0) heartbeatIntervalSec_ = e.heartbeatIntervalSec;
  state_ = State::kSubscribed;
  loop_.cancelTimer(subscribeTimer_);
  heartbeatTimer_ =
      loop_.addPeriodic(seconds(heartbeatIntervalSec_), [this] { onHeartbeatTimer(); });
  LOG(INFO) << "framework '" << framework_.name << "' subscribed as " << framework_.id
            << " (heartbeat every " << heartbeatIntervalSec_ << " s)";
  if (everSubscribed_) {
    scheduler_.reconnected(*this);
  } else {
    everSubscribed_ = true;
    scheduler_.subscribed(*this, framework_.id);
  }
}

void SchedulerDriver::handle(event::Offers& e) {
  for (const Offer& offer : e.offers) offerAgents_[offer.id] = offer.agentId;
  scheduler_.offers(*this, e.offers);
}

void SchedulerDriver::handle(event::Update& e) {
  inUpdate_ = true;
  scheduler_.update(*this, e.status);
  inUpdate_ = false;
  if (options_.autoAcknowledge) acknowledge(e.status);
  if (deferredStop_) {
    bool failover = *deferredStop_;
    deferredStop_.reset();
    stop(failover);
  }
}

void SchedulerDriver::handleOther(Event::Body& body) {
  if (auto* rescind = std::get_if<event::Rescind>(&body)) {
    offerAgents_.erase(rescind->offerId);
    scheduler_.rescinded(*this, rescind->offerId);
  } else if (auto* failure = std::get_if<event::Failure>(&body)) {
    scheduler_.failure(*this, failure->agentId, failure->executorId, failure->status);
  } else if (auto* message = std::get_if<event::Message>(&body)) {
    scheduler_.message(*this, message->agentId, message->data);
  } else if (std::holds_alternative<event::InverseOffers>(body)) {
    VLOG(1) << "ignoring INVERSE_OFFERS (not supported by the SDK)";
  }
  // HEARTBEAT: lastHeard_ is all it is for.
}

void SchedulerDriver::onHeartbeatTimer() {
  if (state_ != State::kSubscribed) return;
  Duration silent = loop_.clock().now() - lastHeard_;
  if (silent >= seconds(kMissedHeartbeats * heartbeatIntervalSec_)) return onMasterSilent();
  send(call::Heartbeat{});
}

void SchedulerDriver::onMasterSilent() {
  if (connection_ != nullptr) connection_->redirect("");  // back to the configured endpoint
  resubscribe("no word from the master for " +
              std::to_string(kMissedHeartbeats * heartbeatIntervalSec_) + " s");
}

void SchedulerDriver::resubscribe(const std::string& why) {
  if (state_ == State::kSubscribing) return subscribe();  // now, not at the next retry
  if (state_ != State::kSubscribed) return;
  LOG(WARNING) << why << ": re-subscribing framework " << framework_.id;
  state_ = State::kSubscribing;
  loop_.cancelTimer(heartbeatTimer_);
  offerAgents_.clear();
  scheduler_.disconnected(*this);
  if (state_ != State::kSubscribing) return;  // the callback stopped the driver
  subscribe();
  subscribeTimer_ = loop_.addPeriodic(options_.subscribeRetry, [this] { subscribe(); });
}

std::string SchedulerDriver::agentOfOffers(const std::vector<std::string>& offerIds) const {
  for (const auto& id : offerIds) {
    auto it = offerAgents_.find(id);
    if (it != offerAgents_.end()) return it->second;
  }
  return "";
}

void SchedulerDriver::accept(const std::vector<std::string>& offerIds,
                             std::vector<Operation> operations, double refuseSeconds) {
  onLoop([this, offerIds, operations = std::move(operations), refuseSeconds]() mutable {
    std::string agentId = agentOfOffers(offerIds);
    for (Operation& op : operations) {
      for (TaskInfo& task : op.tasks) {
        if (task.agentId.empty()) task.agentId = agentId;
      }
    }
    for (const auto& id : offerIds) offerAgents_.erase(id);
    send(call::Accept{offerIds, std::move(operations), refuseSeconds});
  });
}

void SchedulerDriver::launch(const std::string& offerId, std::vector<TaskInfo> tasks,
                             double refuseSeconds) {
  accept({offerId}, {Operation::launch(std::move(tasks))}, refuseSeconds);
}

void SchedulerDriver::decline(const std::vector<std::string>& offerIds, double refuseSeconds) {
  onLoop([this, offerIds, refuseSeconds] {
    for (const auto& id : offerIds) offerAgents_.erase(id);
    send(call::Decline{offerIds, refuseSeconds});
  });
}

void SchedulerDriver::revive(std::vector<std::string> roles) {
  onLoop([this, roles = std::move(roles)]() mutable { send(call::Revive{std::move(roles)}); });
}

void SchedulerDriver::suppress(std::vector<std::string> roles) {
  onLoop([this, roles = std::move(roles)]() mutable { send(call::Suppress{std::move(roles)}); });
}

void SchedulerDriver::kill(const std::string& taskId, const std::string& agentId) {
  onLoop([this, ref = TaskRef{taskId, agentId}] { send(call::Kill{ref}); });
}

void SchedulerDriver::acknowledge(const TaskStatus& status) {
  if (status.uuid.empty()) return;  // master-generated: nothing to acknowledge
  onLoop(
      [this, ack = call::Acknowledge{status.agentId, status.taskId, status.uuid}] { send(ack); });
}

void SchedulerDriver::reconcile(std::vector<TaskRef> tasks) {
  onLoop([this, tasks = std::move(tasks)]() mutable { send(call::Reconcile{std::move(tasks)}); });
}

void SchedulerDriver::sendMessage(const std::string& agentId, std::string data) {
  onLoop([this, agentId, data = std::move(data)]() mutable {
    send(call::Message{agentId, std::move(data)});
  });
}

void SchedulerDriver::teardown() { stop(/*failover=*/false); }

}  // namespace agora::sdk
