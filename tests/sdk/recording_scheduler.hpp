#pragma once
// A Scheduler for tests: records every callback and lets a test react to
// offers and updates.

#include <functional>
#include <string>
#include <vector>

#include "frameworks/sdk/scheduler_driver.hpp"

namespace agora::sdk::testing {

class RecordingScheduler : public Scheduler {
 public:
  std::function<void(SchedulerDriver&, const std::vector<Offer>&)> onOffers;
  std::function<void(SchedulerDriver&, const TaskStatus&)> onUpdate;

  std::vector<std::string> frameworkIds;
  std::vector<Offer> offersSeen;
  std::vector<std::string> rescindedIds;
  std::vector<TaskStatus> updates;
  std::vector<std::string> errors;
  int disconnects = 0;
  int reconnects = 0;

  void subscribed(SchedulerDriver&, const std::string& frameworkId) override {
    frameworkIds.push_back(frameworkId);
  }
  void offers(SchedulerDriver& driver, const std::vector<Offer>& offers) override {
    offersSeen.insert(offersSeen.end(), offers.begin(), offers.end());
    if (onOffers) onOffers(driver, offers);
  }
  void rescinded(SchedulerDriver&, const std::string& offerId) override {
    rescindedIds.push_back(offerId);
  }
  void update(SchedulerDriver& driver, const TaskStatus& status) override {
    updates.push_back(status);
    if (onUpdate) onUpdate(driver, status);
  }
  void error(SchedulerDriver&, const std::string& message) override { errors.push_back(message); }
  void disconnected(SchedulerDriver&) override { disconnects++; }
  void reconnected(SchedulerDriver&) override { reconnects++; }

  std::vector<TaskState> states() const {
    std::vector<TaskState> out;
    for (const auto& u : updates) out.push_back(u.state);
    return out;
  }
};

}  // namespace agora::sdk::testing
