#pragma once
// The two frameworks the chaos test runs, on the public SDK:
//  - keeper: keeps `slots` long tasks running. Slot i runs "long-i-gN"; a
//    terminal (or UNKNOWN) update for the slot's current task starts
//    generation N+1, so a task ID is never launched twice. A RUNNING update
//    for an older generation (it resurfaced after its slot moved on) is
//    killed.
//  - batcher: runs short tasks "short-N", `slots` at a time, never relaunching;
//    it launches nothing new while the file <journal>.stop exists.
//  - runner: like `agora run`, failover timeout 0 and never killed by the
//    fault driver: runs long tasks "run-N", `slots` at a time, never
//    relaunching (nothing new while <journal>.stop exists). A master restart
//    or leader change must cost it nothing.
// All are PARTITION_AWARE, acknowledge explicitly, and journal every launch,
// update, acknowledgement and refusal by the master (journal.hpp) before
// acting on it. Started
// again on the same journal, they fail over to the journaled framework ID and
// reconcile the tasks the journal says are not finished.

#include <map>
#include <string>

#include "frameworks/sdk/scheduler_driver.hpp"
#include "tests/chaos/journal.hpp"

namespace agora::chaos {

enum class Mode { kKeeper, kBatcher, kRunner };

struct ChaosSchedulerOptions {
  Mode mode = Mode::kKeeper;
  int slots = 5;
  std::string journalPath;
};

class ChaosScheduler final : public sdk::Scheduler {
 public:
  // Replays the journal (the framework ID, the tasks and their last states).
  static Result<std::unique_ptr<ChaosScheduler>> create(ChaosSchedulerOptions options);

  // The journaled framework ID; empty before the first subscription.
  const std::string& frameworkId() const { return frameworkId_; }
  // Called once the driver runs: starts the periodic reconciliation.
  void started(sdk::SchedulerDriver& driver);

  void subscribed(sdk::SchedulerDriver& driver, const std::string& frameworkId) override;
  void offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) override;
  void update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;
  void reconnected(sdk::SchedulerDriver& driver) override;
  void error(sdk::SchedulerDriver& driver, const std::string& message) override;

 private:
  struct TaskRecord {
    std::string agentId;
    std::string state = "TASK_STAGING";
    bool terminal = false;  // sticky
    bool unknown = false;   // the master's last word was UNKNOWN
    bool ended() const { return terminal || unknown; }
  };
  ChaosScheduler(ChaosSchedulerOptions options, Journal journal)
      : options_(std::move(options)), journal_(std::move(journal)) {}
  void replay(const std::vector<JournalEvent>& events);
  void record(const std::string& kind, const std::vector<std::string>& fields);
  static void applyState(TaskRecord& task, const std::string& state);
  // Keeper: kills every live task that is not its slot's current generation.
  void killStale(sdk::SchedulerDriver& driver);
  void reconcile(sdk::SchedulerDriver& driver);
  // The task IDs to launch now, at most `room` of them.
  std::vector<std::string> wanted(int room);
  int activeCount() const;
  // Batcher and runner task IDs: "short-N", "run-N".
  std::string taskPrefix() const { return options_.mode == Mode::kRunner ? "run-" : "short-"; }

  ChaosSchedulerOptions options_;
  Journal journal_;
  std::string frameworkId_;
  std::map<std::string, TaskRecord> tasks_;
  std::map<int, int> generation_;  // keeper: slot -> current generation
  int nextNumber_ = 0;              // batcher and runner: the next N
};

// "long-3-g7" -> {3, 7}; {-1, -1} for other IDs.
std::pair<int, int> parseLongTaskId(const std::string& taskId);
bool isTerminalStateName(const std::string& state);

}  // namespace agora::chaos
