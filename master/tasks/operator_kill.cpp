// Tasks::killByOperator: `agora kill` and POST /api/v1/tasks/ID/kill.

#include <glog/logging.h>

#include "master/tasks/tasks.hpp"

namespace agora::master {

Result<Tasks::OperatorKill> Tasks::killByOperator(const std::string& taskId,
                                                  const std::string& frameworkId,
                                                  const std::string& reason,
                                                  const KillAuthorizer& authorize) {
  // Task IDs are unique per framework only. Without a framework every task is
  // visited (a rare operator call), so that an ended task of a removed
  // framework is reported as ended rather than unknown.
  std::vector<const Task*> found;
  if (!frameworkId.empty()) {
    if (const Task* task = find(TaskKey{frameworkId, taskId})) found.push_back(task);
  } else {
    table_.forEach([&](const Task& task) {
      if (task.id == taskId) found.push_back(&task);
    });
  }
  if (found.empty()) {
    return makeError(ErrorCode::kNotFound,
                     "no task '" + taskId + "'" +
                         (frameworkId.empty() ? "" : " in framework '" + frameworkId + "'") +
                         " is known to the master (GET /api/v1/tasks lists them)");
  }
  if (found.size() > 1) {
    std::string frameworks;
    for (const Task* task : found) {
      frameworks += (frameworks.empty() ? "" : ", ") + task->frameworkId.get();
    }
    return makeError(
        ErrorCode::kFailedPrecondition,
        "several frameworks have a task '" + taskId + "' (" + frameworks + "): give framework_id");
  }
  const Task& task = *found.front();
  OperatorKill kill{task.frameworkId.get(), task.agentId.get(), task.state};
  if (authorize) {
    if (Status allowed = authorize(kill.frameworkId); !allowed) return makeError(allowed.error());
  }
  if (task.completed || isTerminal(task.state)) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "task '" + taskId + "' has already ended (" + taskStateName(task.state) + ")");
  }
  const Agent* agent = ctx_.agents().registeredAgent(kill.agentId);
  if (agent == nullptr) {
    return makeError(ErrorCode::kUnavailable, "task '" + taskId + "' runs on agent " +
                                                  kill.agentId +
                                                  ", which is unreachable: the kill was not sent");
  }
  LOG(INFO) << "killing task " << taskId << " of framework " << kill.frameworkId << " on agent "
            << kill.agentId << " at an operator's request: " << reason;
  sendKill(*agent, kill.frameworkId, taskId);
  return kill;
}

}  // namespace agora::master
