#include "master/operations/launch_planner.hpp"

#include <set>

namespace agora::master {

namespace {

// Returns an empty string when the task is valid and fits in `remaining`.
std::string checkTask(const TaskRequest& request, const std::string& agentId,
                      const Resources& offered, const Resources& remaining,
                      const std::set<std::string>& seen,
                      const std::function<bool(const std::string&)>& isLive) {
  if (!request.info) return request.info.error().message;
  const TaskInfo& task = *request.info;
  const std::string quoted = "task '" + task.taskId + "'";
  if (auto valid = validateId("task ID", task.taskId); !valid) return valid.error().message;
  if (isLive(task.taskId)) {
    return "task ID '" + task.taskId + "' is already used by a live task of this framework";
  }
  if (seen.count(task.taskId)) return "task ID '" + task.taskId + "' appears twice in this accept";
  // An image brings its own command (Entrypoint and Cmd).
  if (task.command.value.empty() && task.container.image.empty()) {
    return quoted + " has no command to run";
  }
  if (task.resources.empty()) return quoted + " has no resources; give it at least cpus or mem";
  if (Status s = validateVolumes(task.container.volumes); !s) {
    return quoted + ": " + s.error().message;
  }
  if (!task.agentId.empty() && task.agentId != agentId) {
    return quoted + " names agent '" + task.agentId + "' but the offers are for agent '" + agentId +
           "'";
  }
  if (!remaining.contains(task.resources)) {
    std::string have = remaining.empty() ? "nothing" : remaining.toString();
    if (remaining == offered) {
      return quoted + " needs " + task.resources.toString() + " but the offers hold " + have;
    }
    return quoted + " needs " + task.resources.toString() + " but the offers have " + have +
           " left after earlier tasks (of " + offered.toString() + ")";
  }
  return "";
}

}  // namespace

LaunchPlan planLaunch(const std::vector<TaskRequest>& requests, const std::string& agentId,
                      const Resources& offered,
                      const std::function<bool(const std::string&)>& isLive,
                      const TaskAuthorizer& authorize) {
  LaunchPlan plan;
  Resources remaining = offered;
  std::set<std::string> seen;
  size_t i = 0;
  while (i < requests.size()) {
    // A unit is one plain task or every consecutive member of one group.
    size_t end = i + 1;
    if (requests[i].group >= 0) {
      while (end < requests.size() && requests[end].group == requests[i].group) ++end;
    }
    Resources unitRemaining = remaining;
    std::vector<TaskInfo> unitTasks;
    std::vector<std::string> errors(end - i);
    std::string firstError;
    std::set<std::string> unitSeen = seen;
    for (size_t j = i; j < end; ++j) {
      errors[j - i] = checkTask(requests[j], agentId, offered, unitRemaining, unitSeen, isLive);
      if (!errors[j - i].empty()) {
        if (firstError.empty()) firstError = errors[j - i];
        continue;
      }
      TaskInfo task = *requests[j].info;
      if (authorize) {
        if (std::string denied = authorize(task); !denied.empty()) {
          errors[j - i] = "task '" + task.taskId + "': " + denied;
          if (firstError.empty()) firstError = errors[j - i];
          continue;
        }
      }
      task.agentId = agentId;
      unitRemaining -= task.resources;
      unitSeen.insert(task.taskId);
      unitTasks.push_back(std::move(task));
    }
    if (firstError.empty()) {
      remaining = unitRemaining;
      seen = std::move(unitSeen);
      for (auto& task : unitTasks) {
        plan.used += task.resources;
        plan.launch.push_back(std::move(task));
      }
    } else {
      for (size_t j = i; j < end; ++j) {
        std::string message =
            errors[j - i].empty()
                ? "task group rejected because another member is invalid: " + firstError
                : errors[j - i];
        plan.rejected.push_back(TaskRejection{requests[j].taskId, std::move(message)});
      }
    }
    i = end;
  }
  return plan;
}

}  // namespace agora::master
