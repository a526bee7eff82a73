#pragma once
// The framework runtime: the SDK's driver, a durable store, the task journal,
// placement, reconciliation and (with ZooKeeper) leader election, put
// together so that an author writes only what is the framework's own: which
// tasks it wants now, what each one runs, and what to do when one changes.
//
// What the runtime does for it:
//   - keeps the framework ID in the store and fails over with it after a
//     restart (the master keeps the framework's tasks for its failover
//     timeout);
//   - on every (re)subscription reconciles the journal with the master
//     before placing anything (adopt what the master knows, replace what it
//     lost, kill what nobody launched; the policy is the author's to change);
//   - places pending groups on offers (constraints, named ports, spread or
//     bin-packing), journals each task *before* launching it, and records
//     each update before acknowledging it: a kill -9 at any point neither
//     launches a task twice nor loses one;
//   - declines what helps nothing (long filters when nothing waits),
//     suppresses offers while nothing is pending and revives when something
//     is; keeps why each waiting group waits;
//   - with `zk`, several instances elect a leader; only the leader
//     subscribes, and its writes are fenced by its election node, so a
//     leader cut off from ZooKeeper can no longer write and stops.
//
// Thread: everything, the Framework's callbacks included, runs on the
// runtime's loop.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "frameworks/kit/api.hpp"
#include "frameworks/kit/election.hpp"
#include "frameworks/kit/placement.hpp"
#include "frameworks/kit/reconciliation.hpp"
#include "frameworks/kit/secrets.hpp"
#include "frameworks/kit/store.hpp"
#include "frameworks/kit/task_journal.hpp"
#include "frameworks/sdk/scheduler_driver.hpp"

namespace agora::kit {

class Runtime;

// What an author writes.
class Framework {
 public:
  virtual ~Framework() = default;
  // The groups with tasks to place now. Groups with nothing pending are
  // skipped; a group given without `placed` gets where the journal's active
  // tasks of that group run.
  virtual std::vector<TaskGroup> pending(const TaskJournal& journal) = 0;
  // What one placed task runs (command, container, labels, ...). The runtime
  // then fills in what it left empty: the task ID (unique, from the group),
  // name, agent and resources, and adds the placement's $PORT_* environment.
  virtual TaskInfo task(const PlannedTask& planned) = 0;
  // A task of the journal changed state (the journal has it already).
  virtual void changed(Runtime& runtime, const TaskEntry& task) { (void)runtime, (void)task; }
  // Subscribed and reconciled: the journal agrees with the master now.
  virtual void ready(Runtime& runtime) { (void)runtime; }
  // Reconciliation's choice per task (see reconciliation.hpp).
  virtual ReconcileAction reconcile(const TaskEntry* known,
                                    const std::optional<TaskStatus>& master) {
    return defaultReconcilePolicy(known, master);
  }
};

struct RuntimeOptions {
  // The framework (name, roles, user, capabilities, failover timeout), the
  // master and the CurveZMQ keys. framework.id is the store's.
  sdk::DriverOptions driver;
  // The store is <workDir>/state.db (SQLite) unless `zk` is given.
  std::string workDir;
  // zk://HOST:PORT[,...]/PATH: the store lives in ZooKeeper under PATH and
  // instances elect a leader there.
  std::string zk;
  // How long ZooKeeper keeps a silent instance's session (and so its
  // leadership): a killed leader's successor takes over after about this.
  Duration zkSessionTimeout = seconds(10);
  std::string instanceId;  // default: hostname:pid
  // HOST:PORT: serve the framework's HTTP API (api.hpp) there and advertise
  // it through the master (FrameworkInfo::webuiUrl); standbys redirect to
  // the leader's. "": no API.
  std::string http;
  // TLS and tokens for the API (setUpHttpSecurity); null: plain, open.
  // Borrowed: outlives the runtime.
  const HttpSecurity* httpSecurity = nullptr;
  Strategy strategy = Strategy::kSpread;
  // Decline filters: when nothing waits (offers are suppressed too), and for
  // an offer no waiting group fits while others do.
  double idleDeclineSeconds = 3600;
  double waitingDeclineSeconds = 15;
  // Tasks the master did not answer for (their agent is re-registering) are
  // asked about again this often; placing starts once the master answered
  // for every task or after reconcileTimeout.
  Duration reconcileRetry = seconds(3);
  Duration reconcileTimeout = seconds(30);
};

class Runtime : private sdk::Scheduler {
 public:
  // kStarting: not started; kStandby: another instance leads; kSubscribing:
  // leading, not (or no longer) subscribed; kReconciling: subscribed, asking
  // the master about the journal's tasks; kActive: placing.
  enum class Phase { kStarting, kStandby, kSubscribing, kReconciling, kActive, kStopped };

  // Production: opens the store (and the election), on the runtime's own
  // loop, run by run(). REQUIRES: framework outlives the runtime.
  static Result<std::unique_ptr<Runtime>> create(Framework& framework, RuntimeOptions options);

  using DriverFactory = std::function<Result<std::unique_ptr<sdk::SchedulerDriver>>(
      sdk::Scheduler& scheduler, sdk::DriverOptions options)>;
  // Tests: a given store, loop (driven by the caller) and driver factory
  // (e.g. a FakeMaster's transport); no election.
  Runtime(Framework& framework, RuntimeOptions options, EventLoop& loop,
          std::unique_ptr<Store> store, DriverFactory drivers);
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts: contends for leadership (zk) or subscribes at once.
  void start();
  // Production: start() and runs the loop on this thread until stop();
  // the error that ended it (refused by the master, leadership lost, the
  // store failing), if any.
  Status run();
  // Stops acting. teardown: the framework is removed at the master and its
  // tasks killed (its work is done); the store forgets its ID and its
  // running tasks and keeps the ended ones. Else it stays for a later
  // instance to fail over to. Loop thread.
  void stop(bool teardown = false);

  // Something became pending: revive offers and place at the next ones.
  // Loop thread.
  void wake();
  // Kills a task of the journal. Loop thread.
  void kill(const std::string& taskId);
  // Forgets an ended task the framework is done with (its journal record
  // goes): a framework that replaces tasks forever keeps its store bounded.
  // kFailedPrecondition for a task that has not ended. Not from within
  // Framework::changed() for the task it is given. Loop thread.
  Status forget(const std::string& taskId);

  EventLoop& loop() { return *loop_; }
  Phase phase() const { return phase_; }
  bool leading() const {
    return phase_ == Phase::kSubscribing || phase_ == Phase::kReconciling ||
           phase_ == Phase::kActive;
  }
  // The journal once leading (null before).
  const TaskJournal* journal() const { return journal_ ? &*journal_ : nullptr; }
  Store& store() { return *store_; }
  // The operator's named secrets for the framework's tasks; null before
  // leading. Also served: GET /api/v1/secrets (names, never values),
  // PUT /api/v1/secrets/NAME (the body is the value), DELETE
  // /api/v1/secrets/NAME; a change wakes placement. Loop thread.
  SecretStore* secrets() { return secrets_.get(); }
  sdk::SchedulerDriver* driver() { return driver_.get(); }
  // Why each group that waited in the last placement round waits.
  const std::map<std::string, Unplaced>& waiting() const { return waiting_; }
  // The leader's API (this instance's when it leads); nullopt while none
  // is known or without an API.
  std::optional<std::string> leaderHttp() const;
  // The framework's HTTP API (null without options.http): add the
  // framework's own routes before start()/run(); publish its events.
  ApiServer* api() { return api_.get(); }
  // For an API handler (an HTTP thread): runs `handler` on the loop, where
  // the framework's state lives, and returns its response; 503 when the
  // loop does not answer within 5 s.
  http::Response answerOnLoop(std::function<http::Response()> handler);
  const std::string& frameworkId() const { return frameworkId_; }

  static constexpr const char* kFrameworkIdKey = "framework/id";

 private:
  // sdk::Scheduler, on the loop.
  void subscribed(sdk::SchedulerDriver& driver, const std::string& frameworkId) override;
  void reconnected(sdk::SchedulerDriver& driver) override;
  void disconnected(sdk::SchedulerDriver& driver) override;
  void offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) override;
  void update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;
  void error(sdk::SchedulerDriver& driver, const std::string& message) override;

  void lead();
  void fail(const Error& error);
  // The API's built-in routes (runtime_api.cpp).
  Status setUpApi();
  void routeApi();
  // Runs `read` on the loop for an HTTP thread; 503 when the loop does not
  // answer in time.
  http::Response fromLoop(std::function<nlohmann::json()> read);
  nlohmann::json tasksJson() const;
  nlohmann::json waitingJson() const;
  nlohmann::json frameworkJson() const;
  void routeSecrets();
  void publishTask(const TaskEntry& entry);
  void forgetFramework();
  void beginReconciliation();
  void askMaster();
  void finishReconciliation(bool timedOut);
  void place(const std::vector<Offer>& offers, const std::vector<std::string>& ids,
             std::vector<TaskGroup> groups);
  // The framework's groups with something pending.
  std::vector<TaskGroup> pendingGroups();
  // Gives groups without `placed` where the journal's live tasks of each
  // run (one pass over the journal).
  void fillPlaced(std::vector<TaskGroup>& groups) const;
  // Revives when something is pending, suppresses when nothing is (force:
  // say it even when it seems said, e.g. after a re-subscription).
  void refreshSuppression(bool force);
  void apply(const TaskStatus& status);
  void flushUpdates();
  std::string newTaskId(const std::string& group);

  Framework& framework_;
  RuntimeOptions options_;
  std::unique_ptr<EventLoop> ownedLoop_;
  EventLoop* loop_;
  std::unique_ptr<Store> store_;
  DriverFactory drivers_;
  std::unique_ptr<ApiServer> api_;
  mutable std::mutex leaderMutex_;
  std::optional<std::string> leaderUrl_;  // the election's, for the API's threads
  std::unique_ptr<Election> election_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
  std::optional<TaskJournal> journal_;
  std::unique_ptr<SecretStore> secrets_;
  Phase phase_ = Phase::kStarting;
  std::optional<Error> error_;
  std::string frameworkId_;
  bool suppressed_ = false;
  std::map<std::string, Unplaced> waiting_;
  uint64_t markers_ = 0;
  // Active tasks the master has not answered for yet (asked again): all of
  // them when a reconciliation begins, fewer with each answer.
  std::set<std::string> unanswered_;

  // Reconciliation in progress: the master's answers so far, the marker
  // whose answer says every answer before it arrived, and reliable updates
  // to acknowledge once the answers are applied.
  std::map<std::string, TaskStatus> answers_;
  std::string marker_;
  bool markerAnswered_ = false;
  std::vector<TaskStatus> toAcknowledge_;
  TimePoint reconcileStarted_{};
  EventLoop::TimerId reconcileTimer_ = 0;
  std::vector<TaskStatus> batch_;  // updates to record at the end of this loop turn
  LifetimeGuard lifetime_;
};

}  // namespace agora::kit
