#pragma once
// The tasks component: the task table (live and completed tasks), each
// agent's and framework's live tasks, status updates from agents and their
// acknowledgements, kills, reconciliation, and the master's own updates
// (lost, unreachable, gone). The one owner of task records; publishes
// task_state_changed. Loop thread only.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/lifetime.hpp"
#include "master/allocator/allocator.hpp"
#include "master/core/context.hpp"
#include "master/tasks/task_history.hpp"
#include "master/tasks/task_table.hpp"

namespace agora::master {

struct TaskOptions {
  // Completed tasks kept (in memory and, with a registrar, in the registry
  // across restarts), and how their writes are batched.
  CompletedTaskBounds completedTasks;
  TaskHistoryOptions history;
};

class Tasks {
 public:
  static constexpr size_t kMaxCompletedTasks = 10000;

  Tasks(MasterContext& context, TaskOptions options);
  ~Tasks();
  Tasks(const Tasks&) = delete;
  Tasks& operator=(const Tasks&) = delete;

  const TaskTable& table() const { return table_; }
  // Live tasks only.
  const Task* findLive(const TaskKey& key) const;
  // Live or completed.
  const Task* find(const TaskKey& key) const { return table_.find(key); }
  // Live tasks of an agent / a framework (empty when none).
  const AgentTaskIndex& onAgent(const std::string& agentId) const;
  const FrameworkTaskIndex& ofFramework(const std::string& frameworkId) const;
  // What the agent's live tasks use, by (framework, role).
  UsedResources usedOnAgent(const std::string& agentId) const;
  // The live task on the agent whose resources hold `volume`, if any.
  const Task* volumeUser(const std::string& agentId, const PersistentVolume& volume) const;

  // A new live task in STAGING, launched from an offer of `role`.
  // REQUIRES: no live task has its key.
  const Task& launch(const std::string& frameworkId, const std::string& agentId,
                     const std::string& role, const TaskInfo& info);
  // A task reported by a re-registering agent, taken back into the live set
  // (or completed, when the agent reports it terminal). `defaultRole`
  // accounts a task launched before this master knew it. Tells a framework
  // that was told UNREACHABLE or LOST that the task is still there.
  void readmit(const std::string& agentId, const std::string& frameworkId,
               const std::string& defaultRole, TaskInfo info, TaskStatus latest,
               std::string sandbox);
  // A master-generated update for a live task: the partition-aware state for
  // frameworks with PARTITION_AWARE, the other one otherwise. A terminal state
  // frees the task's resources and completes it.
  void fail(const TaskKey& key, TaskState partitionAwareState, TaskState otherState,
            TaskReason reason, const std::string& message);
  void failAllOnAgent(const std::string& agentId, TaskState partitionAwareState,
                      TaskState otherState, TaskReason reason, const std::string& message);
  // Every live task of a removed framework becomes KILLED (its agents are
  // told separately); returns the agents they ran on.
  std::set<std::string> killAllOfFramework(const std::string& frameworkId,
                                           const std::string& message);
  // A master-generated update about the task `about` describes (its IDs,
  // container and exit code).
  TaskStatus masterUpdate(const TaskStatus& about, TaskState state, TaskReason reason,
                          const std::string& message) const;
  // Updates for tasks that never started (a refused launch), one per ID.
  void refuse(const Framework& framework, const std::vector<std::string>& taskIds,
              TaskState state, TaskReason reason, const std::string& message);

  // From the agent protocol: a STATUS_UPDATE from a registered agent.
  void onStatusUpdate(const Agent& agent, schema::StatusUpdate::Reader message);
  // From the scheduler protocol.
  void onKill(const Framework& framework, schema::TaskRef::Reader ref);
  void onAcknowledge(const Framework& framework, schema::Call::Acknowledge::Reader ack);
  void onReconcile(const Framework& framework, capnp::List<schema::TaskRef>::Reader refs);

  // An operator's kill (operator_kill.cpp): the live task `taskId` of
  // `frameworkId` (empty: of whichever framework has it) is sent to its agent
  // as a kill, as if its framework had asked. kNotFound: no such task;
  // kFailedPrecondition: it has ended, or several frameworks have a task of
  // that ID; kUnavailable: its agent is unreachable (nothing sent).
  struct OperatorKill {
    std::string frameworkId;
    std::string agentId;
    TaskState state = TaskState::STAGING;  // when the kill was sent
  };
  // `authorize` (when given) is asked about the task's framework once the
  // task is found; its error is returned and nothing is killed.
  using KillAuthorizer = std::function<Status(const std::string& frameworkId)>;
  Result<OperatorKill> killByOperator(const std::string& taskId, const std::string& frameworkId,
                                      const std::string& reason,
                                      const KillAuthorizer& authorize = {});

  // Puts the registry's completed tasks back (task_history.hpp).
  void recoverCompleted(std::vector<CompletedTaskRecord> records);

 private:
  Task* findLiveMutable(const TaskKey& key);
  // Applies `status` to `task` and publishes task_state_changed.
  void setStatus(Task& task, const TaskStatus& status);
  // Moves a live task to the completed list. REQUIRES: the task is live.
  void complete(const TaskKey& key);
  void sendUpdate(const std::string& frameworkId, const TaskStatus& status);
  // Whether `status` repeats an update of `task` its framework acknowledged.
  static bool acknowledgedBefore(const Task& task, const TaskStatus& status);
  void acknowledgeToAgent(const std::string& peer, const std::string& agentId,
                          const std::string& frameworkId, const std::string& taskId,
                          const std::string& uuid);
  // A framework's acknowledgement on to the agent (dropped while the agent is
  // unavailable: it resends the update).
  void forwardAcknowledgement(const std::string& frameworkId, const std::string& agentId,
                              const std::string& taskId, const std::string& uuid);
  void sendKill(const Agent& agent, const std::string& frameworkId, const std::string& taskId);

  MasterContext& ctx_;
  TaskTable table_{kMaxCompletedTasks};
  // Persists completed tasks; null without a registrar.
  std::unique_ptr<TaskHistory> history_;
  std::unordered_map<std::string, AgentTaskIndex> byAgent_;
  std::unordered_map<std::string, FrameworkTaskIndex> byFramework_;
  LifetimeGuard guard_;
};

}  // namespace agora::master
