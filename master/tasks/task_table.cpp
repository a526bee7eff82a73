#include "master/tasks/task_table.hpp"

#include <glog/logging.h>

#include <algorithm>

namespace agora::master {

namespace {

std::string sandboxSuffix(const Task& task) {
  return "/" + task.frameworkId.get() + "/" + task.id + "/" + task.containerId;
}

bool byKey(const Task* a, const Task* b) {
  int framework = a->frameworkId.get().compare(b->frameworkId.get());
  return framework != 0 ? framework < 0 : a->id < b->id;
}

}  // namespace

TaskStatus Task::status() const {
  TaskStatus out;
  out.taskId = id;
  out.state = state;
  out.reason = reason;
  out.message = message.get();
  out.agentId = agentId.get();
  out.frameworkId = frameworkId.get();
  out.source = source;
  out.exitCode = exitCode;
  out.timestamp = timestamp;
  out.containerId = containerId;
  out.healthy = healthy;
  out.ready = ready;
  return out;
}

std::string Task::sandbox() const {
  return sandboxDerived ? sandboxBase.get() + sandboxSuffix(*this) : sandboxBase.get();
}

template <uint32_t Task::*Slot>
std::vector<TaskKey> TaskIndex<Slot>::keys() const {
  std::vector<TaskKey> keys;
  keys.reserve(tasks_.size());
  for (const Task* task : tasks_) keys.push_back(task->key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

template class TaskIndex<&Task::agentSlot>;
template class TaskIndex<&Task::frameworkSlot>;

TaskTable::~TaskTable() {
  for (Task* task : tasks_) delete task;
  tasks_.clear();
}

size_t TaskTable::hashOf(KeyView key) noexcept {
  size_t framework = std::hash<std::string_view>{}(key.frameworkId);
  return std::hash<std::string_view>{}(key.taskId) ^ (framework + 0x9e3779b97f4a7c15ULL +
                                                      (framework << 6) + (framework >> 2));
}

Task& TaskTable::add(const std::string& frameworkId, const std::string& taskId) {
  if (auto it = tasks_.find(KeyView{frameworkId, taskId}); it != tasks_.end()) {
    CHECK((*it)->completed) << "task " << taskId << " of framework " << frameworkId
                            << " is already live";
    destroy(*it);
  }
  auto task = std::make_unique<Task>();
  task->frameworkId = intern(frameworkId);
  task->id = taskId;
  tasks_.insert(task.get());
  return *task.release();
}

Task* TaskTable::find(const TaskKey& key) {
  auto it = tasks_.find(KeyView{key.first, key.second});
  return it == tasks_.end() ? nullptr : *it;
}

const Task* TaskTable::find(const TaskKey& key) const {
  auto it = tasks_.find(KeyView{key.first, key.second});
  return it == tasks_.end() ? nullptr : *it;
}

void TaskTable::complete(Task& task, bool restored) {
  CHECK(!task.completed) << "task " << task.id << " is already completed";
  DCHECK(task.agentSlot == Task::kNoSlot && task.frameworkSlot == Task::kNoSlot) << task.id;
  task.completed = true;
  task.older = newestCompleted_;
  task.newer = nullptr;
  if (newestCompleted_ != nullptr) newestCompleted_->newer = &task;
  newestCompleted_ = &task;
  if (oldestCompleted_ == nullptr) oldestCompleted_ = &task;
  CompletedList& list = byFramework_[task.frameworkId.get()];
  task.olderInFramework = list.newest;
  task.newerInFramework = nullptr;
  if (list.newest != nullptr) list.newest->newerInFramework = &task;
  list.newest = &task;
  if (list.oldest == nullptr) list.oldest = &task;
  ++list.count;
  list.lastCompletion = ++completions_;
  ++completedCount_;
  if (!restored && observer_ != nullptr) observer_->completed(task);
  enforceBounds(std::string(task.frameworkId.get()));  // a copy: the task may go
}

void TaskTable::enforceBounds(const std::string& frameworkId) {
  if (auto it = byFramework_.find(frameworkId); it != byFramework_.end()) {
    // Destroying a framework's last task erases its list (and `it`).
    size_t excess = it->second.count > bounds_.perFramework ? it->second.count - bounds_.perFramework : 0;
    for (size_t i = 0; i < excess; ++i) destroy(it->second.oldest);
  }
  while (byFramework_.size() > bounds_.frameworks) {
    // The framework whose latest completion is the oldest: a scan, but only
    // of the (few) frameworks with completed tasks, and only past the bound.
    auto stalest = byFramework_.begin();
    for (auto it = byFramework_.begin(); it != byFramework_.end(); ++it) {
      if (it->second.lastCompletion < stalest->second.lastCompletion) stalest = it;
    }
    // Destroying its last task erases the entry.
    size_t count = stalest->second.count;
    for (size_t i = 0; i < count; ++i) destroy(stalest->second.oldest);
  }
  while (completedCount_ > bounds_.total) destroy(oldestCompleted_);
}

size_t TaskTable::completedCount(const std::string& frameworkId) const {
  auto it = byFramework_.find(frameworkId);
  return it == byFramework_.end() ? 0 : it->second.count;
}

void TaskTable::revive(Task& task) {
  if (!task.completed) return;
  unlinkCompleted(task);
  task.completed = false;
}

void TaskTable::unlinkCompleted(Task& task) {
  (task.older != nullptr ? task.older->newer : oldestCompleted_) = task.newer;
  (task.newer != nullptr ? task.newer->older : newestCompleted_) = task.older;
  task.older = task.newer = nullptr;
  --completedCount_;
  auto it = byFramework_.find(task.frameworkId.get());
  CHECK(it != byFramework_.end()) << "completed task " << task.id << " has no framework list";
  CompletedList& list = it->second;
  (task.olderInFramework != nullptr ? task.olderInFramework->newerInFramework : list.oldest) =
      task.newerInFramework;
  (task.newerInFramework != nullptr ? task.newerInFramework->olderInFramework : list.newest) =
      task.olderInFramework;
  task.olderInFramework = task.newerInFramework = nullptr;
  if (--list.count == 0) byFramework_.erase(it);
}

void TaskTable::destroy(Task* task) {
  if (task->completed) {
    if (observer_ != nullptr) observer_->evicted(*task);
    unlinkCompleted(*task);
  }
  tasks_.erase(task);
  delete task;
}

void TaskTable::setStatus(Task& task, const TaskStatus& status) {
  if (status.containerId != task.containerId && task.sandboxDerived) {
    std::string sandbox = task.sandbox();
    task.containerId = status.containerId;
    setSandbox(task, sandbox);
  } else {
    task.containerId = status.containerId;
  }
  task.state = status.state;
  task.reason = status.reason;
  task.source = status.source;
  task.healthy = status.healthy;
  task.ready = status.ready;
  task.exitCode = status.exitCode;
  task.timestamp = status.timestamp;
  task.message = intern(status.message);
  if (task.history.empty() || task.history.back().state != status.state) {
    if (task.history.size() >= Task::kMaxHistory) task.history.erase(task.history.begin() + 1);
    task.history.push_back({status.state, status.reason, task.message, status.timestamp});
  }
  if (task.completed && observer_ != nullptr) observer_->completed(task);
}

void TaskTable::setSandbox(Task& task, const std::string& sandbox) {
  std::string suffix = sandboxSuffix(task);
  bool derived = !task.containerId.empty() && sandbox.size() > suffix.size() &&
                 sandbox.compare(sandbox.size() - suffix.size(), suffix.size(), suffix) == 0;
  task.sandboxDerived = derived;
  task.sandboxBase = intern(derived ? sandbox.substr(0, sandbox.size() - suffix.size()) : sandbox);
}

std::vector<const Task*> TaskTable::sorted() const {
  std::vector<const Task*> live, completed;
  live.reserve(liveCount());
  completed.reserve(completedCount_);
  for (const Task* task : tasks_) (task->completed ? completed : live).push_back(task);
  std::sort(live.begin(), live.end(), byKey);
  std::sort(completed.begin(), completed.end(), byKey);
  live.insert(live.end(), completed.begin(), completed.end());
  return live;
}

}  // namespace agora::master
