#pragma once
// Runs check probes (task_checks.hpp) as child processes of the executor,
// in the task's namespaces:
//
// - http and tcp: a child joins the task's network namespace (when it has
//   its own) and connects to 127.0.0.1:port; http sends
//   "GET path HTTP/1.1" and passes on a 2xx or 3xx status line. Nothing of
//   the task's filesystem or credentials is used: only its network.
// - command: a child joins every namespace of the task that differs from
//   ours (user first, then ipc, uts, net, pid, mount) and forks the command,
//   which starts exactly as the task's own command started (the runner's
//   TaskRunner::checkOptions(): user, environment, working directory,
//   capabilities, no_new_privs, seccomp) with the check's argv and extra
//   environment, output discarded. It passes when it exits 0.
//
// Children are in the executor's cgroups (the container's), so what a probe
// costs is the container's. A probe past its timeout is killed with its
// whole process group. Prepared in the parent: a child only makes
// async-signal-safe calls.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/process_launcher.hpp"
#include "agent/executor/task_checks.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"

namespace agora::agent {

class ProcessProber final : public Prober {
 public:
  struct Target {
    // Whose namespaces the probes enter: the task's process (its container
    // init when it has namespaces).
    pid_t pid = 0;
    // How the task's command started, for command checks; unset: command
    // checks fail saying so.
    std::optional<ProcessOptions> command;
  };

  // REQUIRES: loop and reaper outlive the prober.
  ProcessProber(EventLoop& loop, ChildReaper& reaper, Target target);
  ~ProcessProber() override;

  uint64_t start(const CheckInfo& check, Done done) override;
  void cancel(uint64_t id) override;

  size_t running() const { return probes_.size(); }

 private:
  struct Probe;
  Result<pid_t> spawnNetwork(const CheckInfo& check, int reportFd);
  Result<pid_t> spawnCommand(const CheckInfo& check, int reportFd);
  void onExit(uint64_t id, int waitStatus);
  void onTimeout(uint64_t id);
  void finish(uint64_t id, ProbeResult result);

  EventLoop& loop_;
  ChildReaper& reaper_;
  const Target target_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, std::unique_ptr<Probe>> probes_;
  LifetimeGuard lifetime_;
};

}  // namespace agora::agent
