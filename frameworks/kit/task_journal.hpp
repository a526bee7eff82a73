#pragma once
// Task intents: what a framework knows of each of its tasks, kept in its
// Store so that a framework killed at any point neither launches a task
// twice nor loses one.
//
//   1. intend(): the tasks it is about to launch are written (one
//      transaction) *before* the launch is sent;
//   2. record(): each status update is written before it is acknowledged;
//   3. after a restart, unconfirmed() lists the intents no update confirmed:
//      their launch may or may not have reached the master, so the
//      framework reconciles them (asks the master) instead of launching
//      them again; a task the master does not know is then LOST, one it
//      knows is adopted.
//
// Records live under "tasks/<task ID>" as JSON. One thread.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/model.hpp"
#include "frameworks/kit/constraints.hpp"
#include "frameworks/kit/store.hpp"

namespace agora::kit {

struct TaskEntry {
  std::string taskId;
  std::string agentId;
  // The framework's own, kept with the task (e.g. the app and version it
  // belongs to); opaque here.
  std::string data;
  // The placement group it was launched for and where it went (hostname,
  // attributes), so constraints keep counting it after a restart.
  std::string group;
  Placement placement;
  // False until a status update confirmed the launch reached the cluster.
  bool confirmed = false;
  TaskState state = TaskState::STAGING;
  TaskReason reason = TaskReason::NONE;
  std::optional<int> exitCode;
  // The latest update's check verdicts (unset: no such check, or no verdict
  // yet), its message (at most kMaxMessage bytes) and its time (wall s).
  std::optional<bool> healthy;
  std::optional<bool> ready;
  std::string message;
  double updated = 0;
  static constexpr size_t kMaxMessage = 512;

  // A task about to be launched on `agentId`, for intend().
  static TaskEntry launching(std::string taskId, std::string agentId = "", std::string data = "") {
    TaskEntry entry;
    entry.taskId = std::move(taskId);
    entry.agentId = std::move(agentId);
    entry.data = std::move(data);
    return entry;
  }
};

// A kind of task of a group: what it was launched with (TaskEntry::data), its
// state and its check verdicts.
struct TaskKind {
  std::string data;
  TaskState state = TaskState::STAGING;
  std::optional<bool> healthy;
  std::optional<bool> ready;
  bool operator<(const TaskKind& other) const {
    return std::tie(data, state, healthy, ready) <
           std::tie(other.data, other.state, other.healthy, other.ready);
  }
};

class TaskJournal {
 public:
  static constexpr const char* kPrefix = "tasks/";

  // Reads every task of `store`. REQUIRES: store outlives the journal.
  // kProtocol naming the record for one that does not parse.
  static Result<TaskJournal> load(Store& store);
  // Moves keep the group index valid (a move keeps the map's nodes); a copy
  // would not.
  TaskJournal(TaskJournal&&) = default;
  TaskJournal& operator=(TaskJournal&&) = default;
  TaskJournal(const TaskJournal&) = delete;
  TaskJournal& operator=(const TaskJournal&) = delete;

  // Writes the tasks as intents (unconfirmed, STAGING, whatever state they
  // are given in), all or none; launch
  // them only once this returned OK. kFailedPrecondition when one of the IDs
  // is known already (a task ID is never reused).
  Status intend(const std::vector<TaskEntry>& launching);
  // Writes a status update of a known task (kNotFound for another: the
  // framework decides what to do with a task it never launched, e.g. kill
  // it). Acknowledge the update only once this returned OK.
  Status record(const TaskStatus& status);
  // Writes several updates in one transaction (a group commit: one sync for
  // a burst of updates), all or none; several of one task apply in order.
  Status recordAll(const std::vector<TaskStatus>& statuses);
  // Removes a task's record (e.g. a terminal task the framework is done with).
  Status forget(const std::string& taskId);

  const std::map<std::string, TaskEntry>& tasks() const { return tasks_; }
  const TaskEntry* find(const std::string& taskId) const;
  // The tasks of a placement group (ended ones too, until forgotten), in ID
  // order; kept as an index, so as cheap as the group is small.
  std::vector<const TaskEntry*> group(const std::string& name) const;
  // How many tasks of the group are of each kind (ended ones too, until
  // forgotten), kept with every write: counting a large group costs as much
  // as it has kinds, not tasks.
  const std::map<TaskKind, int64_t>& tally(const std::string& name) const;
  // Intents no status update confirmed, in ID order.
  std::vector<std::string> unconfirmed() const;
  // Tasks not known to be terminal, in ID order.
  std::vector<std::string> active() const;

 private:
  explicit TaskJournal(Store& store) : store_(&store) {}
  static std::string encode(const TaskEntry& entry);
  static Result<TaskEntry> decode(const Record& record);

  Store* store_;
  std::map<std::string, TaskEntry> tasks_;
  std::map<std::string, uint64_t> versions_;
  // group -> its tasks by ID (tasks_'s nodes: stable while they are in it)
  std::map<std::string, std::map<std::string, const TaskEntry*>> groups_;
  std::map<std::string, std::map<TaskKind, int64_t>> tallies_;  // by group
  void count(const TaskEntry& entry, int64_t delta);
};

}  // namespace agora::kit
