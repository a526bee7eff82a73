#pragma once
// The chaos test's invariants, checked on what the frameworks' journals
// recorded and what the cluster shows once it has settled (Observation).
// Pure logic: observe.hpp gathers the observation from the real cluster.
//
//  1. Every task a framework launched has exactly one terminal update (one
//     terminal state, at most one reliable update carrying it), or it is
//     RUNNING at the master and on exactly one agent. A launch the master
//     never saw (its last word is TASK_UNKNOWN and no agent has it) counts as
//     never launched only when a fault explains it (vanished_launches.hpp).
//  2. Reliable updates: a uuid always carries the same task and state; an
//     update is never delivered again once a later update of its task was
//     (the agent sends the next one only after the acknowledgement of the
//     previous one, so that is a duplicate of an acknowledged update); every
//     journaled acknowledgement follows a delivery of that uuid.
//  3. No task ID runs twice: one container per task across updates and
//     agents, and no live state after its terminal update (reliable, or the
//     master's own verdict); a reconciliation answer may run ahead of the
//     reliable stream, whose older updates then still follow.
//  4. The keeper's slots each have exactly one RUNNING task.
//  5. Every container an agent lists belongs to a live task; every cgroup
//     under an agent's cgroups root, every mount and every executor process
//     under the test's root belongs to a container an agent lists.
//  6. A framework whose scheduler the fault driver never killed did not
//     fail, whatever happened to the masters: the master never refused it
//     (no journaled error) and none of its tasks was killed with
//     REASON_FRAMEWORK_REMOVED (in its journal or at the leader). This is
//     what the runner (failover timeout 0, as `agora run`) is there for.

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/chaos/fault_record.hpp"
#include "tests/chaos/journal.hpp"

namespace agora::chaos {

struct ObservedContainer {
  int agent = 0;
  std::string id, frameworkId, taskId, state, taskState;
  int executorPid = 0;
};

struct Observation {
  std::map<std::string, std::vector<JournalEvent>> journals;  // "keeper", "batcher"
  int longTasks = 0;
  bool leader = false;
  int agentsExpected = 0;
  int agentsRegistered = 0;      // REGISTERED at the leader
  std::vector<bool> agentAnswered;
  nlohmann::json masterTasks = nlohmann::json::array();  // the leader's /api/v1/tasks
  std::vector<ObservedContainer> containers;
  std::map<int, std::set<std::string>> cgroups;  // agent -> cgroups under its root
  std::vector<std::string> mounts;               // mount points under the test root
  std::vector<int> executorPids;                 // agora-executor processes under it
  std::vector<FaultRecord> faults;               // the fault driver's history
  int64_t originMs = -1;  // t=0 in timelines (the driver's); -1: the first journal line
  std::map<std::string, std::string> agentNames;  // agent ID -> "agent0"
};

struct CheckResult {
  int updatesChecked = 0;  // reliable updates delivered (journal lines with a uuid)
  int tasks = 0;
  int vanishedLaunches = 0;                      // explained or not
  std::map<std::string, int> vanishedExplained;  // cause (vanished_launches.hpp) -> count
  // Launch time minus its fault's, for those explained by the fault alone
  // (not leader_loss_agent_away, whose leader may die long after).
  std::vector<int64_t> vanishedOffsetsMs;
  std::vector<std::string> violations;
};

CheckResult check(const Observation& observed);

}  // namespace agora::chaos
