#pragma once
// Stops the tasks of an `agora dev` cluster before its agent: an executor is
// built to outlive its agent (so tasks survive an agent restart), which on a
// one-machine dev cluster would leave them running, orphaned, after Ctrl-C.
//
// The agent's /api/v1/containers names each container's executor; its task is
// the executor's child (the task itself, or the container's init, which
// forwards signals). Each gets SIGTERM, then SIGKILL with its executor after
// the grace period, as `docker stop` does. Blocking; call from the main thread.

#include <chrono>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::cli {

struct StoppedTask {
  std::string taskId;
  std::string frameworkId;
  bool killed = false;  // still running after the grace period: SIGKILLed
};

// Stops the running containers of the agent whose HTTP API is at
// `agentAddress` (HOST:PORT), and any other process working under
// `agentWorkDir` (a task whose launch the agent's view does not show yet).
// Returns what was stopped.
Result<std::vector<StoppedTask>> stopAgentTasks(const std::string& agentAddress,
                                                const std::string& agentWorkDir,
                                                std::chrono::milliseconds grace);

// "stopped 2 tasks: run-1a2b, run-3c4d (run-3c4d killed after 10s)".
std::string describeStopped(const std::vector<StoppedTask>& tasks,
                            std::chrono::milliseconds grace);

// The live descendants of `pid` (children first), from one scan of /proc.
std::vector<pid_t> descendantsOf(pid_t pid);

}  // namespace agora::cli
