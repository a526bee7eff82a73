#pragma once
// `agora logs [-f] [--stderr] TASK`: a task's stdout (or stderr) through its
// agent's files API; -f follows the file until the task is terminal. TASK is
// a task ID, or a task name that exactly one task has.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

// The entry of GET /api/v1/tasks (`tasksBody`) that `idOrName` means: the
// task with that ID, else the one task with that name. kNotFound when none
// has it; kFailedPrecondition listing the IDs (and states) when several
// tasks share the ID (several frameworks) or the name. With `liveOnly`,
// tasks in a terminal state are not considered.
Result<nlohmann::json> findTask(const nlohmann::json& tasksBody, const std::string& idOrName,
                                bool liveOnly = false);

// "TASK_FINISHED", "TASK_KILLED"...: a state after which nothing runs.
bool isTerminalStateName(const std::string& state);

int logsCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
