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
  // Starts the task's command in its own process group (pgid == pid), or
  // its namespaces' init (see NamespaceTaskRunner). `onExit` runs on the
  // loop thread when the process has been reaped, with the command's status.
  virtual Result<pid_t> start(const LaunchSpec& spec, ExitHandler onExit) = 0;
  // Sends `signal` to the task's process group (through init, which forwards
  // it, when the task has namespaces).
  virtual void signalGroup(pid_t pgid, int signal) = 0;
};

}  // namespace agora::agent
