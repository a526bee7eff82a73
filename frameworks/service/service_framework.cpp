#include "frameworks/service/service_framework.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "common/duration.hpp"
#include "frameworks/kit/offer_match.hpp"
#include "frameworks/service/app_json.hpp"

namespace agora::service {

namespace {

Resources resourcesOf(const AppSpec& app) {
  Resources out;
  (void)out.setScalar("cpus", app.cpus);
  (void)out.setScalar("mem", app.memMb);
  if (app.diskMb > 0) (void)out.setScalar("disk", app.diskMb);
  return out;
}

bool lostWithItsAgent(TaskState state) {
  return state == TaskState::LOST || state == TaskState::GONE || state == TaskState::UNREACHABLE ||
         state == TaskState::GONE_BY_OPERATOR;
}

int64_t versionOf(const std::string& data) {
  try {
    return data.empty() ? 0 : std::stoll(data);
  } catch (...) {
    return 0;
  }
}

// The check an app's health check or readiness becomes for one task:
// named ports resolved to the host ports the task got.
CheckInfo checkFor(const HealthCheck& check, const KeyValues& environment) {
  CheckInfo out;
  out.kind = check.kind == HealthCheck::Kind::kHttp  ? CheckKind::HTTP
             : check.kind == HealthCheck::Kind::kTcp ? CheckKind::TCP
                                                     : CheckKind::COMMAND;
  if (const std::string* port = findValue(environment, kit::portVariable(check.port))) {
    out.port = static_cast<uint32_t>(std::stoul(*port));
  }
  out.path = check.path;
  out.command.value = check.command;
  out.intervalSec = toSeconds(check.interval);
  out.timeoutSec = toSeconds(check.timeout);
  out.gracePeriodSec = toSeconds(check.grace);
  out.maxFailures = static_cast<uint32_t>(check.maxFailures);
  return out;
}

}  // namespace

// --- Versions ---

const AppSpec* ServiceFramework::versionSpec(const std::string& appId, int64_t version) {
  auto& specs = specs_[appId];
  if (auto it = specs.find(version); it != specs.end()) return &it->second.spec;
  if (registry_ == nullptr) return nullptr;
  const AppVersion* current = registry_->current(appId);
  if (current != nullptr && current->version == version) {
    return &specs.emplace(version, *current).first->second.spec;
  }
  auto history = registry_->history(appId);
  if (!history) return nullptr;
  for (const AppVersion& v : *history) specs.emplace(v.version, v);
  auto it = specs.find(version);
  return it == specs.end() ? nullptr : &it->second.spec;
}

const std::string& ServiceFramework::launchKey(const std::string& appId, int64_t version) {
  auto& keys = keys_[appId];
  if (auto it = keys.find(version); it != keys.end()) return it->second;
  const AppSpec* spec = versionSpec(appId, version);
  std::string key;
  if (spec != nullptr) {
    nlohmann::json j = appJson(*spec);
    for (const char* field : {"id", "instances", "upgrade", "canary", "dependencies", "backoff",
                              "autoscale", "environments", "unreachable_grace"}) {
      j.erase(field);
    }
    key = j.dump() + "#" + std::to_string(specs_[appId].at(version).restarts);
  }
  return keys.emplace(version, std::move(key)).first->second;
}

bool ServiceFramework::isCurrent(const std::string& appId, const std::string& data) {
  const AppVersion* target = registry_ == nullptr ? nullptr : registry_->current(appId);
  if (target == nullptr) return false;
  int64_t version = versionOf(data);
  if (version == target->version) return true;
  auto& known = isCurrent_[appId];
  auto& of = currentOf_[appId];
  if (of != target->version) {
    known.clear();
    of = target->version;
  }
  if (auto it = known.find(version); it != known.end()) return it->second;
  const std::string& key = launchKey(appId, version);
  return known[version] = !key.empty() && key == launchKey(appId, target->version);
}

bool ServiceFramework::Checks::ok(TaskState state, std::optional<bool> healthy,
                                  std::optional<bool> ready) const {
  if (state != TaskState::RUNNING || healthy == false || ready == false) return false;
  if (health && *health && healthy != true) return false;
  return !readiness || ready == true;
}

const ServiceFramework::Checks& ServiceFramework::checksOf(
    const std::string& appId, const std::string& data,
    std::unordered_map<std::string, Checks>& known) {
  auto it = known.find(data);
  if (it != known.end()) return it->second;
  const AppSpec* spec = versionSpec(appId, versionOf(data));
  Checks checks{
      isCurrent(appId, data),
      spec == nullptr ? std::optional<bool>() : std::optional<bool>(!spec->healthChecks.empty()),
      spec != nullptr && spec->readiness.has_value()};
  return known.emplace(data, checks).first->second;
}

InstanceCounts ServiceFramework::countsOf(const kit::TaskJournal& journal,
                                          const std::string& appId) {
  std::unordered_map<std::string, Checks> versions;
  InstanceCounts counts;
  auto add = [&](bool current, bool live, bool ok, int64_t n) {
    if (!live) {
      counts.dying += n;
      if (!current) counts.oldDying += n;
    } else if (current) {
      counts.newLive += n;
      counts.newOk += ok ? n : 0;
    } else {
      counts.oldLive += n;
      counts.oldOk += ok ? n : 0;
    }
  };
  for (const auto& [kind, n] : journal.tally(appId)) {
    if (isTerminal(kind.state)) continue;
    const Checks& checks = checksOf(appId, kind.data, versions);
    bool live = kind.state != TaskState::KILLING;
    add(checks.current, live, live && checks.ok(kind.state, kind.healthy, kind.ready), n);
    if (live && kind.state == TaskState::RUNNING) counts.running += n;
  }
  // What we killed that has not ended yet counts as dying; an unreachable
  // instance past its grace not at all.
  const AppVersion* target = registry_ == nullptr ? nullptr : registry_->current(appId);
  double grace = target == nullptr ? 0 : toSeconds(target->spec.unreachableGrace);
  double now = clock_.wallSeconds();
  auto exception = [&](const std::string& id, bool killed) {
    const kit::TaskEntry* entry = journal.find(id);
    if (entry == nullptr || entry->group != appId || isTerminal(entry->state)) return;
    if (entry->state == TaskState::KILLING) return;
    if (!killed && (entry->state != TaskState::UNREACHABLE || now - entry->updated < grace)) return;
    const Checks& checks = checksOf(appId, entry->data, versions);
    add(checks.current, true, checks.ok(entry->state, entry->healthy, entry->ready), -1);
    if (entry->state == TaskState::RUNNING) --counts.running;
    if (killed) add(checks.current, false, false, 1);
  };
  if (auto it = killingByApp_.find(appId); it != killingByApp_.end()) {
    for (const std::string& id : it->second) exception(id, true);
  }
  if (auto it = unreachable_.find(appId); it != unreachable_.end()) {
    for (const std::string& id : it->second) {
      if (killing_.count(id) == 0) exception(id, false);
    }
  }
  return counts;
}

std::vector<Instance> ServiceFramework::instances(const kit::TaskJournal& journal,
                                                  const std::string& appId) {
  std::unordered_map<std::string, Checks> versions;  // by TaskEntry::data
  std::vector<Instance> out;
  const AppVersion* target = registry_ == nullptr ? nullptr : registry_->current(appId);
  double grace = target == nullptr ? 0 : toSeconds(target->spec.unreachableGrace);
  const double wallNow = clock_.wallSeconds();
  const TimePoint now = clock_.now();
  for (const kit::TaskEntry* task : journal.group(appId)) {
    const kit::TaskEntry& entry = *task;
    const std::string& id = entry.taskId;
    if (isTerminal(entry.state)) continue;
    // Unreachable past the grace: given up on (replaced); back, it is an
    // extra instance and one of the two goes.
    if (entry.state == TaskState::UNREACHABLE && wallNow - entry.updated >= grace) {
      continue;
    }
    bool live = killing_.count(id) == 0 && entry.state != TaskState::KILLING;
    auto ran = running_.find(id);
    double started = ran == running_.end() ? wallNow : wallNow - toSeconds(now - ran->second);
    const Checks& checks = checksOf(appId, entry.data, versions);
    bool ok = live && checks.ok(entry.state, entry.healthy, entry.ready);
    out.push_back({id, checks.current, live, ok, started});
  }
  return out;
}

// --- Launching ---

bool ServiceFramework::dependenciesReady(const kit::TaskJournal& journal, const AppSpec& app) {
  for (const std::string& dependency : app.dependencies) {
    const AppVersion* version = registry_->current(dependency);
    if (version == nullptr) continue;  // removed since: nothing to wait for
    const Deployment* d = deployment(dependency);
    if (d != nullptr && d->running()) {
      holds_[app.id] = "waiting for " + dependency + " to finish deploying";
      return false;
    }
    InstanceCounts counts = countsOf(journal, dependency);
    int64_t ok = counts.newOk + counts.oldOk;
    if (ok < version->spec.instances) {
      holds_[app.id] = "waiting for " + dependency + " to be healthy (" + std::to_string(ok) +
                       " of " + std::to_string(version->spec.instances) + ")";
      return false;
    }
  }
  return true;
}

int ServiceFramework::wanted(const kit::TaskJournal& journal, const std::string& appId,
                             const AppVersion& target) {
  InstanceCounts counts = countsOf(journal, appId);
  auto it = deployments_.find(appId);
  if (it != deployments_.end() && it->second.running()) {
    return launchesNow(it->second, target.spec, counts);
  }
  int64_t live = counts.newLive + counts.oldLive;
  return static_cast<int>(std::max<int64_t>(0, target.spec.instances - live));
}

std::vector<kit::TaskGroup> ServiceFramework::pending(const kit::TaskJournal& journal) {
  std::vector<kit::TaskGroup> groups;
  if (registry_ == nullptr) return groups;
  TimePoint now = clock_.now();
  holds_.clear();
  for (const auto& [id, version] : registry_->apps()) {
    const AppSpec& app = version.spec;
    int launch = wanted(journal, id, version);
    if (launch <= 0) continue;
    if (backoffUntil(id) > now) {
      holds_[id] = "backing off after " + std::to_string(failures(id)) + " failures for " +
                   formatDuration(backoffUntil(id) - now);
      continue;
    }
    if (!dependenciesReady(journal, app)) continue;
    if (std::string missing = missingSecret(app); !missing.empty()) {
      holds_[id] = "secret " + missing + " is not set (agora secret set " + missing + ")";
      continue;
    }
    std::vector<std::string> ports;
    for (const PortSpec& port : app.ports) ports.push_back(port.name);
    groups.push_back(kit::TaskGroup{
        id, launch, resourcesOf(app), ports, app.constraints, {}, std::to_string(version.version)});
  }
  return groups;
}

std::string ServiceFramework::missingSecret(const AppSpec& app) const {
  kit::SecretStore* secrets = runtime_ != nullptr ? runtime_->secrets() : nullptr;
  for (const SecretRef& ref : app.secrets) {
    if (secrets == nullptr || secrets->find(ref.name) == nullptr) return ref.name;
  }
  return "";
}

TaskInfo ServiceFramework::task(const kit::PlannedTask& planned) {
  int64_t version = versionOf(planned.data);
  const AppSpec* found = versionSpec(planned.group, version);
  const AppSpec& app = found != nullptr ? *found : registry_->current(planned.group)->spec;
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
  task.labels.emplace_back("agora.app_version", std::to_string(version));
  // pending() held the app while one was missing, in this same turn.
  kit::SecretStore* secrets = runtime_ != nullptr ? runtime_->secrets() : nullptr;
  for (const SecretRef& ref : app.secrets) {
    const std::string* value = secrets != nullptr ? secrets->find(ref.name) : nullptr;
    task.secrets.push_back(TaskSecret{ref.name, value != nullptr ? *value : "", ref.env, ref.file});
  }
  if (!app.healthChecks.empty()) {
    task.healthCheck = checkFor(app.healthChecks.front(), planned.environment);
  }
  if (app.readiness) task.readinessCheck = checkFor(*app.readiness, planned.environment);
  return task;
}

// --- Changes ---

void ServiceFramework::killInstance(kit::Runtime& runtime, const std::string& taskId,
                                    const std::string& why) {
  if (!killing_.emplace(taskId, why).second) return;
  if (const kit::TaskJournal* journal = runtime.journal()) {
    if (const kit::TaskEntry* entry = journal->find(taskId))
      killingByApp_[entry->group].insert(taskId);
  }
  LOG(INFO) << "killing " << taskId << ": " << why;
  runtime.kill(taskId);
}

void ServiceFramework::failed(kit::Runtime& runtime, const kit::TaskEntry& task,
                              const std::string& why) {
  const AppVersion* version = registry_->current(task.group);
  if (version == nullptr) return;
  auto d = deployments_.find(task.group);
  if (d != deployments_.end() && d->second.running() && isCurrent(task.group, task.data)) {
    recordFailure(d->second, why);
  }
  Delay& backoff = backoff_[task.group];
  const Backoff& policy = version->spec.backoff;
  double delay = toSeconds(policy.initial) * std::pow(policy.factor, backoff.failures);
  delay = std::min(delay, toSeconds(policy.max));
  backoff.failures++;
  backoff.until = clock_.now() + seconds(delay);
  runtime.loop().cancelTimer(backoff.wake);
  backoff.wake = runtime.loop().addTimer(seconds(delay), lifetime_.wrap([this, app = task.group] {
    backoff_[app].wake = 0;
    if (runtime_ != nullptr) runtime_->wake();
  }));
}

void ServiceFramework::changed(kit::Runtime& runtime, const kit::TaskEntry& task) {
  runtime_ = &runtime;
  if (registry_ == nullptr) return;
  TimePoint now = clock_.now();
  if (task.state == TaskState::UNREACHABLE) {
    unreachable_[task.group].insert(task.taskId);
  } else if (auto u = unreachable_.find(task.group); u != unreachable_.end()) {
    u->second.erase(task.taskId);
  }
  if (task.state == TaskState::RUNNING) {
    running_.emplace(task.taskId, now);
    if (task.healthy == false && killing_.count(task.taskId) == 0) {
      std::string why = "health check failed: " + task.message;
      failed(runtime, task, why);
      killInstance(runtime, task.taskId, why);
    }
  } else if (isTerminal(task.state)) {
    auto ran = running_.find(task.taskId);
    bool stable = ran != running_.end() && toSeconds(now - ran->second) >= kStableSeconds;
    if (ran != running_.end()) running_.erase(ran);
    bool ours = killing_.erase(task.taskId) != 0;
    if (auto k = killingByApp_.find(task.group); k != killingByApp_.end())
      k->second.erase(task.taskId);
    if (stable) backoff_[task.group].failures = 0;
    if (!ours && !lostWithItsAgent(task.state)) {
      failed(runtime, task, std::string(taskStateName(task.state)) + ": " + task.message);
    }
    toForget_.push_back(task.taskId);
  }
  stepSoon(runtime, task.group);
}

void ServiceFramework::stepSoon(kit::Runtime& runtime, const std::string& appId) {
  dirty_.insert(appId);
  if (stepPosted_) return;
  stepPosted_ = true;
  runtime.loop().post(lifetime_.wrap([this, &runtime] {
    stepPosted_ = false;
    for (const std::string& id : toForget_) {
      if (Status s = runtime.forget(id); !s)
        LOG(WARNING) << "cannot forget " << id << ": " << s.error().message;
    }
    toForget_.clear();
    std::set<std::string> apps;
    apps.swap(dirty_);
    for (const std::string& app : apps) stepApp(runtime, app);
  }));
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
  specs_.clear();
  keys_.clear();
  if (Status s = loadDeployments(runtime.store()); !s) {
    LOG(ERROR) << "cannot read the deployments: " << s.error().message;
    return runtime.stop();
  }
  if (!ticker_) {
    ticker_ = runtime.loop().addPeriodic(seconds(kTickSeconds), lifetime_.wrap([this] {
      if (runtime_ != nullptr && runtime_->journal() != nullptr) tick(*runtime_);
    }));
  }
  tick(runtime);
  serving_ = true;
}

void ServiceFramework::stepApp(kit::Runtime& runtime, const std::string& appId) {
  const kit::TaskJournal* journal = runtime.journal();
  if (journal == nullptr || registry_ == nullptr) return;
  // Whatever this step decides, readers see it once it returns.
  struct Publish {
    ServiceFramework* self;
    kit::Runtime& runtime;
    const std::string& appId;
    ~Publish() { self->publish(runtime, appId); }
  } publishOnReturn{this, runtime, appId};
  const AppVersion* target = registry_->current(appId);
  std::vector<Instance> all = instances(*journal, appId);
  const int64_t before = missing_[appId];
  // Offers declined while nothing was missing may be filtered: revive.
  auto missingNow = [&](int64_t n) {
    missing_[appId] = n;
    if (n > 0 && before == 0) runtime.wake();
  };
  if (target == nullptr) {  // removed: nothing of it stays
    missing_.erase(appId);
    for (const Instance& i : all) {
      if (i.live) killInstance(runtime, i.taskId, "its app was removed");
    }
    return;
  }
  auto it = deployments_.find(appId);
  if (it == deployments_.end() || !it->second.running()) {
    // Steady: extras beyond `instances` go, the least useful first.
    std::vector<const Instance*> live;
    for (const Instance& i : all) {
      if (i.live) live.push_back(&i);
    }
    std::stable_sort(live.begin(), live.end(), [](const Instance* a, const Instance* b) {
      if (a->ok != b->ok) return !a->ok;
      return a->startedAt > b->startedAt;
    });
    for (size_t k = 0; k + target->spec.instances < live.size(); ++k) {
      killInstance(runtime, live[k]->taskId, "scaled down");
    }
    missingNow(std::max<int64_t>(0, target->spec.instances - static_cast<int64_t>(live.size())));
    return;
  }
  Deployment& d = it->second;
  auto decided = [](const Deployment& x) {
    return std::make_tuple(x.outcome, x.promoted, x.failures, x.canaryOkSince);
  };
  auto decidedBefore = decided(d);
  DeploymentStep step = advance(d, target->spec, all, clock_.wallSeconds());
  for (const std::string& id : step.kill) {
    killInstance(runtime, id, "replaced by deployment " + std::to_string(d.id));
  }
  missingNow(step.launch);
  Deployment ended = d;
  // Decisions are written at once; progress (counts, status) once per tick:
  // a restarted leader recomputes it from the instances anyway.
  if (Status s = persist(runtime, d, decided(d) != decidedBefore); !s) {
    LOG(ERROR) << "cannot record deployment " << d.id << ": " << s.error().message;
  }
  if (ended.running()) return;
  runtime.wake();  // apps that depend on this one may go now
  LOG(INFO) << "deployment " << ended.id << " of " << appId << " " << outcomeName(ended.outcome)
            << ": " << ended.status;
  if (ended.outcome == Deployment::Outcome::kRolledBack) {
    auto back = rollback(runtime, appId, ended.from);
    if (!back) LOG(ERROR) << "cannot roll " << appId << " back: " << back.error().message;
  }
}

void ServiceFramework::publish(kit::Runtime& runtime, const std::string& appId) {
  const AppVersion* version = registry_ == nullptr ? nullptr : registry_->current(appId);
  std::shared_ptr<const nlohmann::json> status;
  if (version != nullptr && runtime.journal() != nullptr) {
    InstanceCounts c = countsOf(*runtime.journal(), appId);
    const Deployment* d = deployment(appId);
    std::string hold = holdReason(appId);
    status = std::make_shared<const nlohmann::json>(nlohmann::json{
        {"id", appId},
        {"version", version->version},
        {"instances", version->spec.instances},
        {"running", c.running},
        {"counts", {{"new", c.newLive}, {"healthy", c.newOk}, {"old", c.oldLive + c.oldDying}}},
        {"deployment", d != nullptr ? deploymentJson(*d) : nlohmann::json()},
        {"held", hold.empty() ? nlohmann::json() : nlohmann::json(hold)},
        {"autoscale",
         version->spec.autoscale ? nlohmann::json(autoscaleReason(appId)) : nlohmann::json()},
        {"spec", appJson(version->spec)}});
  }
  publishEvent(runtime, appId, status.get());
  std::lock_guard<std::mutex> lock(statusMutex_);
  if (status) {
    statuses_[appId] = std::move(status);
  } else {
    statuses_.erase(appId);
  }
}

void ServiceFramework::publishEvent(kit::Runtime& runtime, const std::string& appId,
                                    const nlohmann::json* status) {
  if (runtime.api() == nullptr) return;
  nlohmann::json event = {{"id", appId}, {"removed", status == nullptr}};
  if (status != nullptr) {
    for (const char* field : {"version", "instances", "running", "counts", "held", "autoscale"}) {
      event[field] = (*status)[field];
    }
    const nlohmann::json& d = (*status)["deployment"];
    event["deployment"] =
        d.is_object()
            ? nlohmann::json{{"id", d["id"]}, {"outcome", d["outcome"]}, {"status", d["status"]}}
            : nlohmann::json();
  }
  std::string text = event.dump();
  std::string& last = lastEvents_[appId];
  if (text == last) return;
  last = std::move(text);
  runtime.api()->events().publish("app", std::move(event));
}

std::shared_ptr<const nlohmann::json> ServiceFramework::status(const std::string& appId) const {
  std::lock_guard<std::mutex> lock(statusMutex_);
  auto it = statuses_.find(appId);
  return it == statuses_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const nlohmann::json>> ServiceFramework::statuses() const {
  std::lock_guard<std::mutex> lock(statusMutex_);
  std::vector<std::shared_ptr<const nlohmann::json>> out;
  for (const auto& [id, status] : statuses_) out.push_back(status);
  return out;
}

void ServiceFramework::tick(kit::Runtime& runtime) {
  runtime_ = &runtime;
  if (runtime.journal() == nullptr || registry_ == nullptr) return;
  std::set<std::string> apps;
  for (const auto& [id, version] : registry_->apps()) apps.insert(id);
  for (const auto& [id, entry] : runtime.journal()->tasks()) {
    if (!isTerminal(entry.state)) apps.insert(entry.group);
  }
  for (const std::string& app : apps) stepApp(runtime, app);
  autoscaleTick(runtime);
}

const Deployment* ServiceFramework::deployment(const std::string& appId) const {
  auto it = deployments_.find(appId);
  return it == deployments_.end() ? nullptr : &it->second;
}

std::string ServiceFramework::holdReason(const std::string& appId) const {
  auto it = holds_.find(appId);
  return it == holds_.end() ? "" : it->second;
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
