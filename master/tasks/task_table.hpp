#pragma once
// The master's task records: what it needs of each task (identity, placement,
// resources, latest status), compact because a master holds 100,000s of them.
// The launch spec (command, container, labels, kill grace period) is not kept:
// the master forwards it to the agent in RUN_TASK and drops it; an agent that
// re-registers reports its tasks' specs again. Loop thread only.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/model.hpp"
#include "master/tasks/interned.hpp"

namespace agora::master {

// (frameworkId, taskId): task IDs are unique per framework only.
using TaskKey = std::pair<std::string, std::string>;

// One state change of a task, as its history shows it.
struct StatusEntry {
  TaskState state = TaskState::STAGING;
  TaskReason reason = TaskReason::NONE;
  SharedString message;
  double timestamp = 0;  // wall seconds
};

struct Task {
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // History entries kept per task: past this, the second oldest is dropped
  // (the first, its launch, and the latest stay).
  static constexpr size_t kMaxHistory = 16;

  SharedString frameworkId;
  std::string id;
  SharedString agentId;
  SharedString role;  // the role of the offer it was launched from
  std::string name;
  SharedResources resources;

  // The latest status (its uuid is not kept: the master never acknowledges it).
  TaskState state = TaskState::STAGING;
  TaskReason reason = TaskReason::NONE;
  StatusSource source = StatusSource::MASTER;
  std::optional<bool> healthy;  // the latest status's check verdicts
  std::optional<bool> ready;
  // True while it is on the completed list (terminal, kept for the API and
  // for reconciliation); false while live.
  bool completed = false;
  // Whether the last acknowledgement from its framework came once it was
  // terminal (the agent sends the next update only after the previous ack,
  // so that one acknowledged the terminal update).
  bool terminalAcked = false;
  // Sandbox: `sandboxBase` alone, or, when sandboxDerived, the agent's
  // sandboxes root followed by /FRAMEWORK/TASK/CONTAINER (the usual layout,
  // so tasks on one agent share one string).
  bool sandboxDerived = false;
  std::optional<int> exitCode;
  double timestamp = 0;
  SharedString message;
  std::string containerId;
  SharedString sandboxBase;
  // The uuid of the last update its framework acknowledged (zeros: none). An
  // agent that restarted before an ack reached it resends that update: the
  // master acknowledges such a resend itself instead of delivering it twice
  // (Tasks::onStatusUpdate).
  std::array<char, 16> ackedUuid{};
  // Its state changes, oldest first (TaskTable::setStatus appends one when
  // the state differs from the last).
  std::vector<StatusEntry> history;

  // Positions in the agent's and the framework's TaskIndex while live.
  uint32_t agentSlot = kNoSlot;
  uint32_t frameworkSlot = kNoSlot;
  // Neighbours on the completed list, and on its framework's, while completed.
  Task* older = nullptr;
  Task* newer = nullptr;
  Task* olderInFramework = nullptr;
  Task* newerInFramework = nullptr;

  TaskKey key() const { return {frameworkId.get(), id}; }
  // The latest status as a TaskStatus (empty uuid).
  TaskStatus status() const;
  std::string sandbox() const;
};

// The live tasks of one agent or framework, unordered: a vector with
// swap-remove, each task recording its position in `Slot`, so adding and
// removing allocate nothing per task. A task is in at most one index of each
// kind.
template <uint32_t Task::*Slot>
class TaskIndex {
 public:
  bool contains(const Task& task) const {
    uint32_t slot = task.*Slot;
    return slot < tasks_.size() && tasks_[slot] == &task;
  }
  // No-op when already present.
  void insert(Task& task) {
    if (contains(task)) return;
    task.*Slot = static_cast<uint32_t>(tasks_.size());
    tasks_.push_back(&task);
  }
  // No-op when absent.
  void erase(Task& task) {
    if (!contains(task)) return;
    Task* last = tasks_.back();
    tasks_[task.*Slot] = last;
    last->*Slot = task.*Slot;
    tasks_.pop_back();
    task.*Slot = Task::kNoSlot;
    if (tasks_.capacity() > 64 && tasks_.size() < tasks_.capacity() / 4) tasks_.shrink_to_fit();
  }
  size_t size() const { return tasks_.size(); }
  bool empty() const { return tasks_.empty(); }
  auto begin() const { return tasks_.begin(); }
  auto end() const { return tasks_.end(); }
  // Keys in sorted order: a stable list to walk while tasks change.
  std::vector<TaskKey> keys() const;

 private:
  std::vector<Task*> tasks_;
};

using AgentTaskIndex = TaskIndex<&Task::agentSlot>;
using FrameworkTaskIndex = TaskIndex<&Task::frameworkSlot>;

// How many completed tasks a TaskTable keeps (as Mesos's
// --max_completed_tasks_per_framework and --max_completed_frameworks).
struct CompletedTaskBounds {
  size_t total = 10000;
  size_t perFramework = 1000;  // oldest of the framework evicted first
  // Frameworks with completed tasks; past it, every completed task of the
  // framework whose latest completion is the oldest goes (the frameworks
  // that were removed, or stopped running tasks, long ago).
  size_t frameworks = 50;
};

// Told of the completed list's changes, e.g. to persist it. Calls come from
// inside TaskTable's methods: an observer must not change the table.
class TaskTableObserver {
 public:
  virtual ~TaskTableObserver() = default;
  // `task` went on the completed list, or a completed task's status changed.
  virtual void completed(const Task& task) = 0;
  // A completed task is about to be freed: evicted by a bound, or replaced
  // by a new task with its ID. Not called when the table is destroyed.
  virtual void evicted(const Task& task) = 0;
};

// Owns every task record, live and completed, keyed by (framework, task ID),
// and the pools their shared values live in. Completed tasks are kept,
// oldest evicted first, within CompletedTaskBounds.
class TaskTable {
 public:
  explicit TaskTable(size_t maxCompleted) { bounds_.total = maxCompleted; }
  explicit TaskTable(CompletedTaskBounds bounds) : bounds_(bounds) {}
  TaskTable(const TaskTable&) = delete;
  TaskTable& operator=(const TaskTable&) = delete;
  ~TaskTable();

  SharedString intern(const std::string& value) { return strings_.intern(value); }
  SharedResources intern(const Resources& value) { return resources_.intern(value); }

  // A new live task in STAGING; replaces a completed task with the same key.
  // REQUIRES: no live task has that key.
  Task& add(const std::string& frameworkId, const std::string& taskId);
  // Live or completed.
  Task* find(const TaskKey& key);
  const Task* find(const TaskKey& key) const;

  // Puts a live task on the completed list, evicting (and freeing) the
  // oldest ones past the bounds. The observer is told unless `restored` (a
  // task read back from where the observer keeps them). REQUIRES: it is in
  // no index.
  void complete(Task& task, bool restored = false);
  // Takes a completed task off the completed list (it is live again).
  void revive(Task& task);

  // Applies to the tasks completed from now on. Evicts nothing by itself.
  void setBounds(CompletedTaskBounds bounds) { bounds_ = bounds; }
  const CompletedTaskBounds& bounds() const { return bounds_; }
  // Borrowed; null: none. REQUIRES: outlives the table or is reset first.
  void setObserver(TaskTableObserver* observer) { observer_ = observer; }

  // The latest status; appends to the history when the state changed.
  void setStatus(Task& task, const TaskStatus& status);
  void setSandbox(Task& task, const std::string& sandbox);

  size_t size() const { return tasks_.size(); }
  size_t liveCount() const { return tasks_.size() - completedCount_; }
  size_t completedCount() const { return completedCount_; }
  // Frameworks with completed tasks, and how many each has.
  size_t completedFrameworks() const { return byFramework_.size(); }
  size_t completedCount(const std::string& frameworkId) const;
  // Distinct shared values held (tests: they go with their last task).
  size_t internedStrings() const { return strings_.size(); }
  size_t internedResources() const { return resources_.size(); }

  // Every task, live and completed, in no particular order.
  template <typename F>
  void forEach(F&& visit) const {
    for (const Task* task : tasks_) visit(*task);
  }
  // Live tasks sorted by key, then completed ones sorted by key.
  std::vector<const Task*> sorted() const;

 private:
  struct KeyView {
    std::string_view frameworkId;
    std::string_view taskId;
  };
  static size_t hashOf(KeyView key) noexcept;
  static KeyView viewOf(const Task* task) { return {task->frameworkId.get(), task->id}; }
  struct Hash {
    using is_transparent = void;
    size_t operator()(const Task* task) const noexcept { return hashOf(viewOf(task)); }
    size_t operator()(KeyView key) const noexcept { return hashOf(key); }
  };
  struct Equal {
    using is_transparent = void;
    static bool same(KeyView a, KeyView b) {
      return a.taskId == b.taskId && a.frameworkId == b.frameworkId;
    }
    bool operator()(const Task* a, const Task* b) const { return a == b; }
    bool operator()(KeyView a, const Task* b) const { return same(a, viewOf(b)); }
    bool operator()(const Task* a, KeyView b) const { return same(viewOf(a), b); }
  };
  // A framework's completed tasks, oldest to newest.
  struct CompletedList {
    Task* oldest = nullptr;
    Task* newest = nullptr;
    size_t count = 0;
    uint64_t lastCompletion = 0;  // completions_ when its newest completed
  };
  void unlinkCompleted(Task& task);
  void destroy(Task* task);
  void enforceBounds(const std::string& frameworkId);

  // Declared before the tasks that hold Refs into them.
  InternPool<std::string> strings_;
  InternPool<Resources> resources_;
  std::unordered_set<Task*, Hash, Equal> tasks_;
  CompletedTaskBounds bounds_;
  TaskTableObserver* observer_ = nullptr;
  std::unordered_map<std::string, CompletedList> byFramework_;
  uint64_t completions_ = 0;
  size_t completedCount_ = 0;
  Task* oldestCompleted_ = nullptr;
  Task* newestCompleted_ = nullptr;
};

}  // namespace agora::master
