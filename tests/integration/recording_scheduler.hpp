#pragma once
// A scheduler for integration tests: records every event (thread-safe, the
// driver calls it on its own thread) and reacts to offers through a policy the
// test sets.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frameworks/sdk/scheduler_driver.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {

class RecordingScheduler : public sdk::Scheduler {
 public:
  using OfferPolicy = std::function<void(sdk::SchedulerDriver&, const Offer&)>;

  // Default policy: hold offers (neither accept nor decline).
  void setOfferPolicy(OfferPolicy policy) {
    std::lock_guard<std::mutex> lock(mutex_);
    policy_ = std::move(policy);
  }

  void subscribed(sdk::SchedulerDriver&, const std::string& frameworkId) override {
    std::lock_guard<std::mutex> lock(mutex_);
    frameworkId_ = frameworkId;
  }
  void offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) override {
    OfferPolicy policy;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& o : offers) offers_.push_back({o, std::chrono::steady_clock::now()});
      policy = policy_;
    }
    if (policy) {
      for (const auto& o : offers) policy(driver, o);
    }
  }
  void rescinded(sdk::SchedulerDriver&, const std::string& offerId) override {
    std::lock_guard<std::mutex> lock(mutex_);
    rescinded_.push_back(offerId);
  }
  void update(sdk::SchedulerDriver&, const TaskStatus& status) override {
    std::lock_guard<std::mutex> lock(mutex_);
    updates_.push_back(status);
  }

  struct TimedOffer {
    Offer offer;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<TimedOffer> offers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return offers_;
  }
  std::vector<std::string> rescinded() {
    std::lock_guard<std::mutex> lock(mutex_);
    return rescinded_;
  }
  std::vector<TaskStatus> updates() {
    std::lock_guard<std::mutex> lock(mutex_);
    return updates_;
  }
  std::string frameworkId() {
    std::lock_guard<std::mutex> lock(mutex_);
    return frameworkId_;
  }
  // The latest update for the task, if any.
  std::optional<TaskStatus> latest(const std::string& taskId) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = updates_.rbegin(); it != updates_.rend(); ++it) {
      if (it->taskId == taskId) return *it;
    }
    return std::nullopt;
  }
  bool waitForState(const std::string& taskId, TaskState state,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return eventually([&] {
      auto s = latest(taskId);
      return s && s->state == state;
    }, timeout);
  }

 private:
  std::mutex mutex_;
  OfferPolicy policy_;
  std::string frameworkId_;
  std::vector<TimedOffer> offers_;
  std::vector<std::string> rescinded_;
  std::vector<TaskStatus> updates_;
};

// A shell-command task of the given shape on the offer's agent.
inline TaskInfo shellTask(const std::string& id, const std::string& command,
                          const std::string& resources = "cpus:0.1;mem:32") {
  TaskInfo task;
  task.taskId = id;
  task.name = id;
  task.resources = Resources::parse(resources).value();
  task.command.shell = true;
  task.command.value = command;
  task.killGracePeriodSec = 1;
  return task;
}

// A framework named `name` (a started driver on `scheduler`) that launches
// `task` on its first offer and declines the others for a minute.
inline std::unique_ptr<sdk::SchedulerDriver> launchOnce(RecordingScheduler& scheduler,
                                                        TaskInfo task,
                                                        const Cluster& cluster,
                                                        const std::string& name = "test") {
  auto launched = std::make_shared<std::atomic<bool>>(false);
  scheduler.setOfferPolicy([task, launched](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (!launched->exchange(true)) {
      driver.launch(offer.id, {task}, 5);
    } else {
      driver.decline({offer.id}, 60);
    }
  });
  sdk::DriverOptions options;
  options.framework.name = name;
  options.framework.roles = {"*"};
  options.masterEndpoint = cluster.masterEndpoint();
  options.curve = cluster.schedulerKeys();
  auto driver = sdk::SchedulerDriver::create(scheduler, options);
  if (!driver) {
    ADD_FAILURE() << driver.error().message;
    return nullptr;
  }
  (*driver)->start();
  return std::move(*driver);
}

}  // namespace agora::testing
