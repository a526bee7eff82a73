#include "agent/executor/security_policy.hpp"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/executor/process_launcher.hpp"
#include "agent/executor/seccomp_profile.hpp"

namespace agora::agent {

namespace {

// runc's masked paths: the kernel's memory, keys, timers and hardware.
constexpr const char* kMaskedPaths[] = {
    "/proc/acpi",        "/proc/asound",      "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",        "/sys/firmware",     "/sys/devices/virtual/powercap",
};

// runc's read-only paths, and /sys: the container shares the host's sysfs
// (cgroup files included), where root could otherwise write.
constexpr const char* kReadOnlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/sys",
};

// True when `path` exists; false for ENOENT; fails the step otherwise.
bool exists(const char* path, struct stat& st, int errFd, int step) {
  if (stat(path, &st) == 0) return true;
  if (errno != ENOENT) failChild(errFd, step);
  return false;
}

// Sets (`on`) or clears `attrs` (MOUNT_ATTR_*) on the mount at dir/path;
// `flags`: AT_RECURSIVE, AT_EMPTY_PATH.
bool setAttrs(int dir, const char* path, uint64_t attrs, bool on, unsigned flags) {
  struct mount_attr attr = {};
  (on ? attr.attr_set : attr.attr_clr) = attrs;
  return syscall(SYS_mount_setattr, dir, path, flags, &attr, sizeof(attr)) == 0;
}

bool setReadOnly(const char* path, bool readOnly, bool recursive) {
  return setAttrs(AT_FDCWD, path, MOUNT_ATTR_RDONLY, readOnly, recursive ? AT_RECURSIVE : 0);
}

// Turns `path` into a mount point of its own (a bind onto itself).
bool bindOntoItself(const char* path) {
  return mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) == 0;
}

}  // namespace

Result<int> kernelLastCapability() {
  // libcap probes the kernel (PR_CAPBSET_READ) for the number it knows.
  int bits = static_cast<int>(cap_max_bits());
  if (bits < 1 || bits > 64) {
    return makeError(ErrorCode::kInternal, "libcap reports " + std::to_string(bits) + " capabilities");
  }
  return bits - 1;
}

Result<CapabilitySet> grantableCapabilities() {
  auto last = kernelLastCapability();
  if (!last) return makeError(last.error());
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return makeError(ErrorCode::kInternal, std::string("capget: ") + strerror(errno));
  }
  CapabilitySet permitted = CapabilitySet{data[0].permitted} |
                            CapabilitySet{data[1].permitted} << 32;
  CapabilitySet grantable = 0;
  for (int cap = 0; cap <= *last && cap < 64; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) grantable |= CapabilitySet{1} << cap;
  }
  return grantable & permitted;
}

Result<CapabilitySet> capabilitiesWithin(const ContainerInfo& container, int lastCapability,
                                         CapabilitySet grantable) {
  if (container.privileged) {
    auto all = resolveCapabilities({kAllCapabilities}, {}, lastCapability);
    if (!all) return all;
    return *all & grantable;
  }
  auto set = resolveCapabilities(container.capAdd, container.capDrop, lastCapability);
  if (!set) return set;
  CapabilitySet named = 0;
  for (const auto& name : container.capAdd) {
    if (auto cap = parseCapability(name); cap && *cap < 64) named |= CapabilitySet{1} << *cap;
  }
  if (CapabilitySet missing = named & ~grantable; missing != 0) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "capAdd: this agent cannot grant " + capabilityNames(missing) +
                         ": not in its own capability bounding set");
  }
  return *set & grantable;
}

Result<CapabilitySet> containerCapabilities(const ContainerInfo& container) {
  auto last = kernelLastCapability();
  if (!last) return makeError(last.error());
  auto grantable = grantableCapabilities();
  if (!grantable) return makeError(grantable.error());
  return capabilitiesWithin(container, *last, *grantable);
}

Result<std::unique_ptr<SecurityPolicy>> SecurityPolicy::create(
    const ContainerInfo& container, const std::string& sandbox,
    const std::vector<MountEntry>& mounts, const SeccompProgram* compiled,
    std::optional<HostView> host) {
  auto last = kernelLastCapability();
  if (!last) return makeError(last.error());
  auto caps = containerCapabilities(container);
  if (!caps) return makeError(caps.error());
  std::unique_ptr<SecurityPolicy> policy(new SecurityPolicy());
  policy->lastCapability_ = *last;
  policy->privileged_ = container.privileged;
  policy->readOnlyRootfs_ = container.readOnlyRootfs || (host && !container.privileged);
  policy->hostDev_ = host && !host->ownDev;
  policy->ownTmp_ = !host || host->privateTmp;
  policy->sandbox_ = sandbox;
  policy->sandboxIsCwd_ = host && host->sandboxIsCwd;
  for (const MountEntry& m : mounts) {
    bool absolute = !m.target.empty() && m.target[0] == '/';
    policy->mountModes_.push_back(MountMode{absolute ? m.target : sandbox + "/" + m.target,
                                            absolute ? "" : "./" + m.target,
                                            (m.flags & MS_RDONLY) != 0});
  }
  policy->capabilities_ = *caps;
  if (!usesSeccomp(container)) return policy;
  if (compiled != nullptr && compiled->capabilities == *caps && !compiled->program.empty()) {
    policy->filter_ = compiled->program;
    return policy;
  }
  auto filter = buildSeccompProfile(*caps);
  if (!filter) return makeError(filter.error());
  policy->filter_ = std::move(*filter);
  return policy;
}

void SecurityPolicy::applyMounts(int errFd) const {
  if (!privileged_) maskKernelPaths(errFd);
  if (readOnlyRootfs_) makeRootReadOnly(errFd);
}

void SecurityPolicy::maskKernelPaths(int errFd) const {
  struct stat st;
  for (const char* path : kMaskedPaths) {
    if (!exists(path, st, errFd, kStepMaskPaths)) continue;
    int rc = S_ISDIR(st.st_mode)
                 ? mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         nullptr)
                 : mount("/dev/null", path, nullptr, MS_BIND, nullptr);
    if (rc != 0) failChild(errFd, kStepMaskPaths);
  }
  for (const char* path : kReadOnlyPaths) {
    if (!exists(path, st, errFd, kStepReadOnlyPaths)) continue;
    if (!bindOntoItself(path) || !setReadOnly(path, true, true)) {
      failChild(errFd, kStepReadOnlyPaths);
    }
  }
}

// A recursive clone of the sandbox (its volumes included) mounted over it:
// a mount of its own, whose descriptor is returned. Where its path is
// closed to init (`viaCwd`), it is reached as init's working directory;
// init and the command then work in the clone.
int SecurityPolicy::mountSandboxOverItself(int errFd, bool& viaCwd) const {
  const char* path = sandbox_.c_str();
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  int fd = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, path, flags));
  viaCwd = fd < 0 && sandboxIsCwd_ && errno == EACCES;
  if (viaCwd) {
    path = ".";
    fd = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, path, flags));
  }
  if (fd < 0 ||
      syscall(SYS_move_mount, fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0 ||
      (sandboxIsCwd_ && fchdir(fd) != 0)) {
    failChild(errFd, kStepReadOnlyRoot);
  }
  return fd;
}

void SecurityPolicy::makeRootReadOnly(int errFd) const {
  struct stat st;
  // Bound onto itself even when it is a mount already: the attributes below
  // must never land on the mount holding it, the root. Only /tmp's own
  // mount is made writable again: what is mounted in it (the sandbox, the
  // volumes) gets its own mode below.
  bool tmp = ownTmp_ && exists("/tmp", st, errFd, kStepReadOnlyRoot);
  if (tmp && !bindOntoItself("/tmp")) failChild(errFd, kStepReadOnlyRoot);
  bool viaCwd = false;
  int sandbox = mountSandboxOverItself(errFd, viaCwd);
  if (!setReadOnly("/", true, true)) failChild(errFd, kStepReadOnlyRoot);
  // /proc itself stays writable (its masked and read-only parts do not).
  // The sandbox lies on a host filesystem: nodev, or a device node the task
  // makes there (CAP_MKNOD) would open the host's disks.
  if (!setReadOnly("/proc", false, false) || (!hostDev_ && !setReadOnly("/dev", false, true)) ||
      (tmp && !setReadOnly("/tmp", false, false)) ||
      !setAttrs(sandbox, "", MOUNT_ATTR_RDONLY, false, AT_EMPTY_PATH | AT_RECURSIVE) ||
      !setAttrs(sandbox, "", MOUNT_ATTR_NODEV, true, AT_EMPTY_PATH)) {
    failChild(errFd, kStepReadOnlyRoot);
  }
  close(sandbox);
  if (hostDev_) {
    // The container's own /dev/shm, and the host's ptys (where they are a
    // mount of their own).
    for (const char* path : {"/dev/shm", "/dev/pts"}) {
      if (!setReadOnly(path, false, false) && errno != EINVAL && errno != ENOENT) {
        failChild(errFd, kStepReadOnlyRoot);
      }
    }
  }
  // The lines above changed the volumes under them too: each gets its own
  // mode back, parents before what is mounted inside them.
  for (const MountMode& m : mountModes_) {
    const char* path = viaCwd && !m.inSandbox.empty() ? m.inSandbox.c_str() : m.path.c_str();
    if (!setReadOnly(path, m.readOnly, true)) failChild(errFd, kStepReadOnlyRoot);
  }
}

void SecurityPolicy::dropBoundingSet(int errFd) const {
  if (privileged_) return;
  for (int cap = 0; cap <= lastCapability_; ++cap) {
    if ((capabilities_ >> cap & 1) != 0) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) failChild(errFd, kStepCapBounding);
  }
}

void SecurityPolicy::restrict(int errFd) const {
  if (privileged_) return;
  // Root gets the container's set; any other user already lost them all.
  CapabilitySet held = geteuid() == 0 ? capabilities_ : 0;
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = data[i].permitted = static_cast<uint32_t>(held >> (32 * i));
    data[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, data) != 0) failChild(errFd, kStepCapabilities);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    failChild(errFd, kStepCapabilities);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) failChild(errFd, kStepNoNewPrivs);
  if (filter_.empty()) return;
  sock_fprog program = {static_cast<unsigned short>(filter_.size()),
                        const_cast<sock_filter*>(filter_.data())};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
    failChild(errFd, kStepSeccomp);
  }
}

}  // namespace agora::agent
