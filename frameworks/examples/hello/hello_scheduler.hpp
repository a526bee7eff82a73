#pragma once
// The "hello" example framework: runs N copies of a shell command and is done
// when every copy has ended. Failed tasks are not retried.

#include <set>
#include <string>

#include "frameworks/sdk/scheduler_driver.hpp"

namespace agora::hello {

class HelloScheduler final : public sdk::Scheduler {
 public:
  HelloScheduler(int tasks, std::string command) : total_(tasks), command_(std::move(command)) {}

  void offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) override;
  void update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;

  bool done() const { return finished_ + failed_ == total_; }
  int finished() const { return finished_; }
  int failed() const { return failed_; }

 private:
  int total_, launched_ = 0, finished_ = 0, failed_ = 0;
  std::string command_;
  std::set<std::string> ended_;  // task IDs in a terminal state (updates may repeat)
};

}  // namespace agora::hello
