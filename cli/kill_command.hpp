#pragma once
// `agora kill [--framework F] [--no-wait] [--timeout D] TASK`: kills a task
// of any framework through the master (POST /api/v1/tasks/ID/kill), then
// waits for it to end. TASK is an ID, or the name of one running task.
// Exit codes: 0 ended; kExitUsage bad arguments; kExitError refused (unknown
// task, already ended, agent unreachable) or not ended within --timeout.

#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

struct KillRequest {
  std::string taskId;
  std::string frameworkId;  // empty: whichever framework has the task
  bool wait = true;
  Duration timeout = std::chrono::seconds(30);  // for the task to end after the kill was sent
  bool help = false;       // usage printed; nothing to do
};

// Pure besides --help output; also applies --master to `global`.
Result<KillRequest> parseKillArgs(const std::vector<std::string>& args, GlobalOptions& global);

// The master's path for the kill: "/api/v1/tasks/<ID, percent-encoded>/kill".
std::string killPath(const std::string& taskId);

int killCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
