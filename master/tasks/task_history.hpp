#pragma once
// Keeps the master's completed tasks in the registry, so that operators
// still see what ran after a master restart (live tasks are rebuilt from
// agents as they re-register; these are the terminal ones no agent reports).
//
// Writes are batched: completions and evictions are collected, coalesced by
// task (the last change wins) and handed to the registrar as one write per
// flush interval, or sooner once `maxBatch` are pending, so a burst of
// completions costs one commit rather than one per task and the launch path
// never waits for them. The price: a master killed within one interval of a
// completion forgets that task (an agent still reports it if the framework
// has not acknowledged it yet).
//
// Threading: the loop thread only.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "master/registry/registrar.hpp"
#include "master/tasks/task_table.hpp"

namespace agora::master {

struct TaskHistoryOptions {
  std::chrono::milliseconds flushInterval{100};
  size_t maxBatch = 1000;
  // Bytes per registry write; a flush past it is split (ZooKeeper bounds a multi-op).
  size_t maxBatchBytes = 256 * 1024;
};

class TaskHistory : public TaskTableObserver {
 public:
  // REQUIRES: loop and registrar outlive it.
  TaskHistory(EventLoop& loop, Registrar& registrar, TaskHistoryOptions options = {});
  // Hands what is pending to the registrar (which commits it before it goes).
  ~TaskHistory() override;
  TaskHistory(const TaskHistory&) = delete;
  TaskHistory& operator=(const TaskHistory&) = delete;

  void completed(const Task& task) override;
  void evicted(const Task& task) override;

  // Queues what is pending now.
  void flush();
  // Runs `done` on the loop once every change told so far is durable (or
  // failed to be: a lost history is logged, not fatal). It may run after this
  // object is gone; it runs not at all if the registrar goes first.
  void afterPersisted(std::function<void()> done);
  size_t pending() const { return pending_.size(); }
  uint64_t flushes() const { return flushes_; }

 private:
  void queue(Mutation mutation);

  EventLoop& loop_;
  Registrar& registrar_;
  TaskHistoryOptions options_;
  // By record key, so that repeated changes to one task write once.
  std::map<std::string, Mutation> pending_;
  // afterPersisted callbacks waiting for the next flush.
  std::vector<std::function<void()>> waiters_;
  std::optional<EventLoop::TimerId> timer_;
  uint64_t flushes_ = 0;
};

// The record kept for a completed task.
CompletedTaskRecord completedTaskRecord(const Task& task);

// Puts recovered completed tasks back in `table` (oldest completion first,
// within the table's bounds; those past them are evicted, and the observer,
// if any, told). Tasks whose key is already in the table are skipped.
void restoreCompletedTasks(TaskTable& table, std::vector<CompletedTaskRecord> records);

}  // namespace agora::master
