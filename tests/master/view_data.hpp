#pragma once
// Records for the renderers' tests: what the components would own, held
// plainly, with the task table's indexes kept as the tasks component keeps
// them.

#include <map>
#include <set>
#include <string>

#include "master/master_view.hpp"

namespace agora::master::testing {

struct ViewData {
  std::string masterId;
  std::map<std::string, Agent> agents;
  std::map<std::string, double> goneAgents;
  std::map<std::string, Framework> frameworks;
  std::set<std::string> removedFrameworks;
  TaskTable tasks{10000};
  std::map<std::string, OfferRecord> offers;
  std::map<std::string, AgentTaskIndex> agentTasks;
  std::map<std::string, FrameworkTaskIndex> frameworkTasks;

  MasterView view() const {
    return MasterView{masterId,   0,     agents, goneAgents, frameworks, removedFrameworks,
                      tasks, offers};
  }
  // A live task, indexed on its agent and framework.
  Task& addTask(const std::string& frameworkId, const std::string& agentId,
                const std::string& role, const TaskInfo& info) {
    Task& task = tasks.add(frameworkId, info.taskId);
    task.agentId = tasks.intern(agentId);
    task.role = tasks.intern(role);
    task.name = info.name;
    task.resources = tasks.intern(info.resources);
    agentTasks[agentId].insert(task);
    frameworkTasks[frameworkId].insert(task);
    return task;
  }
  Task* findLive(const TaskKey& key) {
    Task* task = tasks.find(key);
    return task != nullptr && !task->completed ? task : nullptr;
  }
  void completeTask(const TaskKey& key) {
    Task& task = *findLive(key);
    agentTasks[task.agentId.get()].erase(task);
    frameworkTasks[key.first].erase(task);
    tasks.complete(task);
  }
};

}  // namespace agora::master::testing
