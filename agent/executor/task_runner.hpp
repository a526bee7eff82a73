#pragma once
// How the executor starts and signals its task. The real implementation forks
// the command; unit tests substitute a fake.

#include <sys/types.h>

#include <functional>

#include "agent/executor/launch_spec.hpp"
#include "common/result.hpp"

namespace agora::agent {

class TaskRunner {
 public:
  using ExitHandler = std::function<void(int waitStatus)>;
  virtual ~TaskRunner() = default;
  // Starts the task's command in its own process group (pgid == pid).
  // `onExit` runs on the loop thread when the process has been reaped.
  virtual Result<pid_t> start(const LaunchSpec& spec, ExitHandler onExit) = 0;
  // Sends `signal` to the task's process group.
  virtual void signalGroup(pid_t pgid, int signal) = 0;
};

}  // namespace agora::agent
