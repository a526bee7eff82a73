#pragma once
// cgroup v1: one hierarchy per controller (cpu and cpuacct may share one).
// Limits: cpu.shares, cpu.cfs_quota_us, memory.limit_in_bytes (and
// memory.memsw.limit_in_bytes when swap accounting exists, so swap does not
// extend the limit), pids.max. Kill: freezer FROZEN, SIGKILL, THAWED.
// OOM kills: `oom_kill` in memory.oom_control.

#include <map>
#include <string>

#include "agent/cgroups/cgroupfs.hpp"
#include "agent/cgroups/cgroups.hpp"

namespace agora::agent::cgroups {

class CgroupsV1 final : public Cgroups {
 public:
  // Controllers this backend needs.
  static const std::vector<std::string>& requiredControllers();

  // `roots`: controller -> absolute directory of this process's cgroup in
  // that controller's hierarchy. REQUIRES: every required controller present.
  explicit CgroupsV1(std::map<std::string, std::string> roots);

  int version() const override { return 1; }
  std::string describe() const override;
  Status create(const std::string& name) override;
  bool exists(const std::string& name) const override;
  std::vector<std::string> children(const std::string& name) const override;
  Status setLimits(const std::string& name, const CgroupLimits& limits) override;
  Status attach(const std::string& name, pid_t pid) override;
  std::vector<std::string> joinFiles(const std::string& name) const override;
  Result<std::vector<pid_t>> processes(const std::string& name) const override;
  Status killAll(const std::string& name) override;
  Status remove(const std::string& name) override;
  Result<CgroupUsage> usage(const std::string& name) const override;
  Result<int64_t> createdAt(const std::string& name) const override {
    return changeTime(path("freezer", name));
  }

 private:
  std::string path(const std::string& controller, const std::string& name) const;
  // Distinct hierarchy directories (cpu and cpuacct may be one).
  std::vector<std::string> hierarchies() const;
  Status freeze(const std::string& name, bool frozen);

  std::map<std::string, std::string> roots_;
};

}  // namespace agora::agent::cgroups
