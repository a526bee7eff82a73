// Agents: registration and re-registration.

#include <glog/logging.h>

#include <algorithm>

#include "common/codec.hpp"
#include "master/agents/agents.hpp"

namespace agora::master {

namespace {

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

void Agents::sendRegistered(const Agent& agent, bool reregistered) {
  ctx_.outbox.toAgent(agent.peer, "agentRegistered", [&](schema::AgentEnvelope::Builder out) {
    auto registered = out.initAgentRegistered();
    registered.setAgentId(agent.id);
    registered.setPingIntervalSec(toSeconds(options_.pingInterval));
    registered.setReregistered(reregistered);
    registered.setSession(capnp::Data::Reader(
        reinterpret_cast<const capnp::byte*>(agent.session.data()), agent.session.size()));
    registered.setAttemptSeq(reregistered ? agent.attemptSeq : 0);
  });
  // Destroys it has not confirmed: it may have been down when they were made.
  sendDestroyedVolumes(agent);
}

void Agents::onRegister(const std::string& peer, const std::string& principal,
                        schema::RegisterAgent::Reader message) {
  std::string hostname = message.getHostname();
  auto total = reportedTotal(Resources::fromCapnp(message.getResources()));
  KeyValues attributes = fromCapnp(message.getAttributes());
  std::string url = message.getHttpUrl();
  if (!total) {
    ctx_.reject("invalid_agent",
           "agent " + peer + " offers invalid resources: " + total.error().message);
    return;
  }
  if (const Agent* existing = byPeer(peer);
      existing != nullptr && existing->status == AgentStatus::kRegistered) {
    sendRegistered(*existing, false);  // a retry that crossed our answer
    return;
  }
  if (pendingPeers_.count(peer)) return;  // a retry: answered once the first is durable
  if (!registrationLimiter_.tryTake(principal, ctx_.clock().now())) {
    ctx_.reject("agent_limit", "agent " + peer + " (" +
                                   (principal.empty() ? std::string("no principal") : principal) +
                                   "): too many new registrations; it retries");
    return;
  }
  Agent agent;
  agent.id = ctx_.masterId + "-S" + std::to_string(nextNumber_++);
  agent.peer = peer;
  agent.principal = principal;
  agent.hostname = hostname.empty() ? peer : hostname;
  agent.url = url;
  agent.total = std::move(*total);
  agent.attributes = std::move(attributes);
  agent.registeredTime = ctx_.wallNow();
  agent.session = randomUuidBytes();
  pendingPeers_.insert(peer);
  persist(agent, [this, agent](Status persisted) {
    pendingPeers_.erase(agent.peer);
    if (!persisted) {
      LOG(ERROR) << "not admitting agent " << agent.id << " (" << agent.hostname
                 << "): cannot persist it: " << persisted.error().message;
      return;
    }
    admit(agent);
  });
}

void Agents::admit(Agent agent) {
  LOG(INFO) << "agent " << agent.id << " (" << agent.hostname << ") registered with "
            << agent.total.toString();
  ctx_.allocator.addAgent(agent.id, agent.total, {}, agent.attributes);
  peers_[agent.peer] = agent.id;
  Agent& stored = agents_[agent.id] = std::move(agent);
  publish(stored, events::AgentChanged::Kind::kAdded);
  sendRegistered(stored, false);
  ctx_.scheduleAllocation();
}

void Agents::onReregister(const std::string& peer, const std::string& principal,
                          schema::ReregisterAgent::Reader message) {
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
    ctx_.reject("invalid_agent", "agent " + peer + " re-registered with " +
                                (!total ? total.error().message : valid.error().message));
    return;
  }

  if (gone_.count(agentId)) {
    refuseGone(peer, agentId);
    return;
  }
  Agent* agent = findMutable(agentId);
  if (agent != nullptr && !agent->principal.empty() && agent->principal != principal) {
    // Bound to the key that first registered it: another key (another
    // agent's, or none) never takes it over.
    ctx_.reject("agent_key_mismatch",
                "agent " + agentId + " re-registering from " + peer + " as " +
                    (principal.empty() ? "no principal" : principal) + "; it belongs to " +
                    agent->principal);
    return;
  }
  auto attemptBytes = message.getAttempt();
  std::string attempt(reinterpret_cast<const char*>(attemptBytes.begin()), attemptBytes.size());
  uint64_t attemptSeq = message.getAttemptSeq();
  AttemptOrder order = agent == nullptr ? AttemptOrder::kNewer
                                         : orderAttempt(*agent, attempt, attemptSeq);
  if (auto plausible = plausibleAttempt(agent, attemptSeq, ctx_.clock().now()); !plausible) {
    ctx_.reject("implausible_reregistration", "agent " + agentId + " from " + peer + ": " +
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
    ctx_.reject("contested_reregistration",
           "agent " + agentId + " re-registering from " + peer + " while its connection from " +
               agent->peer + " still answers pings");
    return;
  }
  bool wasKnown = agent != nullptr;
  if (!wasKnown) {
    agent = &agents_[agentId];
    agent->id = agentId;
    agent->registeredTime = ctx_.wallNow();
  }
  offers_.rescindAllOnAgent(agentId, "agent_reregistered");
  if (!agent->peer.empty() && agent->peer != peer) peers_.erase(agent->peer);
  agent->peer = peer;
  if (agent->principal.empty()) agent->principal = principal;
  peers_[peer] = agentId;
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
  agent->attemptSeqAt = ctx_.clock().now();
  agent->session = randomUuidBytes();  // launches sent before this are void

  for (const FrameworkInfo& info : frameworks) {
    if (!frameworks_.findFramework(info.id) && !frameworks_.wasRemoved(info.id)) {
      frameworks_.recoverFromAgent(info);
    }
  }
  std::set<std::string> shutdown;
  std::set<TaskKey> stillThere;
  for (ReportedTask& report : reported) {
    if (frameworks_.wasRemoved(report.frameworkId)) {
      shutdown.insert(report.frameworkId);
      continue;
    }
    if (!frameworks_.findFramework(report.frameworkId)) {
      FrameworkInfo info;
      info.id = report.frameworkId;
      frameworks_.recoverFromAgent(info);
    }
    stillThere.insert({report.frameworkId, report.info.taskId});
    const Framework& owner = *frameworks_.findFramework(report.frameworkId);
    // A task launched before this master knew it is accounted to the framework's first role.
    std::string defaultRole = owner.info.roles.empty() ? "*" : owner.info.roles.front();
    tasks_.readmit(agentId, report.frameworkId, defaultRole, std::move(report.info),
                std::move(report.latest), std::move(report.sandbox));
  }
  // Tasks we placed on this agent that it no longer has.
  for (const TaskKey& key : tasks_.onAgent(agentId).keys()) {
    if (stillThere.count(key)) continue;
    tasks_.fail(key, TaskState::LOST, TaskState::GONE, TaskReason::AGENT_RESTARTED,
             "agent " + agentId + " re-registered without task '" + key.second + "'");
  }

  ctx_.allocator.addAgent(agentId, fitReservations(*agent), tasks_.usedOnAgent(agentId),
                          agent->attributes);
  for (const std::string& frameworkId : shutdown) {
    ctx_.outbox.toAgent(peer, "shutdownFramework", [&](schema::AgentEnvelope::Builder out) {
      out.initShutdownFramework().setFrameworkId(frameworkId);
    });
  }
  LOG(INFO) << "agent " << agentId << " (" << agent->hostname << ") re-registered with "
            << tasks_.onAgent(agentId).size() << " live tasks" << (wasKnown ? "" : " (new to this master)");
  publish(*agent, wasKnown ? events::AgentChanged::Kind::kReregistered
                                : events::AgentChanged::Kind::kAdded);
  persist(*agent, [this, agentId, peer](Status persisted) {
    Agent* admitted = findMutable(agentId);
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
  ctx_.scheduleAllocation();
}

}  // namespace agora::master
