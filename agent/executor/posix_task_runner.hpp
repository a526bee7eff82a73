#pragma once
// Runs the task's command with fork+exec: /bin/sh -c for shell commands, argv
// otherwise; in the sandbox, stdout/stderr appended to SANDBOX/stdout and
// SANDBOX/stderr, as the task's user when we are root.

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/process_launcher.hpp"
#include "agent/executor/task_runner.hpp"

namespace agora::agent {

class PosixTaskRunner final : public TaskRunner {
 public:
  // REQUIRES: reaper outlives the runner.
  explicit PosixTaskRunner(ChildReaper& reaper) : reaper_(reaper) {}
  Result<pid_t> start(const LaunchSpec& spec, ExitHandler onExit) override;
  void signalGroup(pid_t pgid, int signal) override;
  std::optional<ProcessOptions> checkOptions() const override { return command_; }

 private:
  ChildReaper& reaper_;
  std::optional<ProcessOptions> command_;
};

// How the task's command is started, shared by the task runners: argv from
// the CommandInfo, the task environment, the sandbox as working directory
// with SANDBOX/stdout and SANDBOX/stderr appended to, its own process group,
// and the command's user (the sandbox and output files chowned to it).
Result<ProcessOptions> taskProcessOptions(const LaunchSpec& spec);

// Chowns the sandbox and its stdout/stderr (created if missing) to `user`,
// so that the task can write them. REQUIRES: root.
Status giveSandboxTo(const LaunchSpec& spec, const UserIds& user);

// PATH a task gets unless its image or its command sets one (Docker's).
inline constexpr const char* kDefaultTaskPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The task's environment, never the agent's or the executor's: `base` (an
// image's Env, or hostTaskBaseEnvironment()), then the command's variables,
// then AGORA_TASK_ID, AGORA_FRAMEWORK_ID, AGORA_AGENT_ID,
// AGORA_CONTAINER_ID, AGORA_SANDBOX and their MESOS_* equivalents. Later
// entries win. `sandbox` is the sandbox as the task sees it (the host path
// unless it has its own root filesystem).
std::vector<std::string> taskEnvironment(const LaunchSpec& spec,
                                         const std::vector<std::string>& base,
                                         const std::string& sandbox);

// What a task without an image starts from: PATH=kDefaultTaskPath and HOME.
std::vector<std::string> hostTaskBaseEnvironment(const std::string& home);

}  // namespace agora::agent
