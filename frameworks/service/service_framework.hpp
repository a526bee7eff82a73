#pragma once
// The service framework's part on the toolkit's runtime: every app of the
// registry is a placement group named by its ID that wants `instances` tasks
// running. A task that ends is replaced; an app whose tasks keep failing
// waits between launches as its `backoff` says (initial, times factor after
// each failure, at most max), and starts over once an instance stayed up.
//
// Thread: the runtime's loop.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "frameworks/kit/runtime.hpp"
#include "frameworks/service/app_registry.hpp"

namespace agora::service {

class ServiceFramework final : public kit::Framework {
 public:
  // An instance up this long counts as started: its app's backoff resets.
  static constexpr double kStableSeconds = 30;

  // With the registry given (tests), or read from the runtime's store once
  // this instance leads. REQUIRES: registry and clock outlive the framework.
  ServiceFramework(AppRegistry& registry, Clock& clock) : registry_(&registry), clock_(clock) {}
  explicit ServiceFramework(Clock& clock) : clock_(clock) {}

  // Null until this instance leads (ready()).
  AppRegistry* registry() { return registry_; }

  std::vector<kit::TaskGroup> pending(const kit::TaskJournal& journal) override;
  TaskInfo task(const kit::PlannedTask& planned) override;
  void changed(kit::Runtime& runtime, const kit::TaskEntry& task) override;
  void ready(kit::Runtime& runtime) override;

  // Brings the running tasks to what the registry says after an apply or a
  // removal: kills what a removed app still runs and, of an app scaled
  // down, the newest instances beyond `instances`; wakes the runtime for
  // what is now missing. Returns the tasks it killed.
  std::vector<std::string> converge(kit::Runtime& runtime);

  // When the app may launch again (epoch when it may now).
  TimePoint backoffUntil(const std::string& appId) const;
  int failures(const std::string& appId) const;

 private:
  struct Delay {
    int failures = 0;
    TimePoint until{};
    EventLoop::TimerId wake = 0;
  };

  AppRegistry* registry_ = nullptr;
  std::optional<AppRegistry> owned_;
  Clock& clock_;
  kit::Runtime* runtime_ = nullptr;
  std::map<std::string, Delay> backoff_;      // by app
  std::map<std::string, TimePoint> running_;  // task -> when it was first seen running
  std::set<std::string> killing_;             // tasks converge() killed: no failure of theirs
};

}  // namespace agora::service
