#include "frameworks/service/service_framework.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace agora::service {

namespace {

Resources resourcesOf(const AppSpec& app) {
  Resources out;
  (void)out.setScalar("cpus", app.cpus);
  (void)out.setScalar("mem", app.memMb);
  if (app.diskMb > 0) (void)out.setScalar("disk", app.diskMb);
  return out;
}

}  // namespace

std::vector<kit::TaskGroup> ServiceFramework::pending(const kit::TaskJournal& journal) {
  std::map<std::string, int> active;
  for (const auto& [id, task] : journal.tasks()) {
    if (!isTerminal(task.state)) active[task.group]++;
  }
  std::vector<kit::TaskGroup> groups;
  TimePoint now = clock_.now();
  if (registry_ == nullptr) return {};
  for (const auto& [id, version] : registry_->apps()) {
    const AppSpec& app = version.spec;
    int wanted = static_cast<int>(app.instances) - active[id];
    if (wanted <= 0 || backoffUntil(id) > now) continue;
    std::vector<std::string> ports;
    for (const PortSpec& port : app.ports) ports.push_back(port.name);
    groups.push_back(kit::TaskGroup{id, wanted, resourcesOf(app), ports, app.constraints, {}});
  }
  return groups;
}

TaskInfo ServiceFramework::task(const kit::PlannedTask& planned) {
  const AppVersion& version = *registry_->current(planned.group);
  const AppSpec& app = version.spec;
  TaskInfo task;
  if (!app.cmd.empty()) {
    task.command.value = app.cmd;
  } else if (!app.args.empty()) {
    task.command.shell = false;
    task.command.arguments = app.args;
  }
  task.container.image = app.image;
  task.command.environment = app.env;
  task.command.user = app.user;
  task.killGracePeriodSec = toSeconds(app.killGrace);
  task.labels = app.labels;
  task.labels.emplace_back("agora.app", app.id);
  task.labels.emplace_back("agora.app_version", std::to_string(version.version));
  return task;
}

void ServiceFramework::changed(kit::Runtime& runtime, const kit::TaskEntry& task) {
  runtime_ = &runtime;
  TimePoint now = clock_.now();
  if (task.state == TaskState::RUNNING) {
    running_.emplace(task.taskId, now);
    return;
  }
  if (!isTerminal(task.state)) return;
  const AppVersion* version = registry_->current(task.group);
  auto ran = running_.find(task.taskId);
  bool stable = ran != running_.end() && toSeconds(now - ran->second) >= kStableSeconds;
  if (ran != running_.end()) running_.erase(ran);
  if (killing_.erase(task.taskId) != 0 || version == nullptr) return;  // ours to end
  Delay& backoff = backoff_[task.group];
  if (stable) backoff.failures = 0;
  // Lost with its agent is no fault of the app: replaced at once.
  if (task.state == TaskState::LOST || task.state == TaskState::GONE ||
      task.state == TaskState::UNREACHABLE || task.state == TaskState::GONE_BY_OPERATOR) {
    return runtime.wake();
  }
  const Backoff& policy = version->spec.backoff;
  double delay = toSeconds(policy.initial) * std::pow(policy.factor, backoff.failures);
  delay = std::min(delay, toSeconds(policy.max));
  backoff.failures++;
  backoff.until = now + seconds(delay);
  runtime.loop().cancelTimer(backoff.wake);
  backoff.wake = runtime.loop().addTimer(seconds(delay), [this, app = task.group] {
    backoff_[app].wake = 0;
    if (runtime_ != nullptr) runtime_->wake();
  });
}

void ServiceFramework::ready(kit::Runtime& runtime) {
  runtime_ = &runtime;
  // A standby that became the leader reads what the last leader wrote.
  auto fresh = AppRegistry::load(runtime.store());
  if (!fresh) return runtime.stop();  // the store is unreadable: leave it to another instance
  if (registry_ != nullptr) {
    *registry_ = std::move(*fresh);
  } else {
    owned_.emplace(std::move(*fresh));
    registry_ = &*owned_;
  }
  converge(runtime);
}

std::vector<std::string> ServiceFramework::converge(kit::Runtime& runtime) {
  runtime_ = &runtime;
  std::vector<std::string> killed;
  const kit::TaskJournal* journal = runtime.journal();
  if (journal == nullptr) return killed;
  std::map<std::string, std::vector<std::string>> active;  // app -> its live tasks
  for (const auto& [id, task] : journal->tasks()) {
    if (!isTerminal(task.state)) active[task.group].push_back(id);
  }
  for (auto& [app, tasks] : active) {
    const AppVersion* version = registry_->current(app);
    size_t keep = version == nullptr ? 0 : static_cast<size_t>(version->spec.instances);
    // Kept: the longest running; killed: the newest and those not running yet.
    auto startedAt = [&](const std::string& id) {
      auto it = running_.find(id);
      return it == running_.end() ? TimePoint::max() : it->second;
    };
    std::stable_sort(tasks.begin(), tasks.end(), [&](const std::string& a, const std::string& b) {
      return startedAt(a) < startedAt(b);
    });
    for (size_t i = keep; i < tasks.size(); ++i) {
      runtime.kill(tasks[i]);
      killing_.insert(tasks[i]);
      killed.push_back(tasks[i]);
    }
  }
  runtime.wake();
  return killed;
}

TimePoint ServiceFramework::backoffUntil(const std::string& appId) const {
  auto it = backoff_.find(appId);
  return it == backoff_.end() ? TimePoint{} : it->second.until;
}

int ServiceFramework::failures(const std::string& appId) const {
  auto it = backoff_.find(appId);
  return it == backoff_.end() ? 0 : it->second.failures;
}

}  // namespace agora::service
