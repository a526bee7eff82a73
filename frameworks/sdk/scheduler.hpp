#pragma once
// What a framework implements. Every callback runs on the driver's event-loop
// thread, one at a time; callbacks may call any SchedulerDriver method.
// Callbacks must not block: long work belongs on another thread that posts
// back through the driver.

#include <optional>
#include <string>
#include <vector>

#include "common/model.hpp"

namespace agora::sdk {

class SchedulerDriver;

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // The master accepted the first SUBSCRIBE. `frameworkId` is the ID to keep
  // (and to pass in FrameworkInfo::id to fail over after a restart).
  virtual void subscribed(SchedulerDriver& driver, const std::string& frameworkId) {
    (void)driver, (void)frameworkId;
  }
  // Resources on offer. Each offer is valid until used (accept/launch),
  // declined, or rescinded; an unanswered offer keeps its resources from
  // everyone else, so decline what you do not need.
  virtual void offers(SchedulerDriver& driver, const std::vector<Offer>& offers) = 0;
  virtual void rescinded(SchedulerDriver& driver, const std::string& offerId) {
    (void)driver, (void)offerId;
  }
  // A task changed state. With auto-acknowledgement (the default) the driver
  // acknowledges the update once this returns.
  virtual void update(SchedulerDriver& driver, const TaskStatus& status) = 0;
  // An agent or executor is gone. `status` is the executor's exit status, if known.
  virtual void failure(SchedulerDriver& driver, const std::string& agentId,
                       const std::string& executorId, std::optional<int> status) {
    (void)driver, (void)agentId, (void)executorId, (void)status;
  }
  virtual void message(SchedulerDriver& driver, const std::string& agentId,
                       const std::string& data) {
    (void)driver, (void)agentId, (void)data;
  }
  // The master refused the framework (torn down, invalid FrameworkInfo, ...).
  // Fatal: the driver stops after this returns and join() reports the error.
  virtual void error(SchedulerDriver& driver, const std::string& message) {
    (void)driver, (void)message;
  }
  // The master has been silent for 3 heartbeat intervals. Outstanding offers
  // are void; the driver re-subscribes with the framework ID on its own.
  virtual void disconnected(SchedulerDriver& driver) { (void)driver; }
  // Subscribed again after disconnected(). Reconcile here: updates may have
  // been missed while disconnected.
  virtual void reconnected(SchedulerDriver& driver) { (void)driver; }
};

}  // namespace agora::sdk
