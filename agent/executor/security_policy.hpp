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
//   container shares the host's sysfs, the whole of /sys. With a read-only
//   root it then makes every mount of the container's view read-only except
//   /proc, its own /dev and /tmp and the sandbox (nodev there: a device node
//   made in it opens nothing), and gives each of the task's own mounts
//   (volumes) back the mode it was made with, in mount order, so a nested
//   read-only volume stays read-only.
// - The root is read-only with readOnlyRootfs, and by default for a
//   container without an image (HostView): it sees the host's filesystem,
//   which it must not change. The way to write a host path is a host-path
//   volume.
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
// masked paths, and without an image keeps the host's filesystem writable
// (unless readOnlyRootfs): it could remount it anyway. seccompUnconfined
// skips only seccomp.
//
// The seccomp profile is the one the agent compiled (LaunchSpec::seccomp)
// when that was compiled for the container's capability set; otherwise it
// is compiled here.

#include <linux/filter.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "common/capabilities.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

// What a container without an image sees of the host: its filesystem, and
// its own /dev (RootfsOptions::isolateDevices) or, when privileged, the
// host's, which a read-only root keeps read-only but for /dev/shm and
// /dev/pts. A read-only mount does not stop writes to a device node (there
// is no device cgroup either): only the container's own /dev, over every
// host mount made nodev, keeps the host's disks out of reach.
struct HostView {
  // /tmp is the container's own (its sandbox's), kept writable; otherwise
  // it is the host's (read-only) or a volume (in its own mode).
  bool privateTmp = false;
  // Init's working directory is the sandbox, and the command inherits it
  // (user namespace): the sandbox's path may be closed to init there.
  bool sandboxIsCwd = false;
  // Its /dev is its own (rootfs_setup.hpp), not the host's.
  bool ownDev = false;
};

class SecurityPolicy {
 public:
  // kFailedPrecondition when a capability is unknown to the running kernel.
  // `sandbox` is the sandbox as the task sees it; it stays writable with a
  // read-only root. `mounts` are the task's own mounts (relative targets in
  // the sandbox), in the order init makes them. `compiled`: the agent's
  // seccomp profile (may be null). `host`: the container has no image.
  static Result<std::unique_ptr<SecurityPolicy>> create(
      const ContainerInfo& container, const std::string& sandbox,
      const std::vector<MountEntry>& mounts, const SeccompProgram* compiled = nullptr,
      std::optional<HostView> host = std::nullopt);

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

  // A mode restored under a read-only root; `inSandbox`: the same mount
  // from the sandbox ("./target"), empty for an absolute target.
  struct MountMode {
    std::string path;
    std::string inSandbox;
    bool readOnly = false;
  };

  void maskKernelPaths(int errFd) const;
  void makeRootReadOnly(int errFd) const;
  int mountSandboxOverItself(int errFd, bool& viaCwd) const;

  CapabilitySet capabilities_ = 0;
  int lastCapability_ = 0;
  bool privileged_ = false;
  bool readOnlyRootfs_ = false;
  bool hostDev_ = false;  // the host's /dev, not the container's own
  bool ownTmp_ = true;  // /tmp is the container's: writable under a read-only root
  bool sandboxIsCwd_ = false;
  std::string sandbox_;
  // The task's mounts as the task sees them, in mount order.
  std::vector<MountMode> mountModes_;
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
