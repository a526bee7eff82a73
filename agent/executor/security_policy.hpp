#pragma once
// What confines a namespaced container beyond its namespaces, prepared in
// the executor (the parent) and applied by the container's processes, which
// may only make async-signal-safe calls:
//
// - Container init, right after it mounted /proc (applyMounts()): masks the
//   kernel paths runc masks (/dev/null over files, an empty read-only tmpfs
//   over directories: /proc/kcore, /proc/keys, /proc/timer_list,
//   /sys/firmware, ...), makes runc's read-only paths read-only (/proc/sys,
//   /proc/sysrq-trigger, /proc/irq, /proc/bus, /proc/fs) and, since the
//   container shares the host's sysfs, the whole of /sys. With
//   readOnlyRootfs it then makes every mount of the container's view
//   read-only except /proc, /dev, /tmp and the sandbox, and gives each of
//   the task's own mounts (volumes) back the mode it was made with, in
//   mount order, so a nested read-only volume stays read-only.
// - The command, between fork and exec (dropBoundingSet() before it
//   switches user, restrict() after): the bounding set reduced to the
//   container's capabilities (Docker's default set, plus capAdd, minus
//   capDrop), permitted and effective set to them when the command runs as
//   root (a non-root user keeps none, as the kernel leaves it after
//   setuid), inheritable and ambient sets cleared (an inheritable set would
//   let file capabilities grant more, CVE-2022-24769), no_new_privs, and the
//   seccomp profile of seccomp_profile.hpp.
//
// privileged keeps every capability and skips no_new_privs, seccomp and the
// masked paths; seccompUnconfined skips only seccomp.
//
// The seccomp profile is the one the agent compiled (LaunchSpec::seccomp)
// when that was compiled for the container's capability set; otherwise it
// is compiled here.

#include <linux/filter.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "common/capabilities.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

class SecurityPolicy {
 public:
  // kFailedPrecondition when a capability is unknown to the running kernel.
  // `sandbox` is the sandbox as the task sees it; it stays writable with a
  // read-only root. `mounts` are the task's own mounts (relative targets in
  // the sandbox), in the order init makes them. `compiled`: the agent's
  // seccomp profile (may be null). `hostDev`: the task sees the host's /dev
  // (no image), which a read-only root keeps read-only but for /dev/shm and
  // /dev/pts (its device nodes still open for writing).
  static Result<std::unique_ptr<SecurityPolicy>> create(const ContainerInfo& container,
                                                        const std::string& sandbox,
                                                        const std::vector<MountEntry>& mounts,
                                                        const SeccompProgram* compiled = nullptr,
                                                        bool hostDev = false);

  // Init side, /proc mounted. Reports a failed step on errFd (see
  // process_launcher.hpp) and exits. Async-signal-safe.
  void applyMounts(int errFd) const;
  // Command side, still as the launching user. Async-signal-safe.
  void dropBoundingSet(int errFd) const;
  // Command side, after the user switch, just before exec. Async-signal-safe.
  void restrict(int errFd) const;

  CapabilitySet capabilities() const { return capabilities_; }
  bool seccomp() const { return !filter_.empty(); }
  const std::vector<sock_filter>& seccompFilter() const { return filter_; }

 private:
  SecurityPolicy() = default;

  void maskKernelPaths(int errFd) const;
  void makeRootReadOnly(int errFd) const;

  CapabilitySet capabilities_ = 0;
  int lastCapability_ = 0;
  bool privileged_ = false;
  bool readOnlyRootfs_ = false;
  bool hostDev_ = false;
  std::string sandbox_;
  // The task's mounts as the task sees them, with their read-only flag.
  std::vector<std::pair<std::string, bool>> mountModes_;
  std::vector<sock_filter> filter_;  // empty: no seccomp
};

// The highest capability number the running kernel knows.
Result<int> kernelLastCapability();

// What this process can hand its children: its capability bounding set and
// its permitted set both. On hosts (or in containers) with a reduced bounding
// set this is less than every capability the kernel knows.
Result<CapabilitySet> grantableCapabilities();

// The capabilities `container` holds: all when privileged, else Docker's
// default set plus capAdd minus capDrop -- within `grantable`. "ALL" and
// privileged get what is grantable; a capability named in capAdd that is not
// grantable is kFailedPrecondition naming it, as is one unknown to the kernel
// (its last capability is `lastCapability`).
Result<CapabilitySet> capabilitiesWithin(const ContainerInfo& container, int lastCapability,
                                         CapabilitySet grantable);

// capabilitiesWithin() for the running kernel and this process.
Result<CapabilitySet> containerCapabilities(const ContainerInfo& container);

// Whether `container` runs under the seccomp profile.
inline bool usesSeccomp(const ContainerInfo& container) {
  return !container.privileged && !container.seccompUnconfined;
}

}  // namespace agora::agent
