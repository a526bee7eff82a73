#pragma once
// `agora logs [-f] [--stderr] TASK_ID`: a task's stdout (or stderr) through
// its agent's files API; -f follows the file until the task is terminal.

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int logsCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
