#pragma once
// The kernel's share of an image container's start on this host, measured
// with nothing else around it: one process creates the container's cgroups
// (same limits as the benchmark's tasks), clones into new pid, mount, uts
// and ipc namespaces; the child joins the cgroups, mounts an overlay rootfs
// (a busybox layer, fresh upper and work dirs) with /proc and a /dev tmpfs,
// pivot_roots into it and execs `busybox true`. Timed from the cgroups'
// creation to the exec (a close-on-exec pipe), as agora-bench-container
// times the agent from the launch to TASK_RUNNING. Not timed: removing the
// cgroups and dirs afterwards.
//
// The floor holds none of what a real launch adds: no supervisor process
// (fork server, executor, container init), no messages, no checkpoints,
// no /sys, /dev nodes, masked paths, capabilities or seccomp. Its ratio to
// the agent's figure shows how much of a launch is the host's kernel (page
// faults, clone, mount and pivot_root costs vary several-fold between
// hosts) and how much is the agent's own.

#include <string>
#include <vector>

namespace agora::bench {

struct FloorFigures {
  std::vector<double> ms;  // per start
  // CPU per start, all processes: this thread's (cgroups, dirs, clone) and
  // the child's whole life (set-up, exec, `true`, exit). A burst of N
  // containers on C CPUs cannot take less than N * cpuMs / C.
  double cpuMs = 0;
};

// `runs` starts; scratch dirs go under `dir` (which must exist, on the
// filesystem the agent's work dir uses). Needs root, overlayfs and
// /bin/busybox; CHECK-fails otherwise.
FloorFigures measureContainerFloor(int runs, const std::string& dir);

}  // namespace agora::bench
