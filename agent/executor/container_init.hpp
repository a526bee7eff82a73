#pragma once
// The first process of a task's namespaces (pid 1 of its pid namespace),
// entered through clone(). It finishes setting the namespaces up, forks the
// task's command, reaps every process the namespace reparents to it,
// forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the
// command's process group, and exits when the command has: the kernel then
// kills whatever else is left in the namespace (daemons included).
//
// Before exiting it writes the command's raw wait status (an int) to
// statusFd and exits with the command's code (128+N after signal N), so the
// parent can report a signal death as such although pid 1 cannot die of a
// signal it sends itself. Each step that fails is reported on errFd as a
// ChildFailure (see process_launcher.hpp) and ends init with 127.
//
// Runs in a child cloned from a multi-threaded process: everything it does
// is async-signal-safe, and everything it reads is prepared by the parent.

#include "agent/executor/process_launcher.hpp"
#include "agent/executor/rootfs_setup.hpp"
#include "agent/executor/volume_mounts.hpp"
#include "agent/executor/security_policy.hpp"

namespace agora::agent {

struct ContainerInitConfig {
  const PreparedProcess* command = nullptr;
  const RootfsPlan* rootfs = nullptr;  // the mount sequence (rootfs_setup.hpp)
  int syncFd = -1;    // init waits for one byte (the parent mapped its user ids)
  int errFd = -1;     // ChildFailure on a failed step; EOF once the command exec'd
  int statusFd = -1;  // the command's wait status, written before init exits
  const char* hostname = nullptr;  // set in the new uts namespace
  bool loopbackUp = false;         // bring `lo` up (own network namespace)
  bool becomeRoot = false;         // fresh user namespace: drop groups, become uid/gid 0
  // Entered before becoming root there (the mapped host user may not be able
  // to reach it by path); the command inherits it.
  const char* cwd = nullptr;
  // Mounts made once the namespaces are set up (nullptr: none).
  const PreparedMounts* mounts = nullptr;
  const SecurityPolicy* security = nullptr;  // its mounts, once /proc is mounted; null: none
  // Descriptors init keeps open (stdio and the above), sorted ascending;
  // every other inherited descriptor is closed.
  int keep[16] = {};
  int keepCount = 0;
};

// The clone() entry point; `config` is a ContainerInitConfig. Never returns.
int containerInit(void* config);

}  // namespace agora::agent
