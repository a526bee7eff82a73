#pragma once
// cgroup v2: the unified hierarchy. Limits: cpu.weight, cpu.max,
// memory.max (memory.swap.max 0 when present, as v1's memsw), pids.max.
// Kill: cgroup.kill (5.14+), else cgroup.freeze + SIGKILL. OOM kills:
// `oom_kill` in memory.events.
//
// Controllers are enabled in cgroup.subtree_control of every ancestor of a
// created cgroup below the root. REQUIRES: the root is delegated to the
// agent (systemd's Delegate=yes, or a container's cgroup namespace), and
// prepareRoot() ran: it moves the processes of the root, the agent's
// included, into the leaf kAgentLeaf beneath it (the kernel's "no internal
// processes" rule), so the root can hand controllers to the containers'.

#include <string>
#include <vector>

#include "agent/cgroups/cgroupfs.hpp"
#include "agent/cgroups/cgroups.hpp"

namespace agora::agent::cgroups {

class CgroupsV2 final : public Cgroups {
 public:
  // Where prepareRoot() moves the root's processes; detection takes an agent
  // that starts in it as started in the root.
  static constexpr const char* kAgentLeaf = "agora-agent";

  struct Options {
    // Enabled in every ancestor of a created cgroup; create() fails naming
    // the first one the hierarchy does not offer.
    std::vector<std::string> controllers{"cpu", "memory", "pids"};
    // Kill through cgroup.kill when the kernel has it; false: always freeze
    // and SIGKILL, as on kernels before 5.14.
    bool killFile = true;
  };

  // `root`: absolute directory of this process's cgroup in the unified hierarchy.
  explicit CgroupsV2(std::string root) : CgroupsV2(std::move(root), Options{}) {}
  CgroupsV2(std::string root, Options options);

  int version() const override { return 2; }
  std::string describe() const override { return "cgroup v2 (" + root_ + ")"; }
  Result<size_t> prepareRoot() override;
  Status create(const std::string& name) override;
  bool exists(const std::string& name) const override;
  std::vector<std::string> children(const std::string& name) const override;
  Status setLimits(const std::string& name, const CgroupLimits& limits) override;
  Status attach(const std::string& name, pid_t pid) override;
  Result<std::vector<pid_t>> processes(const std::string& name) const override;
  Status killAll(const std::string& name) override;
  Status remove(const std::string& name) override;
  Result<CgroupUsage> usage(const std::string& name) const override;
  Result<int64_t> createdAt(const std::string& name) const override {
    return changeTime(path(name));
  }

 private:
  std::string path(const std::string& name) const { return root_ + "/" + name; }
  Status enableControllers(const std::string& dir);
  Status freeze(const std::string& name, bool frozen);

  std::string root_;
  Options options_;
};

}  // namespace agora::agent::cgroups
