#include "frameworks/examples/hello/hello_framework.hpp"

#include <iostream>

namespace agora::hello {

namespace {

// Ended by itself (or by an operator): counts toward N. Lost, dropped,
// gone or unknown: replaced.
bool ended(TaskState state) {
  return state == TaskState::FINISHED || state == TaskState::FAILED || state == TaskState::KILLED ||
         state == TaskState::ERROR;
}

}  // namespace

std::vector<kit::TaskGroup> HelloFramework::pending(const kit::TaskJournal& journal) {
  int taken = 0;
  for (const auto& [id, task] : journal.tasks())
    taken += !isTerminal(task.state) || ended(task.state);
  return {{"hello", total_ - taken, *Resources::parse("cpus:0.1;mem:32"), {}, constraints_, {}}};
}

TaskInfo HelloFramework::task(const kit::PlannedTask&) {
  TaskInfo task;
  task.command.value = command_;
  return task;
}

void HelloFramework::changed(kit::Runtime& runtime, const kit::TaskEntry& task) {
  if (!isTerminal(task.state)) return;
  std::cout << task.taskId << ": " << taskStateName(task.state) << std::endl;
  tally(runtime);
}

void HelloFramework::ready(kit::Runtime& runtime) { tally(runtime); }

void HelloFramework::tally(kit::Runtime& runtime) {
  finished_ = failed_ = 0;
  for (const auto& [id, task] : runtime.journal()->tasks()) {
    finished_ += task.state == TaskState::FINISHED;
    failed_ += ended(task.state) && task.state != TaskState::FINISHED;
  }
  if (done()) runtime.stop(/*teardown=*/true);
}

}  // namespace agora::hello
