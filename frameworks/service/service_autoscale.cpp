// The service framework's autoscaling (service_framework.hpp,
// autoscaler.hpp): every `autoscale.interval` it reads the CPU use of each
// autoscaled app's instances from their agents, turns two samples of a task
// into a utilization, lets the Autoscaler decide and resizes the app in
// place (no new version; the steady step kills the least useful extras or
// launches the missing ones). No decision while a deployment runs.

#include <glog/logging.h>

#include "frameworks/service/service_framework.hpp"

namespace agora::service {

void ServiceFramework::autoscaleTick(kit::Runtime& runtime) {
  if (!usage_ || polling_ || registry_ == nullptr || runtime.journal() == nullptr) return;
  TimePoint now = clock_.now();
  std::vector<std::string> due;
  std::set<std::string> agents;
  for (const auto& [id, version] : registry_->apps()) {
    if (!version.spec.autoscale) continue;
    auto next = nextScale_.find(id);
    if (next == nextScale_.end()) {
      // A first look one interval in: its instances have samples by then.
      nextScale_[id] = now + version.spec.autoscale->interval;
      continue;
    }
    if (next->second > now) continue;
    next->second = now + version.spec.autoscale->interval;
    due.push_back(id);
    for (const kit::TaskEntry* entry : runtime.journal()->group(id)) {
      if (!isTerminal(entry->state) && !entry->placement.agentUrl.empty()) {
        agents.insert(entry->placement.agentUrl);
      }
    }
  }
  for (auto it = nextScale_.begin(); it != nextScale_.end();) {
    const AppVersion* v = registry_->current(it->first);
    if (v != nullptr && v->spec.autoscale) {
      ++it;
      continue;
    }
    autoscaler_.forget(it->first);
    scaleReasons_.erase(it->first);
    it = nextScale_.erase(it);
  }
  if (due.empty()) return;
  polling_ = true;
  usage_->poll(std::vector<std::string>(agents.begin(), agents.end()),
               lifetime_.wrap([this, due](UsageByTask usage) {
                 polling_ = false;
                 if (runtime_ != nullptr) autoscale(*runtime_, due, std::move(usage));
               }));
}

void ServiceFramework::autoscale(kit::Runtime& runtime, const std::vector<std::string>& apps,
                                 UsageByTask usage) {
  const kit::TaskJournal* journal = runtime.journal();
  if (journal == nullptr || registry_ == nullptr) return;
  for (const std::string& id : apps) {
    const AppVersion* version = registry_->current(id);
    if (version == nullptr || !version->spec.autoscale) continue;
    const AppSpec& app = version->spec;
    std::vector<std::optional<double>> utilization;
    for (const kit::TaskEntry* entry : journal->group(id)) {
      if (entry->state != TaskState::RUNNING) continue;
      auto sample = usage.find(entry->taskId);
      auto known = taskUsage_.find(entry->taskId);
      if (sample != usage.end()) {
        const CpuSample& now = sample->second;
        if (known == taskUsage_.end()) {
          known = taskUsage_.emplace(entry->taskId, TaskUsage{now, std::nullopt}).first;
        } else if (now.at > known->second.last.at) {
          // Two samples: CPU seconds per second over the cpus it asked for.
          double rate =
              (now.cpuSeconds - known->second.last.cpuSeconds) / (now.at - known->second.last.at);
          known->second = TaskUsage{now, std::max(0.0, rate) / std::max(app.cpus, 0.001)};
        }
      }
      utilization.push_back(known == taskUsage_.end() ? std::nullopt : known->second.utilization);
    }
    const Deployment* d = deployment(id);
    if (d != nullptr && d->running()) {
      scaleReasons_[id] = "waiting for deployment " + std::to_string(d->id) + " to end";
      continue;
    }
    ScaleDecision decision =
        autoscaler_.decide(id, *app.autoscale, app.instances, utilization, clock_.wallSeconds());
    scaleReasons_[id] = decision.why;
    if (decision.desired == app.instances) continue;
    auto resized = registry_->resize(id, decision.desired);
    if (!resized) {
      LOG(ERROR) << "cannot scale " << id << ": " << resized.error().message;
      continue;
    }
    LOG(INFO) << "autoscaled " << id << ": " << decision.why;
    if (runtime.api() != nullptr) {
      runtime.api()->events().publish(
          "autoscaled", {{"app", id}, {"instances", decision.desired}, {"why", decision.why}});
    }
    stepApp(runtime, id);
  }
  // Usage of tasks that are gone.
  std::erase_if(taskUsage_, [journal](const auto& item) {
    const kit::TaskEntry* entry = journal->find(item.first);
    return entry == nullptr || isTerminal(entry->state);
  });
}

std::string ServiceFramework::autoscaleReason(const std::string& appId) const {
  auto it = scaleReasons_.find(appId);
  return it == scaleReasons_.end() ? "" : it->second;
}

}  // namespace agora::service
