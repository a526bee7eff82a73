#pragma once
// Validation of the tasks in one ACCEPT against the offers it uses. Pure
// logic: the caller decodes the wire tasks first and applies the plan after.

#include <functional>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"

namespace agora::master {

struct TaskRequest {
  std::string taskId;     // as sent, possibly invalid
  Result<TaskInfo> info;  // an Error when the wire TaskInfo did not convert (bad resources, ...)
  int group = -1;         // index of its LAUNCH_GROUP operation; -1 for a plain LAUNCH
};

struct TaskRejection {
  std::string taskId;
  std::string message;  // names the problem, e.g. "task 't1' needs cpus:2 but ..."
};

struct LaunchPlan {
  std::vector<TaskInfo> launch;  // valid tasks, agentId filled in, in request order
  std::vector<TaskRejection> rejected;
  Resources used;  // sum of the launched tasks' resources
};

// Checks, in order: decode errors, task ID syntax, duplicate of a live task
// (isLive) or of an earlier task in the same accept, a command (or an image)
// and resources, volume syntax (validateVolumes), agent ID matching the offers,
// that the task fits in what the offers have left after earlier valid
// tasks, then `authorize` (may fill in the task, e.g. its user; returns why
// it may not run, or empty). Tasks of one group are all-or-nothing: if one
// fails, every member is rejected.
using TaskAuthorizer = std::function<std::string(TaskInfo& task)>;
LaunchPlan planLaunch(const std::vector<TaskRequest>& requests, const std::string& agentId,
                      const Resources& offered,
                      const std::function<bool(const std::string& taskId)>& isLive,
                      const TaskAuthorizer& authorize = {});

}  // namespace agora::master
