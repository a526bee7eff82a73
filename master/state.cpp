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
  Task* task = tasks.find(key);
  return task != nullptr && !task->completed ? task : nullptr;
}

const Task* MasterState::findAnyTask(const TaskKey& key) const { return tasks.find(key); }

Task& MasterState::addTask(Framework& framework, Agent& agent, const std::string& role,
                           const TaskInfo& info) {
  Task& task = tasks.add(framework.info.id, info.taskId);
  task.agentId = tasks.intern(agent.id);
  task.role = tasks.intern(role);
  task.name = info.name;
  task.resources = tasks.intern(info.resources);
  agent.tasks.insert(task);
  framework.tasks.insert(task);
  return task;
}

void MasterState::completeTask(const TaskKey& key) {
  Task* task = findTask(key);
  CHECK(task != nullptr) << "completing unknown task " << key.second;
  if (Agent* agent = findAgent(task->agentId.get())) agent->tasks.erase(*task);
  if (Framework* framework = findFramework(key.first)) framework->tasks.erase(*task);
  // An index not found went with its agent or framework.
  task->agentSlot = task->frameworkSlot = Task::kNoSlot;
  tasks.complete(*task);
}

}  // namespace agora::master
