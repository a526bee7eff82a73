#pragma once
// How the executor starts and signals its task. The real implementation forks
// the command; unit tests substitute a fake.

#include <sys/types.h>

#include <functional>
#include <optional>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/process_launcher.hpp"
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
  // May set the start of `spec` going ahead of start() (which must follow,
  // with the same spec, and reports any failure): called before the
  // executor's other threads exist, so what it copies is copied from a
  // single-threaded process (no TLB shootdowns for its copy-on-write pages).
  virtual void begin(const LaunchSpec& spec) { (void)spec; }
  // Sends `signal` to the task's process group (through init, which forwards
  // it, when the task has namespaces).
  virtual void signalGroup(pid_t pgid, int signal) = 0;
  // How the task's command was started (user, environment, working
  // directory, security), once start() succeeded: command checks start the
  // same way (process_prober.hpp). Unset when unknown.
  virtual std::optional<ProcessOptions> checkOptions() const { return std::nullopt; }
};

}  // namespace agora::agent
