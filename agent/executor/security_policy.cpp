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

bool setReadOnly(const char* path, bool readOnly, bool recursive) {
  struct mount_attr attr = {};
  (readOnly ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
  unsigned flags = recursive ? AT_RECURSIVE : 0;
  return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof(attr)) == 0;
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
    const std::vector<MountEntry>& mounts, const SeccompProgram* compiled, bool hostDev) {
  auto last = kernelLastCapability();
  if (!last) return makeError(last.error());
  auto caps = containerCapabilities(container);
  if (!caps) return makeError(caps.error());
  std::unique_ptr<SecurityPolicy> policy(new SecurityPolicy());
  policy->lastCapability_ = *last;
  policy->privileged_ = container.privileged;
  policy->readOnlyRootfs_ = container.readOnlyRootfs;
  policy->hostDev_ = hostDev;
  policy->sandbox_ = sandbox;
  for (const MountEntry& m : mounts) {
    bool absolute = !m.target.empty() && m.target[0] == '/';
    std::string path = absolute ? m.target : sandbox + "/" + m.target;
    policy->mountModes_.emplace_back(std::move(path), (m.flags & MS_RDONLY) != 0);
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

void SecurityPolicy::makeRootReadOnly(int errFd) const {
  struct stat st;
  bool tmp = exists("/tmp", st, errFd, kStepReadOnlyRoot);
  if ((tmp && !bindOntoItself("/tmp")) || !bindOntoItself(sandbox_.c_str()) ||
      !setReadOnly("/", true, true)) {
    failChild(errFd, kStepReadOnlyRoot);
  }
  // /proc itself stays writable (its masked and read-only parts do not).
  if (!setReadOnly("/proc", false, false) || (!hostDev_ && !setReadOnly("/dev", false, true)) ||
      (tmp && !setReadOnly("/tmp", false, true)) || !setReadOnly(sandbox_.c_str(), false, true)) {
    failChild(errFd, kStepReadOnlyRoot);
  }
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
  for (const auto& [path, readOnly] : mountModes_) {
    if (!setReadOnly(path.c_str(), readOnly, true)) failChild(errFd, kStepReadOnlyRoot);
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
