#include "frameworks/sdk/fake_master.hpp"

#include <glog/logging.h>

#include <algorithm>

namespace agora::sdk {

FakeMaster::FakeMaster(EventLoop& loop, FakeNetwork& network, FakeMasterOptions options)
    : loop_(loop), options_(std::move(options)), server_(network.bind(options_.endpoint)) {
  server_->setHandler(
      [this](const std::string& peer, std::string_view protocol, std::string_view payload) {
        if (protocol == kSchedulerProtocol) onCall(peer, payload);
      });
  heartbeatTimer_ = loop_.addPeriodic(seconds(options_.heartbeatIntervalSec), [this] {
    for (const auto& [id, fw] : frameworks_) {
      if (fw.connected && !fw.removed) sendEvent(fw, event::Heartbeat{});
    }
    // Expired filters free resources for offers again.
    auto now = loop_.clock().now();
    std::erase_if(filters_, [&](const Filter& f) { return f.expires <= now; });
    maybeOffer();
  });
}

FakeMaster::~FakeMaster() { loop_.cancelTimer(heartbeatTimer_); }

const FakeMaster::Framework* FakeMaster::framework(const std::string& id) const {
  auto it = frameworks_.find(id);
  return it == frameworks_.end() ? nullptr : &it->second;
}

const FakeMaster::Task* FakeMaster::task(const std::string& taskId) const {
  auto it = tasks_.find(taskId);
  return it == tasks_.end() ? nullptr : &it->second;
}

int FakeMaster::callCount(const std::string& name) const {
  auto it = callCounts_.find(name);
  return it == callCounts_.end() ? 0 : it->second;
}

FakeMaster::Framework* FakeMaster::frameworkOfPeer(const std::string& peer) {
  for (auto& [id, fw] : frameworks_) {
    if (fw.peer == peer && !fw.removed) return &fw;
  }
  return nullptr;
}

void FakeMaster::sendEvent(const Framework& fw, Event::Body body) {
  if (silent_) return;
  server_->send(fw.peer, kSchedulerProtocol, encodeEvent(Event{std::move(body)}));
}

void FakeMaster::sendMasterUpdate(const Framework& fw, const std::string& taskId,
                                  const std::string& agentId, TaskState state, TaskReason reason,
                                  const std::string& message) {
  TaskStatus status;
  status.taskId = taskId;
  status.state = state;
  status.reason = reason;
  status.message = message;
  status.agentId = agentId;
  status.frameworkId = fw.info.id;
  status.source = StatusSource::MASTER;
  status.timestamp = loop_.clock().wallSeconds();
  sendEvent(fw, event::Update{std::move(status)});
}

void FakeMaster::addAgent(FakeAgent agent) {
  std::string id = agent.id;
  agents_[id] = std::move(agent);
  maybeOffer();
}

void FakeMaster::addAgent(const std::string& id, const std::string& resources) {
  auto parsed = Resources::parse(resources);
  CHECK(parsed.has_value()) << "FakeMaster::addAgent: " << parsed.error().message;
  FakeAgent agent;
  agent.id = id;
  agent.resources = std::move(*parsed);
  addAgent(std::move(agent));
}

void FakeMaster::removeAgent(const std::string& agentId) {
  std::vector<std::string> rescinded;
  for (const auto& [id, offer] : offers_) {
    if (offer.agentId == agentId) rescinded.push_back(id);
  }
  for (const auto& id : rescinded) rescind(id);
  for (auto& [id, task] : tasks_) {
    if (task.info.agentId != agentId || isTerminal(task.state)) continue;
    task.state = TaskState::LOST;
    auto fw = frameworks_.find(task.frameworkId);
    if (fw != frameworks_.end()) {
      sendMasterUpdate(fw->second, id, agentId, TaskState::LOST, TaskReason::AGENT_REMOVED,
                       "agent " + agentId + " was removed");
    }
  }
  agents_.erase(agentId);
}

Resources FakeMaster::freeResources(const FakeAgent& agent) const {
  Resources free = agent.resources;
  for (const auto& [id, task] : tasks_) {
    if (task.info.agentId == agent.id && !isTerminal(task.state)) free -= task.info.resources;
  }
  for (const auto& [id, offer] : offers_) {
    if (offer.agentId == agent.id) free -= offer.resources;
  }
  return free;
}

void FakeMaster::addFilter(const std::string& frameworkId, const std::string& agentId,
                           const Resources& resources, double refuseSeconds) {
  if (refuseSeconds <= 0 || resources.empty()) return;
  filters_.push_back(
      Filter{frameworkId, agentId, resources, loop_.clock().now() + seconds(refuseSeconds)});
}

bool FakeMaster::filtered(const std::string& frameworkId, const std::string& agentId,
                          const Resources& resources) const {
  auto now = loop_.clock().now();
  return std::any_of(filters_.begin(), filters_.end(), [&](const Filter& f) {
    return f.frameworkId == frameworkId && f.agentId == agentId && f.expires > now &&
           f.resources.contains(resources);
  });
}

void FakeMaster::maybeOffer() {
  if (options_.autoOffer) offerResources();
}

void FakeMaster::offerResources() {
  if (frameworkOrder_.empty()) return;
  std::map<std::string, std::vector<Offer>> batches;  // framework ID -> offers
  for (const auto& [agentId, agent] : agents_) {
    Resources free = freeResources(agent);
    if (free.empty()) continue;
    // Round robin over frameworks, starting after the last one served.
    for (size_t i = 0; i < frameworkOrder_.size(); ++i) {
      const std::string& fwId = frameworkOrder_[(nextFramework_ + i) % frameworkOrder_.size()];
      const Framework& fw = frameworks_.at(fwId);
      if (!fw.connected || fw.removed || fw.suppressed || filtered(fwId, agentId, free)) continue;
      Offer offer{"offer-" + std::to_string(nextId_++),
                  fwId,
                  agentId,
                  agent.hostname,
                  free,
                  agent.attributes,
                  agent.url};
      offers_[offer.id] = offer;
      batches[fwId].push_back(std::move(offer));
      nextFramework_ = (nextFramework_ + i + 1) % frameworkOrder_.size();
      break;
    }
  }
  for (auto& [fwId, offers] : batches) sendEvent(frameworks_.at(fwId), event::Offers{offers});
}

void FakeMaster::rescind(const std::string& offerId) {
  auto it = offers_.find(offerId);
  if (it == offers_.end()) return;
  auto fw = frameworks_.find(it->second.frameworkId);
  offers_.erase(it);
  if (fw != frameworks_.end()) sendEvent(fw->second, event::Rescind{offerId});
}

std::string FakeMaster::sendUpdate(const std::string& taskId, TaskState state, TaskReason reason,
                                   const std::string& message, std::optional<int> exitCode) {
  auto it = tasks_.find(taskId);
  CHECK(it != tasks_.end()) << "FakeMaster::sendUpdate: unknown task " << taskId;
  Task& task = it->second;
  bool wasLive = !isTerminal(task.state);
  task.state = state;
  TaskStatus status;
  status.taskId = taskId;
  status.state = state;
  status.reason = reason;
  status.message = message;
  status.agentId = task.info.agentId;
  status.frameworkId = task.frameworkId;
  status.source = StatusSource::EXECUTOR;
  status.exitCode = exitCode;
  status.uuid = randomUuidBytes();
  status.timestamp = loop_.clock().wallSeconds();
  status.containerId = "container-" + taskId;
  status.healthy = task.healthy;
  status.ready = task.ready;
  unacknowledged_.insert(status.uuid);
  auto fw = frameworks_.find(task.frameworkId);
  if (fw != frameworks_.end() && !fw->second.removed) sendEvent(fw->second, event::Update{status});
  if (wasLive && isTerminal(state)) maybeOffer();
  return status.uuid;
}

std::string FakeMaster::sendVerdicts(const std::string& taskId, std::optional<bool> healthy,
                                     std::optional<bool> ready, const std::string& message) {
  auto it = tasks_.find(taskId);
  CHECK(it != tasks_.end()) << "FakeMaster::sendVerdicts: unknown task " << taskId;
  it->second.healthy = healthy;
  it->second.ready = ready;
  return sendUpdate(taskId, TaskState::RUNNING, TaskReason::HEALTH_CHECK_UPDATED, message);
}

void FakeMaster::sendError(const std::string& frameworkId, const std::string& message) {
  auto fw = frameworks_.find(frameworkId);
  CHECK(fw != frameworks_.end()) << "FakeMaster::sendError: unknown framework " << frameworkId;
  sendEvent(fw->second, event::Error{message});
}

void FakeMaster::onCall(const std::string& peer, std::string_view payload) {
  auto call = decodeCall(payload);
  if (!call) {
    LOG(WARNING) << "fake master: dropping undecodable call from " << peer << ": "
                 << call.error().message;
    return;
  }
  callCounts_[callName(call->body)]++;
  if (auto* subscribe = std::get_if<call::Subscribe>(&call->body)) {
    return handleSubscribe(peer, *subscribe);
  }
  Framework* fw = frameworkOfPeer(peer);
  if (fw == nullptr || fw->info.id != call->frameworkId) {
    Framework stranger;
    stranger.peer = peer;
    sendEvent(stranger, event::Error{"framework '" + call->frameworkId +
                                     "' is not subscribed from this connection"});
    return;
  }
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, call::Accept>) {
          handleAccept(*fw, body);
        } else if constexpr (std::is_same_v<T, call::Decline>) {
          handleDecline(*fw, body);
        } else if constexpr (std::is_same_v<T, call::Revive>) {
          fw->suppressed = false;
          std::erase_if(filters_, [&](const Filter& f) { return f.frameworkId == fw->info.id; });
          maybeOffer();
        } else if constexpr (std::is_same_v<T, call::Suppress>) {
          fw->suppressed = true;
        } else if constexpr (std::is_same_v<T, call::Kill>) {
          handleKill(*fw, body.task);
        } else if constexpr (std::is_same_v<T, call::Acknowledge>) {
          if (unacknowledged_.erase(body.uuid)) acknowledgements_++;
        } else if constexpr (std::is_same_v<T, call::Reconcile>) {
          handleReconcile(*fw, body);
        } else if constexpr (std::is_same_v<T, call::Teardown>) {
          handleTeardown(*fw);
        } else if constexpr (std::is_same_v<T, call::Heartbeat>) {
          fw->heartbeats++;
        }
      },
      call->body);
}

void FakeMaster::handleSubscribe(const std::string& peer, const call::Subscribe& subscribe) {
  FrameworkInfo info = subscribe.framework;
  if (Status valid = validateWebuiUrl(info.webuiUrl); !valid) {
    Framework stranger;
    stranger.peer = peer;
    sendEvent(stranger, event::Error{"invalid FrameworkInfo: " + valid.error().message});
    return;
  }
  if (!info.id.empty()) {
    auto it = frameworks_.find(info.id);
    if (it == frameworks_.end() || it->second.removed) {
      Framework stranger;
      stranger.peer = peer;
      sendEvent(stranger, event::Error{"framework " + info.id + " is unknown or was removed"});
      return;
    }
    it->second.info = info;  // failover: the new connection replaces the old one
    it->second.peer = peer;
    it->second.connected = true;
    // Offers made to the old connection are void (their resources offered again).
    std::erase_if(offers_, [&](const auto& entry) { return entry.second.frameworkId == info.id; });
  } else {
    Framework* existing = frameworkOfPeer(peer);
    if (existing != nullptr) {
      info.id = existing->info.id;  // a retried first SUBSCRIBE
    } else {
      info.id = "framework-" + std::to_string(nextId_++);
      frameworkOrder_.push_back(info.id);
      frameworks_[info.id] = Framework{info, peer};
    }
  }
  sendEvent(frameworks_.at(info.id),
            event::Subscribed{info.id, options_.heartbeatIntervalSec, "fake-master"});
  maybeOffer();
}

void FakeMaster::handleAccept(Framework& fw, const call::Accept& accept) {
  std::vector<TaskInfo> tasks;
  for (const auto& op : accept.operations) {
    tasks.insert(tasks.end(), op.tasks.begin(), op.tasks.end());
  }
  Resources offered;
  std::string agentId;
  bool valid = !accept.offerIds.empty();
  for (const auto& id : accept.offerIds) {
    auto it = offers_.find(id);
    if (it == offers_.end() || it->second.frameworkId != fw.info.id ||
        (!agentId.empty() && agentId != it->second.agentId)) {
      valid = false;
      continue;
    }
    agentId = it->second.agentId;
    offered += it->second.resources;
    offers_.erase(it);
  }
  if (!valid) {
    TaskState lost =
        fw.info.hasCapability("PARTITION_AWARE") ? TaskState::DROPPED : TaskState::LOST;
    for (const auto& task : tasks) {
      sendMasterUpdate(fw, task.taskId, task.agentId, lost, TaskReason::INVALID_OFFERS,
                       "the offers are unknown, used, rescinded or span agents");
    }
    maybeOffer();
    return;
  }
  for (TaskInfo& task : tasks) {
    std::string problem;
    if (auto st = validateId("task ID", task.taskId); !st)
      problem = st.error().message;
    else if (auto* t = this->task(task.taskId); t != nullptr && !isTerminal(t->state))
      problem = "task ID '" + task.taskId + "' is already in use";
    else if (task.resources.empty())
      problem = "the task has no resources";
    else if (!offered.contains(task.resources))
      problem = "the task's resources " + task.resources.toString() + " exceed what is left (" +
                offered.toString() + ")";
    else if (task.agentId != agentId)
      problem = "the task's agent is not the offers' agent";
    if (!problem.empty()) {
      sendMasterUpdate(fw, task.taskId, agentId, TaskState::ERROR, TaskReason::TASK_INVALID,
                       problem);
      continue;
    }
    offered -= task.resources;
    launchTask(fw, std::move(task));
  }
  addFilter(fw.info.id, agentId, offered, accept.refuseSeconds);
  maybeOffer();
}

void FakeMaster::launchTask(Framework& fw, TaskInfo task) {
  launches_.push_back(task);
  std::string id = task.taskId;
  tasks_[id] = Task{std::move(task), fw.info.id, TaskState::STAGING};
  if (options_.autoRun != FakeMasterOptions::AutoRun::kNone) {
    loop_.post([this, id] { autoRun(id); });
  }
}

void FakeMaster::autoRun(const std::string& taskId) {
  const Task* t = task(taskId);
  if (t == nullptr || t->state != TaskState::STAGING) return;  // killed meanwhile
  sendUpdate(taskId, TaskState::RUNNING);
  switch (options_.autoRun) {
    case FakeMasterOptions::AutoRun::kFinish:
      sendUpdate(taskId, TaskState::FINISHED, TaskReason::COMMAND_EXITED,
                 "Command exited with status 0", 0);
      break;
    case FakeMasterOptions::AutoRun::kFail:
      sendUpdate(taskId, TaskState::FAILED, TaskReason::COMMAND_EXITED,
                 "Command exited with status 1", 1);
      break;
    default:
      break;
  }
}

void FakeMaster::handleDecline(Framework& fw, const call::Decline& decline) {
  declines_.push_back(Decline{fw.info.id, decline.offerIds, decline.refuseSeconds});
  for (const auto& id : decline.offerIds) {
    auto it = offers_.find(id);
    if (it == offers_.end() || it->second.frameworkId != fw.info.id) continue;
    addFilter(fw.info.id, it->second.agentId, it->second.resources, decline.refuseSeconds);
    offers_.erase(it);
  }
  maybeOffer();
}

void FakeMaster::handleKill(Framework& fw, const TaskRef& ref) {
  kills_.push_back(ref);
  const Task* t = task(ref.taskId);
  if (t == nullptr || t->frameworkId != fw.info.id) {
    TaskState state =
        fw.info.hasCapability("PARTITION_AWARE") ? TaskState::UNKNOWN : TaskState::LOST;
    sendMasterUpdate(fw, ref.taskId, ref.agentId, state, TaskReason::RECONCILIATION,
                     "task " + ref.taskId + " is unknown");
    return;
  }
  if (options_.autoKill && !isTerminal(t->state)) {
    // As the real executor says it: the command ended by the kill's SIGTERM.
    sendUpdate(ref.taskId, TaskState::KILLED, TaskReason::COMMAND_EXITED,
               "Task killed: Command terminated by signal 15 (Terminated)", 143);
  }
}

void FakeMaster::handleReconcile(Framework& fw, const call::Reconcile& reconcile) {
  reconciles_.push_back(reconcile.tasks);
  std::vector<TaskRef> refs = reconcile.tasks;
  if (refs.empty()) {
    for (const auto& [id, t] : tasks_) {
      if (t.frameworkId == fw.info.id) refs.push_back({id, t.info.agentId});
    }
  }
  for (const auto& ref : refs) {
    const Task* t = task(ref.taskId);
    if (t == nullptr || t->frameworkId != fw.info.id) {
      TaskState state =
          fw.info.hasCapability("PARTITION_AWARE") ? TaskState::UNKNOWN : TaskState::LOST;
      sendMasterUpdate(fw, ref.taskId, ref.agentId, state, TaskReason::RECONCILIATION,
                       "task " + ref.taskId + " is unknown");
    } else {
      sendMasterUpdate(fw, ref.taskId, t->info.agentId, t->state, TaskReason::RECONCILIATION,
                       "reconciliation");
    }
  }
}

void FakeMaster::handleTeardown(Framework& fw) {
  fw.removed = true;
  fw.connected = false;
  for (auto& [id, t] : tasks_) {
    if (t.frameworkId == fw.info.id && !isTerminal(t.state)) t.state = TaskState::KILLED;
  }
  std::erase_if(offers_, [&](const auto& entry) { return entry.second.frameworkId == fw.info.id; });
  maybeOffer();
}

}  // namespace agora::sdk
