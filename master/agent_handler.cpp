// Master <-> agent protocol: registration, liveness and status updates.

#include <glog/logging.h>

#include <algorithm>

#include "common/codec.hpp"
#include "master/master.hpp"

namespace agora::master {

namespace {

const char* agentMessageName(schema::AgentEnvelope::Which which) {
  using W = schema::AgentEnvelope::Which;
  switch (which) {
    case W::REGISTER_AGENT:
      return "registerAgent";
    case W::REREGISTER_AGENT:
      return "reregisterAgent";
    case W::AGENT_REGISTERED:
      return "agentRegistered";
    case W::RUN_TASK:
      return "runTask";
    case W::KILL_TASK:
      return "killTask";
    case W::STATUS_UPDATE:
      return "statusUpdate";
    case W::STATUS_UPDATE_ACK:
      return "statusUpdateAck";
    case W::PING:
      return "ping";
    case W::PONG:
      return "pong";
    case W::SHUTDOWN_FRAMEWORK:
      return "shutdownFramework";
    case W::SHUTDOWN_AGENT:
      return "shutdownAgent";
    case W::NOT_LEADER:
      return "notLeader";
    case W::DESTROY_VOLUMES:
      return "destroyVolumes";
    case W::VOLUMES_DESTROYED:
      return "volumesDestroyed";
  }
  return "unknown";
}

// An agent reports its unreserved and statically reserved resources only:
// dynamic reservations are the master's (its registry) to apply.
Result<Resources> reportedTotal(Result<Resources> total) {
  if (!total) return total;
  if (!total->volumes().empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "persistent volume " + total->volumes().toString() +
                         " in the agent's resources (only the master makes those)");
  }
  for (const auto& [reservation, part] : total->byReservation()) {
    if (reservation.type == ReservationType::kDynamic) {
      return makeError(ErrorCode::kInvalidArgument,
                       "dynamic reservation " + part.toString() +
                           " in the agent's resources (only the master makes those)");
    }
  }
  return total;
}

// A re-registration against the last one processed for its agent, from any peer.
enum class AttemptOrder { kNewer, kSame, kOlder };

AttemptOrder orderAttempt(const Agent& agent, const std::string& attempt, uint64_t seq) {
  if (seq != 0 && agent.attemptSeq != 0) {
    if (seq < agent.attemptSeq) return AttemptOrder::kOlder;
    return seq == agent.attemptSeq ? AttemptOrder::kSame : AttemptOrder::kNewer;
  }
  bool same = !attempt.empty() && attempt == agent.attempt;
  return same ? AttemptOrder::kSame : AttemptOrder::kNewer;
}

// The agent's clock counts from its host's boot, as ours counts from ours,
// at the same rate: an attempt cannot be further ahead of the last one
// processed than the time since, give or take kAttemptSlack. A sequence
// past that (2^64-1, say) would make every real re-registration look older
// and lock the agent out.
constexpr Duration kAttemptSlack = std::chrono::minutes(10);
constexpr uint64_t kMaxAttemptSeq = uint64_t{1} << 62;  // 146 years of uptime

Status plausibleAttempt(const Agent* agent, uint64_t seq, TimePoint now) {
  if (seq > kMaxAttemptSeq) {
    return makeError(ErrorCode::kInvalidArgument,
                     "attempt sequence " + std::to_string(seq) + " is past any host's uptime");
  }
  if (agent == nullptr || agent->attemptSeq == 0 || seq <= agent->attemptSeq) return {};
  auto elapsed = std::max(Duration::zero(), now - agent->attemptSeqAt);
  uint64_t allowed = static_cast<uint64_t>((elapsed + kAttemptSlack).count());
  if (seq - agent->attemptSeq > allowed) {
    return makeError(ErrorCode::kInvalidArgument,
                     "attempt sequence " + std::to_string(seq) + " is " +
                         std::to_string(toSeconds(Duration(seq - agent->attemptSeq))) +
                         " s ahead of the last one processed, " +
                         std::to_string(toSeconds(elapsed)) + " s ago");
  }
  return {};
}

// A task as reported by a re-registering agent, decoded before any state changes.
struct ReportedTask {
  std::string frameworkId;
  TaskInfo info;
  TaskStatus latest;
  std::string sandbox;
};

}  // namespace

void Master::onAgentFrame(const std::string& peer, std::string_view payload) {
  auto decoded = Decoded::parse(payload, kAgentMessageLimits);
  if (!decoded) return rejectUndecodable(peer, "agent", decoded.error());
  // Handlers read every field they need before changing state, so a corrupt
  // pointer surfaces as an exception before anything is half-applied.
  Status status = catchDecode([&] {
    auto envelope = decoded->root<AgentEnvelope>();
    if (envelope.getVersion() != schema::PROTOCOL_VERSION) {
      reject("bad_version",
             "agent " + peer + " speaks version " + std::to_string(envelope.getVersion()));
      return;
    }
    auto which = envelope.which();
    const char* type = agentMessageName(which);
    if (which == AgentEnvelope::REGISTER_AGENT) {
      metrics_.messageIn(std::string(kAgentProtocol), type);
      onRegisterAgent(peer, envelope.getRegisterAgent());
      return;
    }
    if (which == AgentEnvelope::REREGISTER_AGENT) {
      metrics_.messageIn(std::string(kAgentProtocol), type);
      onReregisterAgent(peer, envelope.getReregisterAgent());
      return;
    }
    Agent* agent = state_.findAgentByPeer(peer);
    if (agent == nullptr || agent->status != AgentStatus::kRegistered) {
      reject("unregistered_agent", std::string(type) + " from unregistered agent " + peer);
      // Tells the agent to register again (PROTOCOL.md, liveness).
      std::string agentId = agent ? agent->id : "";
      sendToAgent(peer, "ping", [&](AgentEnvelope::Builder out) {
        auto ping = out.initPing();
        ping.setAgentId(agentId);
        ping.setKnown(false);
      });
      return;
    }
    switch (which) {
      case AgentEnvelope::PONG:
        metrics_.messageIn(std::string(kAgentProtocol), type);
        onPong(peer, envelope.getPong());
        return;
      case AgentEnvelope::STATUS_UPDATE:
        metrics_.messageIn(std::string(kAgentProtocol), type);
        onStatusUpdate(peer, envelope.getStatusUpdate());
        return;
      case AgentEnvelope::VOLUMES_DESTROYED:
        metrics_.messageIn(std::string(kAgentProtocol), type);
        onVolumesDestroyed(*agent, envelope.getVolumesDestroyed());
        return;
      default:
        reject(std::string(type) == "unknown" ? "unknown_message" : "unexpected_message",
               std::string(type) + " from agent " + agent->id);
        return;
    }
  });
  if (!status) reject("malformed", "agent " + peer + ": " + status.error().message);
}

void Master::sendRegistered(const Agent& agent, bool reregistered) {
  sendToAgent(agent.peer, "agentRegistered", [&](AgentEnvelope::Builder out) {
    auto registered = out.initAgentRegistered();
    registered.setAgentId(agent.id);
    registered.setPingIntervalSec(options_.agentPingIntervalSec);
    registered.setReregistered(reregistered);
    registered.setSession(capnp::Data::Reader(
        reinterpret_cast<const capnp::byte*>(agent.session.data()), agent.session.size()));
    registered.setAttemptSeq(reregistered ? agent.attemptSeq : 0);
  });
  // Destroys it has not confirmed: it may have been down when they were made.
  sendDestroyedVolumes(agent);
}

void Master::onRegisterAgent(const std::string& peer, schema::RegisterAgent::Reader message) {
  std::string hostname = message.getHostname();
  auto total = reportedTotal(Resources::fromCapnp(message.getResources()));
  KeyValues attributes = fromCapnp(message.getAttributes());
  std::string url = message.getHttpUrl();
  if (!total) {
    reject("invalid_agent",
           "agent " + peer + " offers invalid resources: " + total.error().message);
    return;
  }
  if (Agent* existing = state_.findAgentByPeer(peer);
      existing != nullptr && existing->status == AgentStatus::kRegistered) {
    sendRegistered(*existing, false);  // a retry that crossed our answer
    return;
  }
  if (pendingAgentPeers_.count(peer)) return;  // a retry: answered once the first is durable
  Agent agent;
  agent.id = state_.masterId + "-S" + std::to_string(nextAgentNumber_++);
  agent.peer = peer;
  agent.hostname = hostname.empty() ? peer : hostname;
  agent.url = url;
  agent.total = std::move(*total);
  agent.attributes = std::move(attributes);
  agent.registeredTime = loop_.clock().wallSeconds();
  agent.session = randomUuidBytes();
  pendingAgentPeers_.insert(peer);
  persistAgent(agent, [this, agent](Status persisted) {
    pendingAgentPeers_.erase(agent.peer);
    if (!persisted) {
      LOG(ERROR) << "not admitting agent " << agent.id << " (" << agent.hostname
                 << "): cannot persist it: " << persisted.error().message;
      return;
    }
    admitAgent(agent);
  });
}

void Master::admitAgent(Agent agent) {
  LOG(INFO) << "agent " << agent.id << " (" << agent.hostname << ") registered with "
            << agent.total.toString();
  allocator_->addAgent(agent.id, agent.total, {}, agent.attributes);
  state_.agentPeers[agent.peer] = agent.id;
  Agent& stored = state_.agents[agent.id] = std::move(agent);
  publishAgent(stored, events::AgentChanged::Kind::kAdded);
  sendRegistered(stored, false);
  scheduleAllocation();
}

void Master::onReregisterAgent(const std::string& peer, schema::ReregisterAgent::Reader message) {
  std::string agentId = message.getAgentId();
  std::string hostname = message.getHostname();
  auto total = reportedTotal(Resources::fromCapnp(message.getResources()));
  KeyValues attributes = fromCapnp(message.getAttributes());
  std::string url = message.getHttpUrl();
  std::vector<ReportedTask> reported;
  for (auto entry : message.getTasks()) {
    auto info = fromCapnp(entry.getTask());
    auto latest = fromCapnp(entry.getLatest());
    if (!info || !latest) {
      LOG(WARNING) << "agent " << agentId << " reported an undecodable task: "
                   << (!info ? info.error().message : latest.error().message);
      continue;
    }
    reported.push_back(ReportedTask{entry.getFrameworkId(), std::move(*info), std::move(*latest),
                                    entry.getSandbox()});
  }
  std::vector<FrameworkInfo> frameworks;
  for (auto entry : message.getFrameworks()) {
    if (auto info = fromCapnp(entry); info && !info->id.empty()) frameworks.push_back(*info);
  }
  if (auto valid = validateId("agent ID", agentId); !valid || !total) {
    reject("invalid_agent", "agent " + peer + " re-registered with " +
                                (!total ? total.error().message : valid.error().message));
    return;
  }

  if (state_.goneAgents.count(agentId)) {
    refuseGoneAgent(peer, agentId);
    return;
  }
  Agent* agent = state_.findAgent(agentId);
  auto attemptBytes = message.getAttempt();
  std::string attempt(reinterpret_cast<const char*>(attemptBytes.begin()), attemptBytes.size());
  uint64_t attemptSeq = message.getAttemptSeq();
  AttemptOrder order = agent == nullptr ? AttemptOrder::kNewer
                                         : orderAttempt(*agent, attempt, attemptSeq);
  if (auto plausible = plausibleAttempt(agent, attemptSeq, loop_.clock().now()); !plausible) {
    reject("implausible_reregistration", "agent " + agentId + " from " + peer + ": " +
                                             plausible.error().message);
    return;
  }
  if (order == AttemptOrder::kOlder) {
    // Held up behind a newer one we processed, from this connection or from
    // an earlier process of the agent's (a killed process's TCP socket
    // delivers what it queued once its link is back): its task list is stale.
    LOG(INFO) << "ignoring re-registration #" << attemptSeq << " of agent " << agentId
              << " from " << peer << ": #" << agent->attemptSeq << " from " << agent->peer
              << " was already processed";
    return;
  }
  if (agent != nullptr && agent->peer == peer) {
    if (order == AttemptOrder::kSame && agent->status == AgentStatus::kRegistered) {
      // A retry: its task list may predate launches sent since our answer,
      // so it is not reconciled again. Unanswered yet: the answer follows
      // once the registry write is durable.
      if (agent->answered) sendRegistered(*agent, true);
      return;
    }
  }
  if (agent != nullptr && agent->peer != peer && connectionAnswers(*agent)) {
    // Another process claims a connected agent. A restarted agent's old
    // connection is closed (or stops answering); this one still answers,
    // so the claim is an impostor's, or a stray copy's: refused, never
    // obeyed, until the connection it contradicts is gone. A real agent's
    // next retry is then heard.
    reject("contested_reregistration",
           "agent " + agentId + " re-registering from " + peer + " while its connection from " +
               agent->peer + " still answers pings");
    return;
  }
  bool wasKnown = agent != nullptr;
  if (!wasKnown) {
    agent = &state_.agents[agentId];
    agent->id = agentId;
    agent->registeredTime = loop_.clock().wallSeconds();
  }
  for (const std::string& offerId : std::set<std::string>(agent->offerIds)) {
    rescindOffer(offerId, "agent_reregistered");
  }
  if (!agent->peer.empty() && agent->peer != peer) state_.agentPeers.erase(agent->peer);
  agent->peer = peer;
  state_.agentPeers[peer] = agentId;
  agent->hostname = hostname.empty() ? peer : hostname;
  agent->url = url;
  agent->total = std::move(*total);
  agent->attributes = std::move(attributes);
  agent->status = AgentStatus::kRegistered;
  agent->unreachableTime = 0;
  agent->missedPongs = 0;
  agent->answered = false;
  agent->attempt = attempt;
  agent->attemptSeq = attemptSeq;
  agent->attemptSeqAt = loop_.clock().now();
  agent->session = randomUuidBytes();  // launches sent before this are void

  for (const FrameworkInfo& info : frameworks) {
    if (!state_.findFramework(info.id) && !state_.removedFrameworks.count(info.id)) {
      recoverFramework(info);
    }
  }
  std::set<std::string> shutdown;
  std::set<TaskKey> stillThere;
  for (ReportedTask& report : reported) {
    if (state_.removedFrameworks.count(report.frameworkId)) {
      shutdown.insert(report.frameworkId);
      continue;
    }
    if (!state_.findFramework(report.frameworkId)) {
      FrameworkInfo info;
      info.id = report.frameworkId;
      recoverFramework(info);
    }
    stillThere.insert({report.frameworkId, report.info.taskId});
    readmitTask(*agent, std::move(report.frameworkId), std::move(report.info),
                std::move(report.latest), std::move(report.sandbox));
  }
  // Tasks we placed on this agent that it no longer has.
  for (const TaskKey& key : agent->tasks.keys()) {
    if (stillThere.count(key)) continue;
    failTask(key, TaskState::LOST, TaskState::GONE, TaskReason::AGENT_RESTARTED,
             "agent " + agentId + " re-registered without task '" + key.second + "'");
  }

  UsedResources used;
  for (const Task* task : agent->tasks) {
    used[{task->frameworkId.get(), task->role.get()}] += task->resources.get();
  }
  allocator_->addAgent(agentId, applyReservations(*agent), used, agent->attributes);
  for (const std::string& frameworkId : shutdown) {
    sendToAgent(peer, "shutdownFramework", [&](AgentEnvelope::Builder out) {
      out.initShutdownFramework().setFrameworkId(frameworkId);
    });
  }
  LOG(INFO) << "agent " << agentId << " (" << agent->hostname << ") re-registered with "
            << agent->tasks.size() << " live tasks" << (wasKnown ? "" : " (new to this master)");
  publishAgent(*agent, wasKnown ? events::AgentChanged::Kind::kReregistered
                                : events::AgentChanged::Kind::kAdded);
  persistAgent(*agent, [this, agentId, peer](Status persisted) {
    Agent* admitted = state_.findAgent(agentId);
    LOG_IF(ERROR, !persisted) << "not answering agent " << agentId
                              << ": cannot persist it: " << persisted.error().message;
    if (admitted == nullptr || admitted->peer != peer) return;
    if (!persisted) {
      // Its retry must be processed anew, not taken for one of this attempt.
      admitted->attempt.clear();
      admitted->attemptSeq = 0;
      return;
    }
    admitted->answered = true;
    sendRegistered(*admitted, true);
  });
  scheduleAllocation();
}

void Master::readmitTask(Agent& agent, std::string frameworkId, TaskInfo info, TaskStatus latest,
                         std::string sandbox) {
  TaskKey key{frameworkId, info.taskId};
  latest.agentId = agent.id;
  latest.frameworkId = frameworkId;
  std::optional<TaskState> previous;
  Task* task = state_.tasks.find(key);
  if (task != nullptr) previous = task->state;
  if (task == nullptr || task->completed) {
    // The agent's report is the spec from now on.
    if (task == nullptr) task = &state_.tasks.add(frameworkId, info.taskId);
    state_.tasks.revive(*task);
    task->name = std::move(info.name);
    task->resources = state_.tasks.intern(info.resources);
  } else if (task->agentId.get() != agent.id) {
    if (Agent* other = state_.findAgent(task->agentId.get())) other->tasks.erase(*task);
  }
  if (task->role.empty()) {
    // Launched before this master knew it: account it to the framework's first role.
    const Framework& owner = state_.frameworks.at(frameworkId);
    task->role = state_.tasks.intern(owner.info.roles.empty() ? "*" : owner.info.roles.front());
  }
  task->agentId = state_.tasks.intern(agent.id);
  setTaskStatus(*task, latest);
  if (!sandbox.empty()) state_.tasks.setSandbox(*task, sandbox);
  agent.tasks.insert(*task);
  Framework& framework = state_.frameworks.at(frameworkId);
  framework.tasks.insert(*task);
  if (isTerminal(latest.state)) {
    // Its terminal update is still on its way through the agent's update stream.
    state_.completeTask(key);
    return;
  }
  if (previous == TaskState::UNREACHABLE || previous == TaskState::LOST) {
    latest.uuid.clear();
    latest.source = StatusSource::MASTER;
    latest.message = "agent " + agent.id + " re-registered; the task is still " +
                     std::string(taskStateName(latest.state));
    latest.timestamp = loop_.clock().wallSeconds();
    sendUpdate(framework, latest);
  }
}

void Master::onPong(const std::string& peer, schema::Pong::Reader) {
  if (Agent* agent = state_.findAgentByPeer(peer)) agent->missedPongs = 0;
}

bool Master::connectionAnswers(const Agent& agent) {
  if (agent.status != AgentStatus::kRegistered || agent.peer.empty() || agent.missedPongs > 1) {
    return false;
  }
  return sendToAgent(agent.peer, "ping", [&](AgentEnvelope::Builder out) {
    auto ping = out.initPing();
    ping.setAgentId(agent.id);
    ping.setKnown(true);
  });
}

void Master::pingAgents() {
  removeUnreachableAgents();
  for (auto& [id, agent] : state_.agents) {
    if (agent.status != AgentStatus::kRegistered) continue;
    if (agent.missedPongs >= options_.agentMaxMissedPings) {
      markAgentUnreachable(agent,
                           "it missed " + std::to_string(agent.missedPongs) + " pings in a row");
      continue;
    }
    agent.missedPongs++;
    sendToAgent(agent.peer, "ping", [&](AgentEnvelope::Builder out) {
      auto ping = out.initPing();
      ping.setAgentId(agent.id);
      ping.setKnown(true);
    });
  }
}

void Master::markAgentUnreachable(Agent& agent, const std::string& why) {
  LOG(WARNING) << "agent " << agent.id << " (" << agent.hostname << ") is unreachable: " << why;
  agent.status = AgentStatus::kUnreachable;
  agent.unreachableTime = loop_.clock().wallSeconds();
  persistAgent(agent);
  publishAgent(agent, events::AgentChanged::Kind::kUnreachable, why);
  for (const std::string& offerId : std::set<std::string>(agent.offerIds)) {
    rescindOffer(offerId, "agent_unreachable");
  }
  allocator_->removeAgent(agent.id);
  std::string message = "agent " + agent.id + " (" + agent.hostname + ") is unreachable: " + why;
  for (const TaskKey& key : agent.tasks.keys()) {
    failTask(key, TaskState::UNREACHABLE, TaskState::LOST, TaskReason::AGENT_UNREACHABLE, message);
  }
  markChanged();
}

void Master::onStatusUpdate(const std::string& peer, schema::StatusUpdate::Reader message) {
  std::string frameworkId = message.getFrameworkId();
  auto decoded = fromCapnp(message.getStatus());
  std::string sandbox = message.getSandbox();
  Agent& agent = *state_.findAgentByPeer(peer);
  if (!decoded) {
    reject("invalid_status", "agent " + agent.id + ": " + decoded.error().message);
    return;
  }
  TaskStatus status = std::move(*decoded);
  if (frameworkId.empty()) frameworkId = status.frameworkId;
  status.frameworkId = frameworkId;
  status.agentId = agent.id;
  TaskKey key{frameworkId, status.taskId};
  if (const Task* known = state_.findAnyTask(key);
      known != nullptr && !known->agentId.empty() && known->agentId.get() != agent.id) {
    // Only the agent that runs a task speaks for it.
    reject("forged_update", "agent " + agent.id + " sent " + taskStateName(status.state) +
                                " for task " + status.taskId + " of framework " + frameworkId +
                                ", which runs on agent " + known->agentId.get());
    return;
  }
  if (const Task* known = state_.findAnyTask(key);
      known != nullptr && known->agentId.get() == agent.id && acknowledgedBefore(*known, status)) {
    // Resent by an agent that restarted before our ack reached it.
    VLOG(1) << "task " << status.taskId << ": update already acknowledged; answering for "
            << "framework " << frameworkId;
    return acknowledgeToAgent(peer, agent.id, frameworkId, status.taskId, status.uuid);
  }
  if (Task* task = state_.findTask(key); task != nullptr && task->agentId.get() == agent.id) {
    setTaskStatus(*task, status);
    if (!sandbox.empty()) state_.tasks.setSandbox(*task, sandbox);
    if (isTerminal(status.state)) {
      allocator_->recover(frameworkId, task->role.get(), agent.id, task->resources.get(), 0);
      state_.completeTask(key);
      scheduleAllocation();
    }
    markChanged();
  }
  Framework* framework = state_.findFramework(frameworkId);
  if (framework == nullptr) {
    // Nobody will ever acknowledge it: do it for the framework.
    if (!status.uuid.empty()) {
      acknowledgeToAgent(peer, agent.id, frameworkId, status.taskId, status.uuid);
    }
    return;
  }
  sendUpdate(*framework, status);
}

bool Master::acknowledgedBefore(const Task& task, const TaskStatus& status) {
  if (status.uuid.size() != task.ackedUuid.size()) return false;
  // After the terminal update's ack nothing more is owed to the framework.
  return task.terminalAcked ||
         std::equal(task.ackedUuid.begin(), task.ackedUuid.end(), status.uuid.begin());
}

void Master::acknowledgeToAgent(const std::string& peer, const std::string& agentId,
                                const std::string& frameworkId, const std::string& taskId,
                                const std::string& uuid) {
  sendToAgent(peer, "statusUpdateAck", [&](AgentEnvelope::Builder out) {
    auto ack = out.initStatusUpdateAck();
    ack.setAgentId(agentId);
    ack.setFrameworkId(frameworkId);
    ack.setTaskId(taskId);
    ack.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
  });
}

}  // namespace agora::master
