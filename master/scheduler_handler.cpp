// Scheduler <-> master protocol: subscription, liveness and every call but
// ACCEPT (accept_handler.cpp).

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/codec.hpp"
#include "master/allocator/role_name.hpp"
#include "master/master.hpp"

namespace agora::master {

namespace {

std::vector<std::string> textList(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto item : list) out.emplace_back(item);
  return out;
}

const char* callName(schema::Call::Which which) {
  using W = schema::Call::Which;
  switch (which) {
    case W::SUBSCRIBE:
      return "subscribe";
    case W::ACCEPT:
      return "accept";
    case W::DECLINE:
      return "decline";
    case W::REVIVE:
      return "revive";
    case W::SUPPRESS:
      return "suppress";
    case W::KILL:
      return "kill";
    case W::ACKNOWLEDGE:
      return "acknowledge";
    case W::RECONCILE:
      return "reconcile";
    case W::MESSAGE:
      return "message";
    case W::TEARDOWN:
      return "teardown";
    case W::HEARTBEAT:
      return "heartbeat";
  }
  return "unknown";
}

double refuseSecondsOf(double requested) {
  // A non-finite or negative value means the scheduler did not mean it: use the default.
  return std::isfinite(requested) && requested >= 0 ? requested : 5.0;
}

}  // namespace

void Master::onSchedulerFrame(const std::string& peer, std::string_view payload) {
  auto decoded = Decoded::parse(payload, kSchedulerCallLimits);
  if (!decoded) return rejectUndecodable(peer, "scheduler", decoded.error());
  // Handlers read every field they need before changing state (see onAgentFrame).
  Status status = catchDecode([&] {
    auto call = decoded->root<Call>();
    if (call.getVersion() != schema::PROTOCOL_VERSION) {
      reject("bad_version",
             "scheduler " + peer + " speaks version " + std::to_string(call.getVersion()));
      return;
    }
    auto which = call.which();
    const char* type = callName(which);
    if (which == Call::SUBSCRIBE) {
      metrics_.messageIn(std::string(kSchedulerProtocol), type);
      onSubscribe(peer, call);
      return;
    }
    std::string frameworkId = call.getFrameworkId();
    Framework* framework = state_.findFramework(frameworkId);
    if (framework == nullptr) {
      reject("not_subscribed", std::string(type) + " from scheduler " + peer +
                                   " for unknown framework '" + frameworkId + "'");
      sendError(peer, state_.removedFrameworks.count(frameworkId)
                          ? "framework '" + frameworkId +
                                "' was removed; subscribe without an "
                                "ID to register a new framework"
                          : std::string(type) + " call before subscribing: subscribe first");
      return;
    }
    if (!framework->connected) {
      // It went silent and was disconnected, or the master restarted: it
      // re-subscribes once it notices.
      reject("not_subscribed", std::string(type) + " from disconnected framework " + frameworkId);
      return;
    }
    if (framework->peer != peer) {
      reject("not_subscribed", std::string(type) + " for framework " + frameworkId +
                                   " from replaced connection " + peer);
      sendError(peer, "framework '" + frameworkId +
                          "' is subscribed from another connection (it failed over)");
      return;
    }
    metrics_.messageIn(std::string(kSchedulerProtocol), type);
    framework->lastHeard = loop_.clock().now();
    switch (which) {
      case Call::ACCEPT:
        onAccept(*framework, call.getAccept());
        return;
      case Call::DECLINE:
        onDecline(*framework, call.getDecline());
        return;
      case Call::REVIVE:
        allocator_->revive(frameworkId, textList(call.getRevive()));
        scheduleAllocation();
        return;
      case Call::SUPPRESS:
        allocator_->suppress(frameworkId, textList(call.getSuppress()));
        markChanged();
        return;
      case Call::KILL:
        onKill(*framework, call.getKill());
        return;
      case Call::ACKNOWLEDGE:
        onAcknowledge(*framework, call.getAcknowledge());
        return;
      case Call::RECONCILE:
        onReconcile(*framework, call.getReconcile());
        return;
      case Call::TEARDOWN:
        removeFramework(frameworkId, "torn down by its scheduler");
        return;
      case Call::HEARTBEAT:
        return;
      case Call::MESSAGE:
        reject("unsupported_call", "framework messages are not supported yet");
        return;
      default:
        reject("unknown_message", "unknown call from scheduler " + peer);
        return;
    }
  });
  if (!status) reject("malformed", "scheduler " + peer + ": " + status.error().message);
}

void Master::onSubscribe(const std::string& peer, Call::Reader call) {
  std::string callFrameworkId = call.getFrameworkId();
  auto info = fromCapnp(call.getSubscribe());
  if (!info) {
    reject("invalid_framework", "scheduler " + peer + ": " + info.error().message);
    sendError(peer, "invalid FrameworkInfo: " + info.error().message);
    return;
  }
  if (info->id.empty()) info->id = callFrameworkId;
  if (info->name.empty()) {
    reject("invalid_framework", "scheduler " + peer + " sent no framework name");
    sendError(peer, "invalid FrameworkInfo: name must not be empty");
    return;
  }
  if (info->roles.empty()) info->roles = {"*"};
  for (const std::string& role : info->roles) {
    if (auto valid = validateRoleName(role); !valid) {
      reject("invalid_framework", "scheduler " + peer + ": " + valid.error().message);
      sendError(peer, "invalid FrameworkInfo: roles: " + valid.error().message);
      return;
    }
  }
  if (auto compiled = OfferConstraints::compile(info->offerConstraints); !compiled) {
    reject("invalid_framework", "scheduler " + peer + ": " + compiled.error().message);
    sendError(peer, "invalid FrameworkInfo: " + compiled.error().message);
    return;
  }
  if (!info->id.empty()) {
    if (state_.removedFrameworks.count(info->id)) {
      reject("removed_framework",
             "scheduler " + peer + " re-subscribed removed framework " + info->id);
      sendError(peer, "framework '" + info->id +
                          "' was removed (torn down or past its failover timeout); subscribe "
                          "without an ID to register a new framework");
      return;
    }
    if (auto valid = validateId("framework ID", info->id); !valid) {
      reject("invalid_framework", "scheduler " + peer + ": " + valid.error().message);
      sendError(peer, "invalid FrameworkInfo: " + valid.error().message);
      return;
    }
  } else if (auto existing = std::find_if(
                 state_.frameworks.begin(), state_.frameworks.end(),
                 [&](const auto& entry) { return entry.second.connected && entry.second.peer == peer; });
             existing != state_.frameworks.end()) {
    // A retried first SUBSCRIBE (the answer was still in flight): same framework.
    info->id = existing->first;
  } else {
    char number[16];
    std::snprintf(number, sizeof(number), "%04llu",
                  static_cast<unsigned long long>(nextFrameworkNumber_++));
    info->id = state_.masterId + "-" + number;
  }

  if (pendingSubscribes_.count(peer)) return;  // a retry: answered once the first is durable
  FrameworkRecord record;
  record.info = *info;
  const Framework* known = state_.findFramework(info->id);
  record.registeredTime = known != nullptr ? known->registeredTime : loop_.clock().wallSeconds();
  pendingSubscribes_.insert(peer);
  persist({putFramework(record)}, [this, peer, record](Status persisted) {
    pendingSubscribes_.erase(peer);
    if (!persisted) {
      LOG(ERROR) << "not answering SUBSCRIBE of framework " << record.info.id
                 << ": cannot persist it: " << persisted.error().message;
      return;
    }
    if (state_.removedFrameworks.count(record.info.id)) {
      sendError(peer, "framework '" + record.info.id + "' was removed while subscribing");
      return;
    }
    admitFramework(peer, record.info, record.registeredTime);
  });
}

void Master::admitFramework(const std::string& peer, const FrameworkInfo& admitted,
                            double registeredTime) {
  Framework& framework = state_.frameworks[admitted.id];
  bool failover = !framework.info.id.empty();
  if (failover) {
    if (framework.connected && framework.peer != peer) {
      sendError(framework.peer, "framework '" + admitted.id + "' failed over to another scheduler");
    }
    if (framework.failoverTimer) loop_.cancelTimer(*framework.failoverTimer);
    framework.failoverTimer.reset();
  } else {
    framework.registeredTime = registeredTime;
  }
  framework.failoverDeadline = 0;
  framework.resubscribeWindowEnd = 0;
  allocator_->addFramework(admitted.id, admitted.roles);
  constrainOffers(admitted);
  framework.info = admitted;
  framework.peer = peer;
  framework.connected = true;
  framework.active = true;
  framework.lastHeard = loop_.clock().now();
  // Offers made to the previous connection are void.
  for (const std::string& offerId : std::set<std::string>(framework.offerIds)) {
    rescindOffer(offerId, "framework_resubscribed");
  }
  allocator_->activateFramework(admitted.id);
  LOG(INFO) << "framework " << admitted.id << " (" << admitted.name << ") "
            << (failover ? "failed over to " : "subscribed from ") << peer;
  publishFramework(framework, failover ? events::FrameworkChanged::Kind::kFailedOver
                                       : events::FrameworkChanged::Kind::kSubscribed);
  sendEvent(peer, "subscribed", [&](schema::Event::Builder event) {
    auto subscribed = event.initSubscribed();
    subscribed.setFrameworkId(admitted.id);
    subscribed.setHeartbeatIntervalSec(options_.frameworkHeartbeatIntervalSec);
    subscribed.setMasterId(state_.masterId);
  });
  scheduleAllocation();
}

void Master::constrainOffers(const FrameworkInfo& info) {
  std::shared_ptr<const OfferConstraints> constraints;
  if (!info.offerConstraints.empty()) {
    auto compiled = OfferConstraints::compile(info.offerConstraints);
    // Validated at SUBSCRIBE; a stored one that no longer compiles is lifted.
    LOG_IF(ERROR, !compiled) << "framework " << info.id << ": " << compiled.error().message;
    if (compiled) constraints = *compiled;
  }
  allocator_->setOfferConstraints(info.id, std::move(constraints));
}

void Master::recoverFramework(const FrameworkInfo& info) {
  Framework& framework = state_.frameworks[info.id];
  framework.info = info;
  if (framework.info.roles.empty()) framework.info.roles = {"*"};
  framework.registeredTime = loop_.clock().wallSeconds();
  allocator_->addFramework(info.id, framework.info.roles);
  constrainOffers(framework.info);
  allocator_->deactivateFramework(info.id);
  LOG(INFO) << "framework " << info.id << " recovered from an agent; waiting "
            << options_.frameworkResubscribeTimeoutSec << " s for its scheduler";
  // Nothing says its scheduler failed: the same window as a framework that
  // was connected when the master stopped.
  awaitResubscription(framework,
                      loop_.clock().wallSeconds() + options_.frameworkResubscribeTimeoutSec);
  persistFramework(framework);
}

void Master::checkSchedulers() {
  TimePoint now = loop_.clock().now();
  Duration silenceLimit = 3 * seconds(options_.frameworkHeartbeatIntervalSec);
  std::vector<std::string> silent;
  for (auto& [id, framework] : state_.frameworks) {
    if (!framework.connected) continue;
    if (now - framework.lastHeard > silenceLimit) {
      silent.push_back(id);
      continue;
    }
    sendEvent(framework.peer, "heartbeat",
              [](schema::Event::Builder event) { event.setHeartbeat(); });
  }
  for (const std::string& id : silent) {
    disconnectFramework(state_.frameworks.at(id), "no calls for 3 heartbeat intervals");
  }
}

void Master::disconnectFramework(Framework& framework, const std::string& why) {
  LOG(WARNING) << "framework " << framework.info.id << " disconnected: " << why
               << "; its tasks keep running for " << framework.info.failoverTimeoutSec << " s";
  framework.connected = false;
  framework.active = false;
  allocator_->deactivateFramework(framework.info.id);
  for (const std::string& offerId : std::set<std::string>(framework.offerIds)) {
    removeOffer(offerId, false, 0, "framework_disconnected");
  }
  framework.failoverDeadline = loop_.clock().wallSeconds() + framework.info.failoverTimeoutSec;
  startFailoverTimer(framework);
  persistFramework(framework);
  publishFramework(framework, events::FrameworkChanged::Kind::kDisconnected, why);
  markChanged();
}

void Master::removeFramework(const std::string& frameworkId, const std::string& why) {
  Framework* framework = state_.findFramework(frameworkId);
  if (framework == nullptr) return;
  LOG(WARNING) << "removing framework " << frameworkId << " (" << framework->info.name
               << "): " << why;
  if (framework->failoverTimer) loop_.cancelTimer(*framework->failoverTimer);
  for (const std::string& offerId : std::set<std::string>(framework->offerIds)) {
    removeOffer(offerId, false, 0, "framework_removed");
  }
  std::set<std::string> agents;
  std::string message = "framework '" + frameworkId + "' was removed: " + why;
  for (const TaskKey& key : framework->tasks.keys()) {
    Task& task = *state_.findTask(key);
    agents.insert(task.agentId.get());
    setTaskStatus(task, taskUpdate(task.status(), TaskState::KILLED,
                                   TaskReason::FRAMEWORK_REMOVED, message));
    state_.completeTask(key);
  }
  for (const std::string& agentId : agents) {
    Agent* agent = state_.findAgent(agentId);
    if (agent == nullptr || agent->status != AgentStatus::kRegistered) continue;
    sendToAgent(agent->peer, "shutdownFramework", [&](AgentEnvelope::Builder out) {
      out.initShutdownFramework().setFrameworkId(frameworkId);
    });
  }
  allocator_->removeFramework(frameworkId);
  persistFramework(*framework, loop_.clock().wallSeconds());
  publishFramework(*framework, events::FrameworkChanged::Kind::kRemoved, why);
  state_.frameworks.erase(frameworkId);
  state_.removedFrameworks.insert(frameworkId);
  scheduleAllocation();
}

void Master::onDecline(Framework& framework, Call::Decline::Reader decline) {
  std::vector<std::string> offerIds;
  for (auto id : decline.getOfferIds()) offerIds.emplace_back(id);
  double refuse = refuseSecondsOf(decline.getFilters().getRefuseSeconds());
  for (const std::string& offerId : offerIds) {
    auto it = state_.offers.find(offerId);
    if (it == state_.offers.end() || it->second.offer.frameworkId != framework.info.id) {
      VLOG(1) << "framework " << framework.info.id << " declined unknown offer " << offerId;
      continue;
    }
    removeOffer(offerId, false, refuse, "declined");
    metrics_.offersDeclined();
  }
}

TaskStatus Master::taskUpdate(const TaskStatus& about, TaskState state, TaskReason reason,
                              const std::string& message) const {
  TaskStatus status;
  status.taskId = about.taskId;
  status.state = state;
  status.reason = reason;
  status.message = message;
  status.agentId = about.agentId;
  status.frameworkId = about.frameworkId;
  status.source = StatusSource::MASTER;
  status.timestamp = loop_.clock().wallSeconds();
  status.containerId = about.containerId;
  status.exitCode = about.exitCode;
  return status;
}

void Master::failTask(const TaskKey& key, TaskState partitionAwareState, TaskState otherState,
                      TaskReason reason, const std::string& message) {
  Task& task = *state_.findTask(key);
  Framework* framework = state_.findFramework(key.first);
  bool aware = framework != nullptr && framework->partitionAware();
  TaskStatus status =
      taskUpdate(task.status(), aware ? partitionAwareState : otherState, reason, message);
  setTaskStatus(task, status);
  if (isTerminal(status.state)) {
    allocator_->recover(key.first, task.role.get(), task.agentId.get(), task.resources.get(), 0);
    state_.completeTask(key);
  }
  if (framework != nullptr) sendUpdate(*framework, status);
  markChanged();
}

void Master::onKill(Framework& framework, schema::TaskRef::Reader ref) {
  TaskKey key{framework.info.id, ref.getTaskId()};
  if (const Task* task = state_.findTask(key)) {
    Agent* agent = state_.findAgent(task->agentId.get());
    if (agent == nullptr || agent->status != AgentStatus::kRegistered) {
      LOG(WARNING) << "cannot kill task " << key.second << ": agent " << task->agentId.get()
                   << " is unreachable";
      return;
    }
    sendToAgent(agent->peer, "killTask", [&](AgentEnvelope::Builder out) {
      auto kill = out.initKillTask();
      kill.setFrameworkId(key.first);
      kill.setTaskId(key.second);
      kill.setGracePeriodSec(-1);
    });
    return;
  }
  if (const Task* done = state_.findAnyTask(key)) {
    TaskStatus status = done->status();
    status.reason = TaskReason::RECONCILIATION;
    status.source = StatusSource::MASTER;
    sendUpdate(framework, status);
    return;
  }
  TaskStatus unknown;
  unknown.taskId = key.second;
  unknown.frameworkId = key.first;
  unknown.agentId = ref.getAgentId();
  sendUpdate(
      framework,
      taskUpdate(unknown, framework.partitionAware() ? TaskState::UNKNOWN : TaskState::LOST,
                 TaskReason::RECONCILIATION, "task '" + key.second + "' is unknown to the master"));
}

void Master::onAcknowledge(Framework& framework, Call::Acknowledge::Reader ack) {
  std::string agentId = ack.getAgentId();
  std::string taskId = ack.getTaskId();
  auto uuid = ack.getUuid();
  std::string uuidBytes(reinterpret_cast<const char*>(uuid.begin()), uuid.size());
  if (uuidBytes.empty()) return;  // master-generated updates need no acknowledgement
  bool completed = false;
  if (Task* task = state_.findAnyTask({framework.info.id, taskId});
      task != nullptr && task->agentId.get() == agentId &&
      uuidBytes.size() == task->ackedUuid.size()) {
    std::copy(uuidBytes.begin(), uuidBytes.end(), task->ackedUuid.begin());
    task->terminalAcked = task->completed;
    completed = task->completed;
  }
  if (completed && taskHistory_ != nullptr) {
    // Forwarded once the completed task's record is durable: until then the
    // agent keeps the terminal update and reports the task to a master
    // restarted meanwhile, so a kill -9 never loses it.
    taskHistory_->afterPersisted([this, alive = std::weak_ptr<bool>(alive_),
                                  frameworkId = framework.info.id, agentId, taskId, uuidBytes] {
      if (alive.lock()) forwardAcknowledgement(frameworkId, agentId, taskId, uuidBytes);
    });
    return;
  }
  forwardAcknowledgement(framework.info.id, agentId, taskId, uuidBytes);
}

void Master::onReconcile(Framework& framework, capnp::List<schema::TaskRef>::Reader refs) {
  std::vector<std::pair<std::string, std::string>> wanted;  // (taskId, agentId)
  for (auto ref : refs) wanted.emplace_back(ref.getTaskId(), ref.getAgentId());
  if (wanted.empty()) {
    for (const TaskKey& key : framework.tasks.keys()) wanted.emplace_back(key.second, "");
  }
  for (const auto& [taskId, agentId] : wanted) {
    TaskKey key{framework.info.id, taskId};
    TaskStatus status;
    if (const Task* task = state_.findAnyTask(key)) {
      status = task->status();
      status.source = StatusSource::MASTER;
      status.timestamp = loop_.clock().wallSeconds();
    } else {
      const Agent* agent = agentId.empty() ? nullptr : state_.findAgent(agentId);
      // Its agent has yet to re-register after a master restart: no answer
      // until it does or times out (the scheduler reconciles again).
      if (agent != nullptr && agent->status == AgentStatus::kRecovering) continue;
      bool unreachable = agent != nullptr && agent->status == AgentStatus::kUnreachable;
      bool gone = !agentId.empty() && state_.goneAgents.count(agentId) > 0;
      TaskStatus unknown;
      unknown.taskId = taskId;
      unknown.frameworkId = framework.info.id;
      unknown.agentId = agentId;
      TaskState aware = gone          ? TaskState::GONE
                        : unreachable ? TaskState::UNREACHABLE
                                      : TaskState::UNKNOWN;
      std::string where = gone          ? "on removed agent " + agentId
                          : unreachable ? "on unreachable agent " + agentId
                                        : "unknown to the master";
      status = taskUpdate(unknown, framework.partitionAware() ? aware : TaskState::LOST,
                          TaskReason::RECONCILIATION, "task '" + taskId + "' is " + where);
    }
    status.reason = TaskReason::RECONCILIATION;
    sendUpdate(framework, status);
  }
}

}  // namespace agora::master
