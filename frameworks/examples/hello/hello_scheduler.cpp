#include "frameworks/examples/hello/hello_scheduler.hpp"

#include <iostream>

namespace agora::hello {

void HelloScheduler::offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) {
  static const Resources kPerTask = *Resources::parse("cpus:0.1;mem:32");
  for (const Offer& offer : offers) {
    std::vector<TaskInfo> tasks;
    Resources left = offer.resources;
    while (launched_ < total_ && left.contains(kPerTask)) {
      TaskInfo task;
      task.taskId = "hello-" + std::to_string(launched_++);
      task.name = task.taskId;
      task.resources = kPerTask;
      task.command.value = command_;
      task.command.environment = {{"AGORA_TASK_ID", task.taskId}};
      left -= kPerTask;
      tasks.push_back(std::move(task));
    }
    if (tasks.empty()) {
      driver.decline({offer.id}, 60);  // nothing left to run: keep out of others' way
    } else {
      driver.launch(offer.id, std::move(tasks));
    }
  }
  if (launched_ == total_) driver.suppress();
}

void HelloScheduler::update(sdk::SchedulerDriver& driver, const TaskStatus& status) {
  if (!isTerminal(status.state) || !ended_.insert(status.taskId).second) return;
  std::cout << status.taskId << ": " << taskStateName(status.state)
            << (status.message.empty() ? "" : " (" + status.message + ")") << std::endl;
  (status.state == TaskState::FINISHED ? finished_ : failed_)++;
  if (done()) driver.stop();
}

}  // namespace agora::hello
