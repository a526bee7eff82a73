#include "master/state.hpp"

#include <glog/logging.h>

namespace agora::master {

const char* agentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kRegistered:
      return "REGISTERED";
    case AgentStatus::kUnreachable:
      return "UNREACHABLE";
    case AgentStatus::kRecovering:
      return "RECOVERING";
  }
  return "UNKNOWN";
}

Agent* MasterState::findAgent(const std::string& id) {
  auto it = agents.find(id);
  return it == agents.end() ? nullptr : &it->second;
}

Agent* MasterState::findAgentByPeer(const std::string& peer) {
  auto it = agentPeers.find(peer);
  return it == agentPeers.end() ? nullptr : findAgent(it->second);
}

Framework* MasterState::findFramework(const std::string& id) {
  auto it = frameworks.find(id);
  return it == frameworks.end() ? nullptr : &it->second;
}

Task* MasterState::findTask(const TaskKey& key) {
  auto it = tasks.find(key);
  return it == tasks.end() ? nullptr : &it->second;
}

const Task* MasterState::findAnyTask(const TaskKey& key) const {
  if (auto it = tasks.find(key); it != tasks.end()) return &it->second;
  if (auto it = completedTasks.find(key); it != completedTasks.end()) return &it->second;
  return nullptr;
}

void MasterState::completeTask(const TaskKey& key) {
  auto it = tasks.find(key);
  CHECK(it != tasks.end()) << "completing unknown task " << key.second;
  if (Agent* agent = findAgent(it->second.agentId)) agent->tasks.erase(key);
  if (Framework* framework = findFramework(key.first)) framework->taskIds.erase(key.second);
  if (completedTasks.count(key) == 0) completedOrder.push_back(key);
  completedTasks[key] = std::move(it->second);
  tasks.erase(it);
  while (completedOrder.size() > kMaxCompletedTasks) {
    completedTasks.erase(completedOrder.front());
    completedOrder.pop_front();
  }
}

}  // namespace agora::master
