// Unreachable agents past --agent-unreachable-timeout: removal, what an
// agent that returns after it is told (schemas/PROTOCOL.md, partitions), and
// the bound on the remembered gone agents.

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>

#include "master/master.hpp"

namespace agora::master {

void Master::removeUnreachableAgents() {
  double now = loop_.clock().wallSeconds();
  std::vector<std::string> expired;
  for (const auto& [id, agent] : state_.agents) {
    if (agent.status == AgentStatus::kUnreachable &&
        now - agent.unreachableTime >= options_.agentUnreachableTimeoutSec) {
      expired.push_back(id);
    }
  }
  for (const std::string& id : expired) {
    Agent& agent = state_.agents.at(id);
    char text[64];
    std::snprintf(text, sizeof(text), "%g", options_.agentUnreachableTimeoutSec);
    removeAgent(agent, "it was unreachable for more than " + std::string(text) + " s");
  }
  pruneGoneAgents();
}

void Master::pruneGoneAgents() {
  double now = loop_.clock().wallSeconds();
  // Cheap when nothing is due (the common case): one scan, no sort.
  bool due = state_.goneAgents.size() > options_.registryMaxAgentCount;
  for (auto it = state_.goneAgents.begin(); !due && it != state_.goneAgents.end(); ++it) {
    due = now - it->second >= options_.registryMaxAgentAgeSec;
  }
  if (!due) return;
  std::vector<std::pair<double, std::string>> byAge;  // (removal time, ID), oldest first
  byAge.reserve(state_.goneAgents.size());
  for (const auto& [id, goneTime] : state_.goneAgents) byAge.emplace_back(goneTime, id);
  std::sort(byAge.begin(), byAge.end());
  size_t excess = byAge.size() > options_.registryMaxAgentCount
                      ? byAge.size() - options_.registryMaxAgentCount
                      : 0;
  std::vector<Mutation> erased;
  for (size_t i = 0; i < byAge.size(); ++i) {
    const auto& [goneTime, id] = byAge[i];
    if (i >= excess && now - goneTime < options_.registryMaxAgentAgeSec) break;
    erased.push_back(eraseAgent(id));
    state_.goneAgents.erase(id);
    persistedAgents_.erase(id);
  }
  LOG(INFO) << "forgetting " << erased.size() << " removed agents (older than "
            << options_.registryMaxAgentAgeSec << " s or past "
            << options_.registryMaxAgentCount << "); " << state_.goneAgents.size() << " remain";
  persist(std::move(erased));
  markChanged();
}

void Master::removeAgent(Agent& agent, const std::string& why) {
  CHECK(agent.status == AgentStatus::kUnreachable) << agent.id;
  LOG(WARNING) << "removing agent " << agent.id << " (" << agent.hostname << "): " << why;
  std::string message = "agent " + agent.id + " (" + agent.hostname + ") was removed: " + why;
  // Frameworks that are not partition-aware were told LOST when the agent
  // became unreachable; what is still live here is UNREACHABLE.
  for (const TaskKey& key : agent.tasks.keys()) {
    failTask(key, TaskState::GONE, TaskState::LOST, TaskReason::AGENT_REMOVED, message);
  }
  AgentRecord record = recordOf(agent);
  record.state = AgentRecordState::kGone;
  record.goneTime = loop_.clock().wallSeconds();
  persistAgentRecord(record);
  if (!agent.peer.empty()) state_.agentPeers.erase(agent.peer);
  publishAgent(agent, events::AgentChanged::Kind::kRemoved, why);
  state_.goneAgents[agent.id] = record.goneTime;
  state_.agents.erase(agent.id);
  markChanged();
}

void Master::refuseGoneAgent(const std::string& peer, const std::string& agentId) {
  LOG(WARNING) << "agent " << agentId << " (" << peer
               << ") came back after it was removed: telling it to kill its tasks";
  metrics_.rejected("gone_agent");
  sendToAgent(peer, "shutdownAgent", [&](AgentEnvelope::Builder out) {
    auto shutdown = out.initShutdownAgent();
    shutdown.setAgentId(agentId);
    shutdown.setMessage(
        "agent " + agentId +
        " was removed after being unreachable past the timeout; its tasks were declared GONE: "
        "kill them and register as a new agent");
  });
}

}  // namespace agora::master
