#include "master/tasks/task_history.hpp"

#include <glog/logging.h>

#include <algorithm>

namespace agora::master {

TaskHistory::TaskHistory(EventLoop& loop, Registrar& registrar, TaskHistoryOptions options)
    : loop_(loop), registrar_(registrar), options_(options) {}

TaskHistory::~TaskHistory() { flush(); }

void TaskHistory::completed(const Task& task) { queue(putCompletedTask(completedTaskRecord(task))); }

void TaskHistory::evicted(const Task& task) {
  queue(eraseCompletedTask(task.frameworkId.get(), task.id));
}

void TaskHistory::queue(Mutation mutation) {
  std::string key = mutation.key;
  pending_.insert_or_assign(std::move(key), std::move(mutation));
  if (pending_.size() >= options_.maxBatch) {
    flush();
  } else if (!timer_) {
    timer_ = loop_.addTimer(options_.flushInterval, [this] {
      timer_.reset();
      flush();
    });
  }
}

void TaskHistory::flush() {
  if (timer_) {
    loop_.cancelTimer(*timer_);
    timer_.reset();
  }
  if (pending_.empty()) return;
  // Several writes when large: a ZooKeeper multi-op is bounded (1 MB by
  // default) and a failed registry write stops a leader.
  std::vector<std::vector<Mutation>> writes(1);
  size_t bytes = 0;
  for (auto& [key, mutation] : pending_) {
    size_t size = key.size() + (mutation.bytes ? mutation.bytes->size() : 0);
    if (!writes.back().empty() && bytes + size > options_.maxBatchBytes) {
      writes.emplace_back();
      bytes = 0;
    }
    bytes += size;
    writes.back().push_back(std::move(mutation));
  }
  pending_.clear();
  ++flushes_;
  for (size_t i = 0; i < writes.size(); ++i) {
    std::vector<std::function<void()>> waiters;
    if (i + 1 == writes.size()) waiters = std::move(waiters_);
    registrar_.write(std::move(writes[i]), [waiters = std::move(waiters)](Status status) {
      // Losing history is not worth stopping the master for; it is logged.
      if (!status) LOG(WARNING) << "completed tasks not persisted: " << status.error().message;
      for (const auto& done : waiters) done();
    });
  }
  waiters_.clear();
}

void TaskHistory::afterPersisted(std::function<void()> done) {
  if (pending_.empty()) {
    // Earlier flushes are queued in the registrar: its sync comes after them.
    registrar_.sync([done = std::move(done)](Status) { done(); });
    return;
  }
  waiters_.push_back(std::move(done));
}

CompletedTaskRecord completedTaskRecord(const Task& task) {
  CompletedTaskRecord record;
  record.frameworkId = task.frameworkId.get();
  record.taskId = task.id;
  record.name = task.name;
  record.agentId = task.agentId.get();
  record.role = task.role.get();
  record.resources = task.resources.get();
  record.sandbox = task.sandbox();
  record.latest = task.status();
  record.statuses.reserve(task.history.size());
  for (const StatusEntry& entry : task.history) {
    TaskStatus status;
    status.taskId = task.id;
    status.frameworkId = record.frameworkId;
    status.state = entry.state;
    status.reason = entry.reason;
    status.message = entry.message.get();
    status.timestamp = entry.timestamp;
    record.statuses.push_back(std::move(status));
  }
  return record;
}

void restoreCompletedTasks(TaskTable& table, std::vector<CompletedTaskRecord> records) {
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.latest.timestamp < b.latest.timestamp;
  });
  for (CompletedTaskRecord& record : records) {
    if (table.find({record.frameworkId, record.taskId}) != nullptr) continue;
    Task& task = table.add(record.frameworkId, record.taskId);
    task.name = std::move(record.name);
    task.agentId = table.intern(record.agentId);
    task.role = table.intern(record.role);
    task.resources = table.intern(record.resources);
    for (const TaskStatus& status : record.statuses) {
      task.history.push_back(
          {status.state, status.reason, table.intern(status.message), status.timestamp});
    }
    // After the history: setStatus appends only a state the history lacks.
    table.setStatus(task, record.latest);
    table.setSandbox(task, record.sandbox);
    table.complete(task, /*restored=*/true);
  }
}

}  // namespace agora::master
