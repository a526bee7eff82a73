#include "master/tasks/tasks.hpp"

#include <glog/logging.h>

namespace agora::master {

namespace {

const AgentTaskIndex kNoAgentTasks;
const FrameworkTaskIndex kNoFrameworkTasks;

template <typename Index>
void dropFrom(std::unordered_map<std::string, Index>& indexes, const std::string& key,
              Task& task) {
  auto it = indexes.find(key);
  if (it == indexes.end()) return;
  it->second.erase(task);
  if (it->second.empty()) indexes.erase(it);
}

}  // namespace

Tasks::Tasks(MasterContext& context, TaskOptions options) : ctx_(context) {
  table_.setBounds(options.completedTasks);
  if (Registrar* registrar = ctx_.registry.registrar()) {
    history_ = std::make_unique<TaskHistory>(ctx_.loop, *registrar, options.history);
    table_.setObserver(history_.get());
  }
}

Tasks::~Tasks() {
  table_.setObserver(nullptr);
  history_.reset();  // hands its pending writes to the registrar
}

const Task* Tasks::findLive(const TaskKey& key) const {
  const Task* task = table_.find(key);
  return task != nullptr && !task->completed ? task : nullptr;
}

Task* Tasks::findLiveMutable(const TaskKey& key) {
  Task* task = table_.find(key);
  return task != nullptr && !task->completed ? task : nullptr;
}

const AgentTaskIndex& Tasks::onAgent(const std::string& agentId) const {
  auto it = byAgent_.find(agentId);
  return it == byAgent_.end() ? kNoAgentTasks : it->second;
}

const FrameworkTaskIndex& Tasks::ofFramework(const std::string& frameworkId) const {
  auto it = byFramework_.find(frameworkId);
  return it == byFramework_.end() ? kNoFrameworkTasks : it->second;
}

UsedResources Tasks::usedOnAgent(const std::string& agentId) const {
  UsedResources used;
  for (const Task* task : onAgent(agentId)) {
    used[{task->frameworkId.get(), task->role.get()}] += task->resources.get();
  }
  return used;
}

const Task* Tasks::volumeUser(const std::string& agentId, const PersistentVolume& volume) const {
  for (const Task* task : onAgent(agentId)) {
    for (const PersistentVolume& used : task->resources.get().volumeList()) {
      if (used.disk.id == volume.disk.id && used.reservation.role == volume.reservation.role) {
        return task;
      }
    }
  }
  return nullptr;
}

const Task& Tasks::launch(const std::string& frameworkId, const std::string& agentId,
                          const std::string& role, const TaskInfo& info) {
  Task& task = table_.add(frameworkId, info.taskId);
  task.agentId = table_.intern(agentId);
  task.role = table_.intern(role);
  task.name = info.name;
  task.resources = table_.intern(info.resources);
  byAgent_[agentId].insert(task);
  byFramework_[frameworkId].insert(task);
  setStatus(task, masterUpdate(task.status(), TaskState::STAGING, TaskReason::NONE, ""));
  ctx_.markChanged();
  return task;
}

void Tasks::readmit(const std::string& agentId, const std::string& frameworkId,
                    const std::string& defaultRole, TaskInfo info, TaskStatus latest,
                    std::string sandbox) {
  TaskKey key{frameworkId, info.taskId};
  latest.agentId = agentId;
  latest.frameworkId = frameworkId;
  std::optional<TaskState> previous;
  Task* task = table_.find(key);
  if (task != nullptr) previous = task->state;
  if (task == nullptr || task->completed) {
    // The agent's report is the spec from now on.
    if (task == nullptr) task = &table_.add(frameworkId, info.taskId);
    table_.revive(*task);
    task->name = std::move(info.name);
    task->resources = table_.intern(info.resources);
  } else if (task->agentId.get() != agentId) {
    dropFrom(byAgent_, task->agentId.get(), *task);
  }
  if (task->role.empty()) task->role = table_.intern(defaultRole);
  task->agentId = table_.intern(agentId);
  setStatus(*task, latest);
  if (!sandbox.empty()) table_.setSandbox(*task, sandbox);
  byAgent_[agentId].insert(*task);
  byFramework_[frameworkId].insert(*task);
  if (isTerminal(latest.state)) {
    // Its terminal update is still on its way through the agent's update stream.
    complete(key);
    return;
  }
  if (previous == TaskState::UNREACHABLE || previous == TaskState::LOST) {
    latest.uuid.clear();
    latest.source = StatusSource::MASTER;
    latest.message = "agent " + agentId + " re-registered; the task is still " +
                     std::string(taskStateName(latest.state));
    latest.timestamp = ctx_.wallNow();
    sendUpdate(frameworkId, latest);
  }
}

void Tasks::setStatus(Task& task, const TaskStatus& status) {
  table_.setStatus(task, status);
  if (!ctx_.bus.active()) return;
  events::TaskStateChanged e;
  e.frameworkId = task.frameworkId.get();
  e.taskId = task.id;
  e.name = task.name;
  e.agentId = task.agentId.get();
  e.state = task.state;
  e.reason = task.reason;
  e.source = task.source;
  e.message = task.message.get();
  e.healthy = task.healthy;
  e.ready = task.ready;
  e.containerId = task.containerId;
  e.exitCode = task.exitCode;
  e.timestamp = task.timestamp;
  e.resources = task.resources.get();
  ctx_.bus.publish(std::move(e));
}

void Tasks::complete(const TaskKey& key) {
  Task* task = findLiveMutable(key);
  CHECK(task != nullptr) << "completing unknown task " << key.second;
  dropFrom(byAgent_, task->agentId.get(), *task);
  dropFrom(byFramework_, key.first, *task);
  task->agentSlot = task->frameworkSlot = Task::kNoSlot;
  table_.complete(*task);
}

TaskStatus Tasks::masterUpdate(const TaskStatus& about, TaskState state, TaskReason reason,
                               const std::string& message) const {
  TaskStatus status;
  status.taskId = about.taskId;
  status.state = state;
  status.reason = reason;
  status.message = message;
  status.agentId = about.agentId;
  status.frameworkId = about.frameworkId;
  status.source = StatusSource::MASTER;
  status.timestamp = ctx_.wallNow();
  status.containerId = about.containerId;
  status.exitCode = about.exitCode;
  return status;
}

void Tasks::sendUpdate(const std::string& frameworkId, const TaskStatus& status) {
  if (const Framework* framework = ctx_.frameworks().findFramework(frameworkId)) {
    ctx_.outbox.update(*framework, status);
  }
}

void Tasks::fail(const TaskKey& key, TaskState partitionAwareState, TaskState otherState,
                 TaskReason reason, const std::string& message) {
  Task& task = *findLiveMutable(key);
  const Framework* framework = ctx_.frameworks().findFramework(key.first);
  bool aware = framework != nullptr && framework->partitionAware();
  TaskStatus status =
      masterUpdate(task.status(), aware ? partitionAwareState : otherState, reason, message);
  setStatus(task, status);
  if (isTerminal(status.state)) {
    ctx_.allocator.recover(key.first, task.role.get(), task.agentId.get(), task.resources.get(),
                           0);
    complete(key);
  }
  if (framework != nullptr) ctx_.outbox.update(*framework, status);
  ctx_.markChanged();
}

void Tasks::failAllOnAgent(const std::string& agentId, TaskState partitionAwareState,
                           TaskState otherState, TaskReason reason, const std::string& message) {
  for (const TaskKey& key : onAgent(agentId).keys()) {
    fail(key, partitionAwareState, otherState, reason, message);
  }
}

std::set<std::string> Tasks::killAllOfFramework(const std::string& frameworkId,
                                                const std::string& message) {
  std::set<std::string> agents;
  for (const TaskKey& key : ofFramework(frameworkId).keys()) {
    Task& task = *findLiveMutable(key);
    agents.insert(task.agentId.get());
    setStatus(task, masterUpdate(task.status(), TaskState::KILLED, TaskReason::FRAMEWORK_REMOVED,
                                 message));
    complete(key);
  }
  return agents;
}

void Tasks::refuse(const Framework& framework, const std::vector<std::string>& taskIds,
                   TaskState state, TaskReason reason, const std::string& message) {
  for (const std::string& taskId : taskIds) {
    TaskStatus status;
    status.taskId = taskId;
    status.state = state;
    status.reason = reason;
    status.message = message;
    status.frameworkId = framework.info.id;
    status.source = StatusSource::MASTER;
    status.timestamp = ctx_.wallNow();
    ctx_.outbox.update(framework, status);
  }
}

void Tasks::recoverCompleted(std::vector<CompletedTaskRecord> records) {
  if (records.empty()) return;
  size_t stored = records.size();
  restoreCompletedTasks(table_, std::move(records));
  LOG(INFO) << "recovered " << table_.completedCount() << " completed tasks of "
            << table_.completedFrameworks() << " frameworks (of " << stored
            << " in the registry)";
  ctx_.markChanged();
}

}  // namespace agora::master
