#pragma once
// Runs the task's command in its own pid, mount, uts and ipc namespaces (and
// a network namespace with only `lo` for network mode none), under a small
// init of ours that is pid 1 there (container_init.hpp). The command itself
// starts as PosixTaskRunner starts it: same argv, environment, sandbox,
// output files and user.
//
// The pid start() returns and signalGroup() takes is init's: SIGTERM is
// forwarded to the command's process group; SIGKILL ends init and with it
// every process of the pid namespace. The exit reported is the command's.
// With ContainerInfo.userNamespace the task also gets a user namespace in
// which it is root, mapped to its CommandInfo.user on the host (nobody when
// unset): it holds capabilities only over its own namespaces, and its
// sandbox is chowned to that user. Every container is confined further by
// its SecurityPolicy (security_policy.hpp): capabilities, no_new_privs,
// seccomp, masked kernel paths, optionally a read-only root.
// Without an image the task sees the host's filesystem, read-only and nodev
// but for its sandbox (nodev too), its volumes (in their own modes), its
// own /tmp and its own minimal /dev as an image gets (rootfs_setup.hpp;
// unless it is privileged: then all of it writable, with the host's /dev
// and its own /dev/shm; SecurityPolicy, HostView). Its /tmp is SANDBOX/tmp
// (kSandboxTmpDir, mode 1777, owned by the task's user): what it writes
// there counts against its disk and goes with its sandbox. Its /dev/shm is
// a tmpfs charged to its memory cgroup. Its sandbox and volumes stay
// reachable where they are when they lie under the host's /tmp.
// Requires root (CAP_SYS_ADMIN).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/task_runner.hpp"

namespace agora::agent {

// The task's /tmp without an image, in its sandbox.
inline constexpr const char* kSandboxTmpDir = "tmp";

class NamespaceTaskRunner final : public TaskRunner {
 public:
  // REQUIRES: reaper outlives the runner.
  explicit NamespaceTaskRunner(ChildReaper& reaper);
  ~NamespaceTaskRunner() override;
  // Clones init and lets it build the container; start() then waits for
  // its outcome (the command's exec or what failed).
  void begin(const LaunchSpec& spec) override;
  Result<pid_t> start(const LaunchSpec& spec, ExitHandler onExit) override;
  void signalGroup(pid_t pgid, int signal) override;
  std::optional<ProcessOptions> checkOptions() const override { return command_; }

 private:
  struct Released;
  Result<std::unique_ptr<Released>> release(const LaunchSpec& spec);
  Result<pid_t> finish(Released& released, ExitHandler onExit);

  ChildReaper& reaper_;
  std::optional<Result<std::unique_ptr<Released>>> begun_;  // by begin(), for start()
  std::optional<ProcessOptions> command_;  // how the command started, once it did
};

// The container's hostname when the task sets none: its container ID,
// reduced to a valid host name ("container" if nothing of it is usable).
std::string defaultHostname(const std::string& containerId);

// The clone() flags for `container` (without the exit signal).
Result<int> namespaceFlags(const ContainerInfo& container);

}  // namespace agora::agent
