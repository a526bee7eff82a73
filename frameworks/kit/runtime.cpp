#include "frameworks/kit/runtime.hpp"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "frameworks/kit/sqlite_store.hpp"
#include "frameworks/kit/zk_store.hpp"

namespace agora::kit {

namespace {

// Task IDs of reconciliation markers: the master answers a reconcile in
// order, so the marker's answer (it knows no such task) comes after every
// answer asked for before it.
constexpr const char* kMarkerPrefix = "agora-kit-reconcile-marker-";

bool isMarker(const std::string& taskId) { return taskId.rfind(kMarkerPrefix, 0) == 0; }

std::string defaultInstanceId() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::create(Framework& framework, RuntimeOptions options) {
  auto loop = std::make_unique<EventLoop>(RealClock::instance());
  if (options.instanceId.empty()) options.instanceId = defaultInstanceId();
  std::unique_ptr<Store> store;
  if (options.zk.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.workDir, ec);
    if (ec) {
      return makeError(ErrorCode::kIo,
                       "cannot create the work dir " + options.workDir + ": " + ec.message());
    }
    auto sqlite = SqliteStore::open(options.workDir + "/state.db");
    if (!sqlite) return makeError(sqlite.error());
    store = std::move(*sqlite);
  } else {
    ZkStore::Options zkOptions;
    zkOptions.sessionTimeout = options.zkSessionTimeout;
    auto zk = ZkStore::open(options.zk, zkOptions);
    if (!zk) return makeError(zk.error());
    store = std::move(*zk);
  }
  EventLoop& onLoop = *loop;
  auto drivers = [&onLoop](sdk::Scheduler& scheduler, sdk::DriverOptions driver) {
    return sdk::SchedulerDriver::create(scheduler, std::move(driver), onLoop);
  };
  std::unique_ptr<Runtime> runtime(
      new Runtime(framework, std::move(options), onLoop, std::move(store), drivers));
  runtime->ownedLoop_ = std::move(loop);
  if (Status api = runtime->setUpApi(); !api) return makeError(api.error());
  if (!runtime->options_.zk.empty()) {
    const RuntimeOptions& o = runtime->options_;
    // Standbys send their callers to the leader's API.
    auto election =
        Election::create(onLoop, {o.zk + "/leader", o.instanceId,
                                  runtime->api_ ? runtime->api_->url() : "-", o.zkSessionTimeout});
    if (!election) return makeError(election.error());
    runtime->election_ = std::move(*election);
  }
  return runtime;
}

Runtime::Runtime(Framework& framework, RuntimeOptions options, EventLoop& loop,
                 std::unique_ptr<Store> store, DriverFactory drivers)
    : framework_(framework),
      options_(std::move(options)),
      loop_(&loop),
      store_(std::move(store)),
      drivers_(std::move(drivers)) {}

Runtime::~Runtime() {
  lifetime_.invalidate();
  if (api_) api_->stop();
  loop_->cancelTimer(reconcileTimer_);
  driver_.reset();
}

void Runtime::start() {
  if (api_) {
    if (Status started = api_->start(); !started) return fail(started.error());
  }
  if (!election_) return lead();
  phase_ = Phase::kStandby;
  election_->start([this] { lead(); },
                   [this](const std::string& why) {
                     fail(Error{ErrorCode::kUnavailable, "no longer the leader: " + why});
                   },
                   [this](const std::optional<std::string>& leader) {
                     std::lock_guard<std::mutex> lock(leaderMutex_);
                     leaderUrl_ = leader;
                   });
}

Status Runtime::run() {
  CHECK(ownedLoop_) << "run() needs the runtime's own loop (create())";
  loop_->post([this] { start(); });
  loop_->run();
  if (api_) api_->stop();
  if (error_) return makeError(*error_);
  return {};
}

void Runtime::stop(bool teardown) {
  if (phase_ == Phase::kStopped) return;
  phase_ = Phase::kStopped;
  loop_->cancelTimer(reconcileTimer_);
  // Forgotten before the teardown is sent: killed in between, a later run
  // subscribes anew instead of failing over to a removed framework.
  if (teardown) forgetFramework();
  if (driver_) driver_->stop(/*failover=*/!teardown);
  if (ownedLoop_) {
    loop_->addTimer(sdk::SchedulerDriver::stopFlushDelay() * 2, [this] { loop_->stop(); });
  }
}

// The framework is going at the master and its running tasks with it: a
// later run subscribes anew. Tasks that ended stay in the journal (a
// framework that finished its work knows it did, even if killed right after).
void Runtime::forgetFramework() {
  std::vector<Write> writes{Write::erase(kFrameworkIdKey)};
  if (journal_) {
    for (const std::string& id : journal_->active()) {
      writes.push_back(Write::erase(TaskJournal::kPrefix + id));
    }
  }
  if (auto done = store_->commit(writes); !done) {
    LOG(WARNING) << "cannot forget the torn-down framework: " << done.error().message;
  }
}

void Runtime::fail(const Error& error) {
  if (phase_ == Phase::kStopped) return;
  LOG(ERROR) << "framework '" << options_.driver.framework.name << "' stops: " << error.message;
  error_ = error;
  stop(/*teardown=*/false);
}

void Runtime::lead() {
  if (phase_ == Phase::kStopped) return;
  if (election_) {
    LOG(INFO) << "instance " << options_.instanceId << " leads framework '"
              << options_.driver.framework.name << "'";
    if (auto* zk = dynamic_cast<ZkStore*>(store_.get())) zk->setFence(election_->nodePath());
  }
  auto journal = TaskJournal::load(*store_);
  if (!journal) return fail(journal.error());
  journal_.emplace(std::move(*journal));
  secrets_ = std::make_unique<SecretStore>(*store_);
  auto id = store_->get(kFrameworkIdKey);
  if (!id) return fail(id.error());
  if (*id) frameworkId_ = (*id)->value;
  sdk::DriverOptions driver = options_.driver;
  driver.framework.id = frameworkId_;
  if (api_) driver.framework.webuiUrl = api_->url();
  driver.autoAcknowledge = false;  // only once the journal has the update
  auto made = drivers_(*this, std::move(driver));
  if (!made) return fail(made.error());
  driver_ = std::move(*made);
  phase_ = Phase::kSubscribing;
  driver_->start();
}

std::optional<std::string> Runtime::leaderHttp() const {
  if (election_) return election_->leaderHttp();
  if (!api_) return std::nullopt;
  return api_->url();
}

// --- Subscription and reconciliation ---

void Runtime::subscribed(sdk::SchedulerDriver&, const std::string& frameworkId) {
  if (frameworkId != frameworkId_) {
    // Kept before anything is launched under it: a restart fails over to it.
    if (auto put = store_->put(kFrameworkIdKey, frameworkId); !put) return fail(put.error());
    frameworkId_ = frameworkId;
  }
  LOG(INFO) << "framework '" << options_.driver.framework.name << "' subscribed as " << frameworkId
            << "; reconciling " << journal_->active().size() << " task(s)";
  beginReconciliation();
}

void Runtime::reconnected(sdk::SchedulerDriver&) { beginReconciliation(); }

void Runtime::disconnected(sdk::SchedulerDriver&) {
  if (phase_ == Phase::kStopped) return;
  loop_->cancelTimer(reconcileTimer_);
  phase_ = Phase::kSubscribing;
}

void Runtime::error(sdk::SchedulerDriver&, const std::string& message) {
  fail(Error{ErrorCode::kFailedPrecondition, "the master refused the framework: " + message});
}

void Runtime::beginReconciliation() {
  if (phase_ == Phase::kStopped) return;
  phase_ = Phase::kReconciling;
  answers_.clear();
  toAcknowledge_.clear();  // not acknowledged: the agents send them again
  std::vector<std::string> active = journal_->active();
  unanswered_ = std::set<std::string>(active.begin(), active.end());
  reconcileStarted_ = loop_->clock().now();
  driver_->reconcile({});  // implicit: every task the master knows, strangers included
  askMaster();
  loop_->cancelTimer(reconcileTimer_);
  reconcileTimer_ = loop_->addPeriodic(options_.reconcileRetry, [this] {
    bool late = loop_->clock().now() - reconcileStarted_ >= options_.reconcileTimeout;
    if (phase_ == Phase::kReconciling && late) return finishReconciliation(/*timedOut=*/true);
    askMaster();
  });
}

// Asks for the journal's active tasks the master has not answered for, then
// (while reconciling) for a new marker.
void Runtime::askMaster() {
  std::vector<sdk::TaskRef> refs;
  for (const std::string& id : unanswered_) {
    if (const TaskEntry* entry = journal_->find(id))
      refs.push_back(sdk::TaskRef{id, entry->agentId});
  }
  if (phase_ == Phase::kActive) {
    if (refs.empty()) loop_->cancelTimer(reconcileTimer_);
    if (!refs.empty()) driver_->reconcile(std::move(refs));
    return;
  }
  marker_ = kMarkerPrefix + std::to_string(++markers_);
  markerAnswered_ = false;
  refs.push_back(sdk::TaskRef{marker_, ""});
  driver_->reconcile(std::move(refs));
}

void Runtime::finishReconciliation(bool timedOut) {
  std::vector<TaskStatus> answers;
  for (const auto& [id, status] : answers_) answers.push_back(status);
  std::map<std::string, TaskState> before;
  for (const auto& [id, entry] : journal_->tasks()) before[id] = entry.state;
  // A task the master did not answer for stays as it is until it does.
  auto policy = [this](const TaskEntry* known, const std::optional<TaskStatus>& master) {
    if (known != nullptr && !master) return ReconcileAction::kAdopt;
    return framework_.reconcile(known, master);
  };
  auto outcome = kit::reconcile(*journal_, answers, policy);
  if (!outcome) return fail(outcome.error());
  for (const TaskStatus& target : outcome->kill) driver_->kill(target.taskId, target.agentId);
  for (const TaskStatus& status : toAcknowledge_) driver_->acknowledge(status);
  LOG(INFO) << "reconciled: " << outcome->adopted.size() << " adopted, " << outcome->replace.size()
            << " to replace, " << outcome->kill.size() << " to kill"
            << (timedOut
                    ? ", " + std::to_string(unanswered_.size()) + " not answered yet (asked again)"
                    : std::string());
  answers_.clear();
  toAcknowledge_.clear();
  loop_->cancelTimer(reconcileTimer_);
  phase_ = Phase::kActive;
  if (!unanswered_.empty()) {
    reconcileTimer_ = loop_->addPeriodic(options_.reconcileRetry, [this] { askMaster(); });
  }
  for (const auto& [id, entry] : journal_->tasks()) {
    auto it = before.find(id);
    if (it == before.end() || it->second == entry.state) continue;
    publishTask(entry);
    framework_.changed(*this, entry);
    if (phase_ != Phase::kActive) return;  // the framework stopped
  }
  framework_.ready(*this);
  if (phase_ == Phase::kActive) refreshSuppression(/*force=*/true);
}

// --- Updates ---

void Runtime::update(sdk::SchedulerDriver&, const TaskStatus& status) {
  if (isMarker(status.taskId)) {
    if (phase_ == Phase::kReconciling && status.taskId == marker_) markerAnswered_ = true;
  } else if (phase_ == Phase::kReconciling) {
    answers_[status.taskId] = status;
    unanswered_.erase(status.taskId);
    if (!status.uuid.empty()) toAcknowledge_.push_back(status);
  } else if (phase_ == Phase::kActive) {
    return apply(status);
  }
  if (phase_ == Phase::kReconciling && markerAnswered_ && unanswered_.empty()) {
    finishReconciliation(/*timedOut=*/false);
  }
}

void Runtime::apply(const TaskStatus& status) {
  // The updates that arrive together are recorded together, once the loop
  // has taken them all in (a group commit).
  batch_.push_back(status);
  if (batch_.size() == 1) loop_->post(lifetime_.wrap([this] { flushUpdates(); }));
}

void Runtime::flushUpdates() {
  std::vector<TaskStatus> batch;
  batch.swap(batch_);
  if (phase_ != Phase::kActive || driver_ == nullptr) return;  // resent to whoever leads
  std::vector<TaskStatus> known;
  for (const TaskStatus& status : batch) {
    if (journal_->find(status.taskId) != nullptr) {
      known.push_back(status);
      continue;
    }
    // Not launched by this framework's journal: the policy decides.
    if (!isTerminal(status.state) &&
        framework_.reconcile(nullptr, status) == ReconcileAction::kKill) {
      LOG(WARNING) << "killing task " << status.taskId << ": not in the journal";
      driver_->kill(status.taskId, status.agentId);
    }
    driver_->acknowledge(status);
  }
  // Not acknowledged unless recorded: the agent sends them again (to the
  // next leader, if this one is failing).
  if (Status s = journal_->recordAll(known); !s) return fail(s.error());
  for (const TaskStatus& status : known) {
    unanswered_.erase(status.taskId);
    driver_->acknowledge(status);
  }
  for (const TaskStatus& status : known) {
    const TaskEntry* entry = journal_->find(status.taskId);
    if (entry == nullptr) continue;
    publishTask(*entry);
    framework_.changed(*this, *entry);
    if (phase_ != Phase::kActive) return;  // the framework stopped it
  }
  refreshSuppression(/*force=*/false);
}

Status Runtime::forget(const std::string& taskId) {
  const TaskEntry* entry = journal_ ? journal_->find(taskId) : nullptr;
  if (entry == nullptr) return {};
  if (!isTerminal(entry->state)) {
    return makeError(ErrorCode::kFailedPrecondition, "task " + taskId + " has not ended");
  }
  return journal_->forget(taskId);
}

void Runtime::kill(const std::string& taskId) {
  const TaskEntry* entry = journal_ ? journal_->find(taskId) : nullptr;
  if (entry == nullptr || driver_ == nullptr) return;
  driver_->kill(taskId, entry->agentId);
}

// --- Offers and placement ---

std::vector<TaskGroup> Runtime::pendingGroups() {
  std::vector<TaskGroup> groups = framework_.pending(*journal_);
  std::erase_if(groups, [](const TaskGroup& g) { return g.pending <= 0; });
  return groups;
}

void Runtime::fillPlaced(std::vector<TaskGroup>& groups) const {
  std::map<std::string, TaskGroup*> unfilled;
  for (TaskGroup& group : groups) {
    if (group.placed.empty()) unfilled[group.name] = &group;
  }
  if (unfilled.empty()) return;
  for (const auto& [id, entry] : journal_->tasks()) {
    auto it = unfilled.find(entry.group);
    if (it != unfilled.end() && !isTerminal(entry.state)) {
      it->second->placed.push_back(entry.placement);
    }
  }
}

void Runtime::refreshSuppression(bool force) {
  bool pending = !pendingGroups().empty();
  if (pending && (suppressed_ || force)) {
    driver_->revive();
    suppressed_ = false;
  } else if (!pending && (!suppressed_ || force)) {
    driver_->suppress();
    suppressed_ = true;
  }
}

void Runtime::wake() {
  if (phase_ == Phase::kActive) refreshSuppression(/*force=*/true);
}

void Runtime::offers(sdk::SchedulerDriver&, const std::vector<Offer>& offers) {
  std::vector<std::string> ids;
  for (const Offer& offer : offers) ids.push_back(offer.id);
  // Nothing is placed before the journal agrees with the master.
  if (phase_ != Phase::kActive) return driver_->decline(ids, 1);
  std::vector<TaskGroup> groups = pendingGroups();
  if (groups.empty()) {
    waiting_.clear();
    driver_->decline(ids, options_.idleDeclineSeconds);
    return refreshSuppression(/*force=*/false);
  }
  fillPlaced(groups);
  place(offers, ids, std::move(groups));
}

std::string Runtime::newTaskId(const std::string& group) {
  std::string id;
  for (char c : group) id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  id.erase(0, id.find_first_not_of('_'));
  if (id.empty()) id = "task";
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char suffix[24];
  std::snprintf(suffix, sizeof(suffix), ".%012llx",
                static_cast<unsigned long long>(random() & 0xffffffffffffULL));
  return id + suffix;
}

void Runtime::place(const std::vector<Offer>& offers, const std::vector<std::string>& ids,
                    std::vector<TaskGroup> groups) {
  PlacementRound round = kit::place(offers, std::move(groups), options_.strategy);
  std::map<std::string, const Offer*> byId;
  for (const Offer& offer : offers) byId[offer.id] = &offer;
  std::map<std::string, std::vector<TaskInfo>> launches;  // by offer
  std::vector<TaskEntry> intents;
  for (const PlannedTask& planned : round.launches) {
    TaskInfo task = framework_.task(planned);
    if (task.taskId.empty()) task.taskId = newTaskId(planned.group);
    if (task.name.empty()) task.name = planned.group;
    task.agentId = planned.agentId;
    if (task.resources.empty()) task.resources = planned.resources;
    for (const auto& pair : planned.environment) task.command.environment.push_back(pair);
    TaskEntry entry = TaskEntry::launching(task.taskId, planned.agentId, planned.data);
    entry.group = planned.group;
    entry.placement = placementOf(*byId.at(planned.offerId));
    intents.push_back(std::move(entry));
    launches[planned.offerId].push_back(std::move(task));
  }
  // Written before launched: a kill -9 from here on leaves an intent to
  // reconcile, never a task nobody knows of.
  if (!intents.empty()) {
    if (Status s = journal_->intend(intents); !s) {
      driver_->decline(ids, 1);
      return fail(s.error());
    }
  }
  for (const TaskEntry& entry : intents) publishTask(*journal_->find(entry.taskId));
  for (auto& [offerId, tasks] : launches) driver_->launch(offerId, std::move(tasks));
  waiting_.clear();
  for (Unplaced& unplaced : round.unplaced) waiting_[unplaced.group] = std::move(unplaced);
  if (!round.unusedOffers.empty()) {
    driver_->decline(round.unusedOffers, waiting_.empty() ? options_.idleDeclineSeconds
                                                          : options_.waitingDeclineSeconds);
  }
  refreshSuppression(/*force=*/false);
}

}  // namespace agora::kit
