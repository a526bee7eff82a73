// Agents: liveness (pings), unreachable agents and their removal past
// --agent-unreachable-timeout, what an agent that returns after it is told
// (schemas/PROTOCOL.md, partitions), and the bound on the remembered gone
// agents.

#include <glog/logging.h>

#include <algorithm>

#include "common/duration.hpp"
#include "master/agents/agents.hpp"

namespace agora::master {

const Agent* Agents::byPeer(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : findAgent(it->second);
}

void Agents::onPong(const std::string& peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) {
    if (Agent* agent = findMutable(it->second)) agent->missedPongs = 0;
  }
}

void Agents::ping(const Agent& agent) {
  ctx_.outbox.toAgent(agent.peer, "ping", [&](schema::AgentEnvelope::Builder out) {
    auto ping = out.initPing();
    ping.setAgentId(agent.id);
    ping.setKnown(true);
  });
}

bool Agents::connectionAnswers(const Agent& agent) {
  if (agent.status != AgentStatus::kRegistered || agent.peer.empty() || agent.missedPongs > 1) {
    return false;
  }
  return ctx_.outbox.toAgent(agent.peer, "ping", [&](schema::AgentEnvelope::Builder out) {
    auto ping = out.initPing();
    ping.setAgentId(agent.id);
    ping.setKnown(true);
  });
}

void Agents::pingAgents() {
  removeUnreachable();
  for (auto& [id, agent] : agents_) {
    if (agent.status != AgentStatus::kRegistered) continue;
    if (agent.missedPongs >= options_.maxMissedPings) {
      markUnreachable(agent,
                           "it missed " + std::to_string(agent.missedPongs) + " pings in a row");
      continue;
    }
    agent.missedPongs++;
    ping(agent);
  }
}

void Agents::markUnreachable(Agent& agent, const std::string& why) {
  LOG(WARNING) << "agent " << agent.id << " (" << agent.hostname << ") is unreachable: " << why;
  agent.status = AgentStatus::kUnreachable;
  agent.unreachableTime = ctx_.wallNow();
  persist(agent);
  publish(agent, events::AgentChanged::Kind::kUnreachable, why);
  offers_.rescindAllOnAgent(agent.id, "agent_unreachable");
  ctx_.allocator.removeAgent(agent.id);
  std::string message = "agent " + agent.id + " (" + agent.hostname + ") is unreachable: " + why;
  tasks_.failAllOnAgent(agent.id, TaskState::UNREACHABLE, TaskState::LOST,
                        TaskReason::AGENT_UNREACHABLE, message);
  ctx_.markChanged();
}


void Agents::removeUnreachable() {
  double now = ctx_.wallNow();
  std::vector<std::string> expired;
  for (const auto& [id, agent] : agents_) {
    if (agent.status == AgentStatus::kUnreachable &&
        now - agent.unreachableTime >= toSeconds(options_.unreachableTimeout)) {
      expired.push_back(id);
    }
  }
  for (const std::string& id : expired) {
    Agent& agent = agents_.at(id);
    remove(agent, "it was unreachable for more than " +
                      secondsText(toSeconds(options_.unreachableTimeout)) + " s");
  }
  pruneGone();
}

void Agents::pruneGone() {
  double now = ctx_.wallNow();
  // Cheap when nothing is due (the common case): one scan, no sort.
  bool due = gone_.size() > options_.registryMaxAgentCount;
  for (auto it = gone_.begin(); !due && it != gone_.end(); ++it) {
    due = now - it->second >= toSeconds(options_.registryMaxAgentAge);
  }
  if (!due) return;
  std::vector<std::pair<double, std::string>> byAge;  // (removal time, ID), oldest first
  byAge.reserve(gone_.size());
  for (const auto& [id, goneTime] : gone_) byAge.emplace_back(goneTime, id);
  std::sort(byAge.begin(), byAge.end());
  size_t excess = byAge.size() > options_.registryMaxAgentCount
                      ? byAge.size() - options_.registryMaxAgentCount
                      : 0;
  std::vector<Mutation> erased;
  for (size_t i = 0; i < byAge.size(); ++i) {
    const auto& [goneTime, id] = byAge[i];
    if (i >= excess && now - goneTime < toSeconds(options_.registryMaxAgentAge)) break;
    erased.push_back(eraseAgent(id));
    gone_.erase(id);
    persisted_.erase(id);
  }
  LOG(INFO) << "forgetting " << erased.size() << " removed agents (older than "
            << toSeconds(options_.registryMaxAgentAge) << " s or past "
            << options_.registryMaxAgentCount << "); " << gone_.size() << " remain";
  ctx_.registry.persist(std::move(erased));
  ctx_.markChanged();
}

void Agents::remove(Agent& agent, const std::string& why) {
  CHECK(agent.status == AgentStatus::kUnreachable) << agent.id;
  LOG(WARNING) << "removing agent " << agent.id << " (" << agent.hostname << "): " << why;
  std::string message = "agent " + agent.id + " (" + agent.hostname + ") was removed: " + why;
  // Frameworks that are not partition-aware were told LOST when the agent
  // became unreachable; what is still live here is UNREACHABLE.
  tasks_.failAllOnAgent(agent.id, TaskState::GONE, TaskState::LOST, TaskReason::AGENT_REMOVED,
                        message);
  AgentRecord record = recordOf(agent);
  record.state = AgentRecordState::kGone;
  record.goneTime = ctx_.wallNow();
  persistRecord(record);
  if (!agent.peer.empty()) peers_.erase(agent.peer);
  publish(agent, events::AgentChanged::Kind::kRemoved, why);
  gone_[agent.id] = record.goneTime;
  agents_.erase(agent.id);
  ctx_.markChanged();
}

void Agents::refuseGone(const std::string& peer, const std::string& agentId) {
  LOG(WARNING) << "agent " << agentId << " (" << peer
               << ") came back after it was removed: telling it to kill its tasks";
  ctx_.metrics.rejected("gone_agent");
  ctx_.outbox.toAgent(peer, "shutdownAgent", [&](schema::AgentEnvelope::Builder out) {
    auto shutdown = out.initShutdownAgent();
    shutdown.setAgentId(agentId);
    shutdown.setMessage(
        "agent " + agentId +
        " was removed after being unreachable past the timeout; its tasks were declared GONE: "
        "kill them and register as a new agent");
  });
}

}  // namespace agora::master
