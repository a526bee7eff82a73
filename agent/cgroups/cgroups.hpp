#pragma once
// Control groups behind one interface: CgroupsV1 (a hierarchy per controller)
// and CgroupsV2 (the unified hierarchy). detectCgroups() picks one from what
// the host mounts.
//
// A cgroup is named relative to the backend's root, which is the cgroup this
// process runs in (so containers stay inside whatever limits the agent was
// started under), e.g. "agora/<containerId>". The controllers used are cpu,
// cpuacct (v1), memory, pids and freezer (v1; v2 has cgroup.freeze/kill).
//
// Thread: any, but one user at a time (no internal state besides paths).
// Calls block on cgroupfs only; killAll() may wait a bounded time (≤ ~2 s).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::agent::cgroups {

struct CgroupLimits {
  double cpus = 0;           // cpu shares/weight; 0 leaves the default
  bool cpuQuota = false;     // also a hard CFS quota of `cpus` per period
  uint64_t memoryBytes = 0;  // 0: unlimited
  uint64_t pidsMax = 0;      // 0: unlimited
};

struct CgroupUsage {
  double cpuUserSec = 0;
  double cpuSystemSec = 0;
  uint64_t cpuPeriods = 0;    // CFS periods with the quota active
  uint64_t cpuThrottled = 0;  // periods in which the group was throttled
  double cpuThrottledSec = 0;
  uint64_t memoryBytes = 0;
  uint64_t memoryRssBytes = 0;    // anonymous memory (v1 total_rss, v2 anon)
  uint64_t memoryPeakBytes = 0;   // 0 if the kernel does not track it
  uint64_t memoryLimitBytes = 0;  // UINT64_MAX-ish values mean unlimited
  uint64_t oomKills = 0;          // processes killed for hitting the memory limit
  uint64_t pids = 0;
};

class Cgroups {
 public:
  virtual ~Cgroups() = default;

  virtual int version() const = 0;
  // For logs: "cgroup v1 (cpu=/sys/fs/cgroup/cpu, ...)".
  virtual std::string describe() const = 0;

  // Readies the root for cgroups beneath it; called once at startup before
  // any child process starts. v2: a cgroup other than the hierarchy's root
  // that holds processes cannot hand controllers to children (the kernel's
  // "no internal processes" rule), so its processes, this one's included,
  // move into a leaf beneath it, as a service delegated a cgroup (systemd's
  // Delegate=yes) does. Returns how many moved.
  virtual Result<size_t> prepareRoot() { return size_t{0}; }
  // mkdir -p in every hierarchy (v2: enables the controllers on the way).
  // An existing cgroup is fine.
  virtual Status create(const std::string& name) = 0;
  virtual bool exists(const std::string& name) const = 0;
  // Child cgroup names (last component only) of `name`.
  virtual std::vector<std::string> children(const std::string& name) const = 0;
  virtual Status setLimits(const std::string& name, const CgroupLimits& limits) = 0;
  // Moves process `pid` (all its threads) into the cgroup.
  virtual Status attach(const std::string& name, pid_t pid) = 0;
  // Files a process with a single thread writes "0" into, each in turn, to
  // move itself into the cgroup (v1: every hierarchy's `tasks`). Cheaper than
  // attach(): a thread moving itself skips the kernel's lock over every
  // process's thread group, whose first taking after a quiet spell waits out
  // an RCU grace period (milliseconds). Empty where only whole processes move
  // (v2).
  virtual std::vector<std::string> joinFiles(const std::string& /*name*/) const { return {}; }
  virtual Result<std::vector<pid_t>> processes(const std::string& name) const = 0;
  // SIGKILLs every process in the cgroup, forks racing the kill included
  // (v1: freezer; v2: cgroup.kill), and waits until it is empty. kTimeout if
  // processes remain (e.g. stuck in uninterruptible sleep).
  virtual Status killAll(const std::string& name) = 0;
  // rmdir in every hierarchy. REQUIRES: empty (else EBUSY). Missing is fine.
  virtual Status remove(const std::string& name) = 0;
  virtual Result<CgroupUsage> usage(const std::string& name) const = 0;
  // When the cgroup was created (its directory's ctime), seconds since the epoch.
  virtual Result<int64_t> createdAt(const std::string& name) const = 0;
};

}  // namespace agora::agent::cgroups
