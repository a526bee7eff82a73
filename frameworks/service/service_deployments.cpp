// The service framework's deployments and the operations that start one
// (apply, promote, restart, scale, rollback): service_framework.hpp.
#include <glog/logging.h>

#include <algorithm>

#include "frameworks/service/service_framework.hpp"

namespace agora::service {

Status ServiceFramework::persist(kit::Runtime& runtime, const Deployment& deployment, bool now) {
  TimePoint& at = persistedAt_[deployment.app];
  if (!now && clock_.now() - at < seconds(kTickSeconds)) return {};
  std::string encoded = encodeDeployment(deployment);
  std::string& held = persisted_[deployment.app];
  if (held == encoded) return {};
  at = clock_.now();
  auto written = runtime.store().put(std::string(kDeploymentPrefix) + deployment.app, encoded);
  if (!written) return makeError(written.error());
  held = std::move(encoded);
  return {};
}

Status ServiceFramework::loadDeployments(kit::Store& store) {
  deployments_.clear();
  persisted_.clear();
  auto records = store.list(kDeploymentPrefix);
  if (!records) return makeError(records.error());
  for (const kit::Record& record : *records) {
    auto d = decodeDeployment(record.value);
    if (!d) return makeError(d.error().withContext(record.key));
    nextDeployment_ = std::max(nextDeployment_, d->id + 1);
    persisted_[d->app] = record.value;
    deployments_[d->app] = std::move(*d);
  }
  return {};
}

Status ServiceFramework::deploy(kit::Runtime& runtime, const std::vector<AppVersion>& written,
                                const std::map<std::string, int64_t>& previous, bool rollback) {
  runtime_ = &runtime;
  double now = clock_.wallSeconds();
  for (const AppVersion& version : written) {
    const std::string& app = version.spec.id;
    specs_[app].emplace(version.version, version);
    auto before = previous.find(app);
    Deployment d;
    d.id = nextDeployment_++;
    d.app = app;
    d.from = before == previous.end() ? 0 : before->second;
    d.to = version.version;
    d.rollback = rollback;
    bool sameLaunch = d.from > 0 && launchKey(app, d.from) == launchKey(app, d.to);
    d.canary = version.spec.canary.has_value() && d.from > 0 && !sameLaunch && !rollback;
    d.promoted = !d.canary;
    d.started = now;
    d.lastProgress = now;
    d.status = "starting";
    auto running = deployments_.find(app);
    if (running != deployments_.end() && running->second.running()) {
      running->second.outcome = Deployment::Outcome::kSuperseded;
      running->second.status = "superseded by deployment " + std::to_string(d.id);
      running->second.ended = now;
    }
    deployments_[app] = d;
    if (Status s = persist(runtime, d); !s) return s;
    LOG(INFO) << "deployment " << d.id << " of " << app << ": version " << d.from << " -> " << d.to
              << (d.rollback ? " (rollback)" : "") << (d.canary ? " with canaries" : "");
  }
  tick(runtime);
  return {};
}

void ServiceFramework::removed(kit::Runtime& runtime, const std::string& appId) {
  deployments_.erase(appId);
  persisted_.erase(appId);
  (void)runtime.store().erase(std::string(kDeploymentPrefix) + appId);
  specs_.erase(appId);
  keys_.erase(appId);
  tick(runtime);
}

Status ServiceFramework::promote(kit::Runtime& runtime, const std::string& appId) {
  auto it = deployments_.find(appId);
  if (it == deployments_.end() || !it->second.running()) {
    return makeError(ErrorCode::kFailedPrecondition, appId + " has no deployment running");
  }
  if (Status s = service::promote(it->second); !s) return s;
  stepApp(runtime, appId);
  return persist(runtime, it->second);
}

Result<AppVersion> ServiceFramework::restart(kit::Runtime& runtime, const std::string& appId) {
  const AppVersion* current = registry_->current(appId);
  if (current == nullptr) return makeError(ErrorCode::kNotFound, "no app " + appId);
  int64_t from = current->version;
  auto written = registry_->restart(appId, clock_.wallSeconds());
  if (!written) return makeError(written.error());
  if (Status s = deploy(runtime, {*written}, {{appId, from}}); !s) return makeError(s.error());
  return *written;
}

Result<AppVersion> ServiceFramework::scale(kit::Runtime& runtime, const std::string& appId,
                                           int64_t instances) {
  const AppVersion* current = registry_->current(appId);
  if (current == nullptr) return makeError(ErrorCode::kNotFound, "no app " + appId);
  if (instances < 0 || instances > kMaxInstances) {
    return makeError(ErrorCode::kInvalidArgument,
                     "instances must be in [0, " + std::to_string(kMaxInstances) + "]");
  }
  AppSpec spec = current->spec;
  spec.instances = instances;
  if (spec.canary && spec.canary->instances > std::max<int64_t>(instances, 1)) {
    spec.canary->instances = std::max<int64_t>(instances, 1);
  }
  int64_t from = current->version;
  auto written = registry_->apply({spec}, clock_.wallSeconds());
  if (!written) return makeError(written.error());
  if (written->empty()) return *current;
  if (Status s = deploy(runtime, *written, {{appId, from}}); !s) return makeError(s.error());
  return written->front();
}

Result<AppVersion> ServiceFramework::rollback(kit::Runtime& runtime, const std::string& appId,
                                              std::optional<int64_t> to) {
  const AppVersion* current = registry_->current(appId);
  if (current == nullptr) return makeError(ErrorCode::kNotFound, "no app " + appId);
  auto history = registry_->history(appId);
  if (!history) return makeError(history.error());
  const AppVersion* chosen = nullptr;
  for (const AppVersion& v : *history) {
    if (to ? v.version == *to : v.version < current->version) chosen = &v;
  }
  if (chosen == nullptr || chosen->version == current->version) {
    return makeError(ErrorCode::kNotFound,
                     to ? appId + " has no version " + std::to_string(*to) + " to roll back to"
                        : appId + " has no earlier version to roll back to");
  }
  int64_t from = current->version;
  auto written = registry_->revert(*chosen, clock_.wallSeconds());
  if (!written) return makeError(written.error());
  if (Status s = deploy(runtime, {*written}, {{appId, from}}, /*rollback=*/true); !s) {
    return makeError(s.error());
  }
  return *written;
}

}  // namespace agora::service
