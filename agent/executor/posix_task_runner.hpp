#pragma once
// Runs the task's command with fork+exec: /bin/sh -c for shell commands, argv
// otherwise; in the sandbox, stdout/stderr appended to SANDBOX/stdout and
// SANDBOX/stderr, as the task's user when we are root.

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/task_runner.hpp"

namespace agora::agent {

class PosixTaskRunner final : public TaskRunner {
 public:
  // REQUIRES: reaper outlives the runner.
  explicit PosixTaskRunner(ChildReaper& reaper) : reaper_(reaper) {}
  Result<pid_t> start(const LaunchSpec& spec, ExitHandler onExit) override;
  void signalGroup(pid_t pgid, int signal) override;

 private:
  ChildReaper& reaper_;
};

// The task's environment: ours, then the command's variables, then
// AGORA_TASK_ID, AGORA_FRAMEWORK_ID, AGORA_CONTAINER_ID, AGORA_SANDBOX and
// their MESOS_* equivalents. Later entries win.
std::vector<std::string> taskEnvironment(const LaunchSpec& spec,
                                         const std::vector<std::string>& inherited);

}  // namespace agora::agent
