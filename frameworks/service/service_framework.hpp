#pragma once
// The service framework's part on the toolkit's runtime: every app of the
// registry is a placement group named by its ID; each task records the app
// version it runs (TaskEntry::data).
//
// - Instances: an app wants `instances` of them live. One that ends is
//   replaced; an app whose instances keep failing waits between launches as
//   its `backoff` says (initial, times factor after each failure, at most
//   max) and starts over once an instance stayed up kStableSeconds. One lost
//   with its agent is replaced at once. One whose health check fails
//   (executor verdict, TaskStatus.healthy) is killed and replaced, counted
//   as a failure.
// - Deployments (deployment.hpp): every applied version starts one; the
//   framework steps it on each task change and every second, kills and
//   launches what it says, persists it in the store (so a restarted or new
//   leader resumes it), and when it must be rolled back applies the previous
//   version's spec again as a new version, in a rollback deployment.
//   Instances whose version launches the same way as the target (only
//   instances, upgrade, canary, backoff... changed) count as the target's:
//   scaling restarts nothing.
// - Dependencies: an app launches nothing until every app it depends on has
//   all its instances healthy and ready and no deployment running.
//
// Thread: the runtime's loop.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/lifetime.hpp"
#include "frameworks/kit/runtime.hpp"
#include "frameworks/service/app_registry.hpp"
#include "frameworks/service/autoscaler.hpp"
#include "frameworks/service/deployment.hpp"
#include "frameworks/service/usage_source.hpp"

namespace agora::service {

class ServiceFramework final : public kit::Framework {
 public:
  // An instance up this long counts as started: its app's backoff resets.
  static constexpr double kStableSeconds = 30;
  // Deployments are stepped this often besides on every task change.
  static constexpr double kTickSeconds = 1;
  static constexpr const char* kDeploymentPrefix = "deployments";

  // With the registry given (tests), or read from the runtime's store once
  // this instance leads. REQUIRES: registry and clock outlive the framework.
  ServiceFramework(AppRegistry& registry, Clock& clock) : registry_(&registry), clock_(clock) {}
  explicit ServiceFramework(Clock& clock) : clock_(clock) {}
  ~ServiceFramework() override { lifetime_.invalidate(); }

  // Null until this instance leads (ready()).
  AppRegistry* registry() { return registry_; }

  std::vector<kit::TaskGroup> pending(const kit::TaskJournal& journal) override;
  TaskInfo task(const kit::PlannedTask& planned) override;
  void changed(kit::Runtime& runtime, const kit::TaskEntry& task) override;
  void ready(kit::Runtime& runtime) override;

  // The registry wrote `written` (an apply; `previous`: each app's version
  // before, absent for a new app): starts a deployment for each, superseding
  // any running one, and persists it before returning. `rollback`: the
  // deployments are rollbacks (they do not roll back themselves).
  Status deploy(kit::Runtime& runtime, const std::vector<AppVersion>& written,
                const std::map<std::string, int64_t>& previous, bool rollback = false);
  // The app was removed from the registry: its instances are killed.
  void removed(kit::Runtime& runtime, const std::string& appId);
  // Promotes the canaries of the app's running deployment.
  Status promote(kit::Runtime& runtime, const std::string& appId);
  // Applies version `to` of the app again (default: the one before the
  // current), as a new version, in a rollback deployment.
  Result<AppVersion> rollback(kit::Runtime& runtime, const std::string& appId,
                              std::optional<int64_t> to);
  // A new version that replaces every instance (same spec, one more restart).
  Result<AppVersion> restart(kit::Runtime& runtime, const std::string& appId);
  // A new version with `instances` instances; existing ones are kept.
  Result<AppVersion> scale(kit::Runtime& runtime, const std::string& appId, int64_t instances);
  // Steps every app now: deployments, extra instances, removed apps; asks
  // for the usage of autoscaled apps whose interval elapsed.
  void tick(kit::Runtime& runtime);
  // Where autoscaling reads CPU use (service_autoscale.cpp); without one,
  // apps with `autoscale:` keep their count.
  void setUsageSource(std::unique_ptr<UsageSource> source) { usage_ = std::move(source); }
  // The autoscaler's last word on the app ("" if it has none).
  std::string autoscaleReason(const std::string& appId) const;

  // The app's latest deployment (running or ended); null if none.
  const Deployment* deployment(const std::string& appId) const;
  const std::map<std::string, Deployment>& deployments() const { return deployments_; }
  // The app's live instances as deployments see them.
  std::vector<Instance> instances(const kit::TaskJournal& journal, const std::string& appId);
  // Why the app launches nothing now although it misses instances ("" if
  // it does not wait for the framework's own reasons: backoff, dependencies).
  std::string holdReason(const std::string& appId) const;

  // The app's status as GET /v1/apps[/ID?tasks=false] answer it (id,
  // version, instances, running, counts, deployment, held, spec): published
  // by the loop after each step, read by any thread without waiting for the
  // loop. Null for an unknown app.
  std::shared_ptr<const nlohmann::json> status(const std::string& appId) const;
  std::vector<std::shared_ptr<const nlohmann::json>> statuses() const;
  // Leading, with the registry read (any thread).
  bool serving() const { return serving_.load(); }

  // When the app may launch again (epoch when it may now).
  TimePoint backoffUntil(const std::string& appId) const;
  int failures(const std::string& appId) const;

 private:
  struct Delay {
    int failures = 0;
    TimePoint until{};
    EventLoop::TimerId wake = 0;
  };
  // The spec of a version of an app (history read once), null if not kept.
  const AppSpec* versionSpec(const std::string& appId, int64_t version);
  // What in a spec decides how an instance runs (not instances, upgrade...).
  const std::string& launchKey(const std::string& appId, int64_t version);
  bool isCurrent(const std::string& appId, const std::string& data);
  // What decides whether an instance of a version is OK.
  struct Checks {
    bool current = false;
    std::optional<bool> health;  // unset: the version is not kept (its verdict decides)
    bool readiness = false;
    bool ok(TaskState state, std::optional<bool> healthy, std::optional<bool> ready) const;
  };
  // The checks of the version an instance runs (TaskEntry::data), looked up
  // once per call in `known`.
  const Checks& checksOf(const std::string& appId, const std::string& data,
                         std::unordered_map<std::string, Checks>& known);
  // The app's instances counted from the journal's tally: as cheap as the
  // app has versions and kills in flight, not instances.
  InstanceCounts countsOf(const kit::TaskJournal& journal, const std::string& appId);
  // How many instances the app launches now (no side effects).
  int wanted(const kit::TaskJournal& journal, const std::string& appId, const AppVersion& target);
  // The first secret the app names that is not set; "" when all are.
  std::string missingSecret(const AppSpec& app) const;
  bool dependenciesReady(const kit::TaskJournal& journal, const AppSpec& app);
  // Steps one app (kills what its deployment or scale says) and wakes the
  // runtime when it newly misses instances.
  void stepApp(kit::Runtime& runtime, const std::string& appId);
  void killInstance(kit::Runtime& runtime, const std::string& taskId, const std::string& why);
  // Steps the apps that changed once the updates at hand are applied (a
  // burst of updates costs one step), and forgets the ended tasks.
  void stepSoon(kit::Runtime& runtime, const std::string& appId);
  void failed(kit::Runtime& runtime, const kit::TaskEntry& task, const std::string& why);
  // Writes the deployment when it changed: at once when `now` (a decision:
  // outcome, promotion, failures), else at most once per tick.
  Status persist(kit::Runtime& runtime, const Deployment& deployment, bool now = true);
  void publish(kit::Runtime& runtime, const std::string& appId);
  // An `app` event (status without spec or tasks) when it changed.
  void publishEvent(kit::Runtime& runtime, const std::string& appId, const nlohmann::json* status);
  Status loadDeployments(kit::Store& store);
  // Autoscaling (service_autoscale.cpp): polls usage for the apps due,
  // then decides each and resizes it in the registry.
  void autoscaleTick(kit::Runtime& runtime);
  void autoscale(kit::Runtime& runtime, const std::vector<std::string>& apps, UsageByTask usage);

  AppRegistry* registry_ = nullptr;
  std::optional<AppRegistry> owned_;
  Clock& clock_;
  kit::Runtime* runtime_ = nullptr;
  std::optional<EventLoop::TimerId> ticker_;
  std::map<std::string, Delay> backoff_;                  // by app
  std::unordered_map<std::string, TimePoint> running_;    // task -> first seen running
  std::unordered_map<std::string, std::string> killing_;  // tasks we killed -> why (no failure)
  std::map<std::string, std::set<std::string>> killingByApp_;  // the same, by app
  std::map<std::string, std::set<std::string>> unreachable_;   // unreachable tasks, by app
  std::map<std::string, Deployment> deployments_;              // by app: the latest
  std::map<std::string, std::string> persisted_;               // by app: what the store holds
  std::map<std::string, std::string> holds_;                   // by app: why it launches nothing
  std::map<std::string, int64_t> missing_;  // by app: launches wanted at the last step
  uint64_t nextDeployment_ = 1;
  std::set<std::string> dirty_;        // apps to step soon
  std::vector<std::string> toForget_;  // ended tasks, handled
  bool stepPosted_ = false;
  LifetimeGuard lifetime_;  // for timers on the runtime's loop, which may outlive us
  mutable std::mutex statusMutex_;
  std::map<std::string, std::shared_ptr<const nlohmann::json>> statuses_;  // by app
  std::atomic<bool> serving_{false};
  std::map<std::string, std::map<int64_t, AppVersion>> specs_;  // by app and version
  std::map<std::string, std::map<int64_t, std::string>> keys_;
  // By app: whether each version runs as the current one does (launchKey
  // equal), for the current version `currentOf_` holds.
  std::map<std::string, std::map<int64_t, bool>> isCurrent_;
  std::map<std::string, int64_t> currentOf_;
  std::map<std::string, TimePoint> persistedAt_;  // by app: the deployment's last write
  // Autoscaling: the source, the rule's state, when each app is next
  // decided, each task's last CPU sample and utilization, each app's last
  // reason, whether a read of the agents is under way.
  std::unique_ptr<UsageSource> usage_;
  Autoscaler autoscaler_;
  std::map<std::string, TimePoint> nextScale_;
  struct TaskUsage {
    CpuSample last;
    std::optional<double> utilization;  // from the last two samples
  };
  std::unordered_map<std::string, TaskUsage> taskUsage_;
  std::map<std::string, std::string> scaleReasons_;
  bool polling_ = false;
  std::map<std::string, std::string> lastEvents_;  // by app: the last `app` event sent
};

}  // namespace agora::service
