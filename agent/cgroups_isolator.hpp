#pragma once
// Puts each container in its own cgroup "<root>/<containerId>" (root
// "agora" by default, under the agent's own cgroup) with:
//   cpu     shares/weight from the task's `cpus` (1024 per cpu); a hard CFS
//           quota of `cpus` per period when Options::cpuQuota or the task
//           label "agora.cgroups.cpu_quota" is "true" (label wins);
//   memory  limit from `mem` (MB), swap included when accounted; no limit
//           without `mem`;
//   pids    Options::pidsMax, or the task label "agora.cgroups.pids_max".
// kill() and cleanup() kill the whole cgroup (daemonized and setsid'd
// descendants included); cleanup() then removes it. The root stays while the
// isolator lives (re-creating it in every hierarchy for each container that
// starts on an idle agent costs a launch about ten cgroup mkdirs and rmdirs);
// the isolator removes it when it goes, if empty. A container whose
// cgroup recorded an OOM kill reports REASON_CONTAINER_LIMITATION_MEMORY.
//
// Thread: the agent's loop thread. Cgroup operations block briefly (killing
// waits up to ~2 s for processes to disappear).

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/cgroups/cgroups.hpp"
#include "agent/isolator.hpp"

namespace agora::agent {

class CgroupsIsolator final : public Isolator {
 public:
  static constexpr const char* kPidsMaxLabel = "agora.cgroups.pids_max";
  static constexpr const char* kCpuQuotaLabel = "agora.cgroups.cpu_quota";
  static constexpr int64_t kStaleEmptySec = 60;

  struct Options {
    std::string root = "agora";  // relative to the agent's cgroup; one path component
    bool cpuQuota = false;
    uint64_t pidsMax = 1024;  // 0: unlimited
  };

  CgroupsIsolator(std::unique_ptr<cgroups::Cgroups> cgroups, Options options);
  ~CgroupsIsolator() override;
  CgroupsIsolator(const CgroupsIsolator&) = delete;
  CgroupsIsolator& operator=(const CgroupsIsolator&) = delete;

  std::string name() const override { return "cgroups"; }
  Status prepare(const ContainerConfig& config) override;
  // cgroup v1: the executor joins its cgroups itself (see Cgroups::joinFiles).
  std::vector<std::string> joinFiles(const std::string& containerId) const override;
  Status isolate(const std::string& containerId, pid_t pid) override;
  Status cleanup(const std::string& containerId) override;
  // Adopts the container's existing cgroup (an error if it is gone).
  Status recover(const ContainerConfig& config) override;
  Status kill(const std::string& containerId) override;
  bool holdsAllProcesses() const override { return true; }
  void usage(const std::string& containerId, ResourceStatistics& stats) const override;
  std::optional<ContainerLimitation> limitation(const std::string& containerId) const override;

  // Kills and removes the cgroups under the root for which `isLeftover`
  // (given the container ID) is true; also removes empty ones older than
  // kStaleEmptySec whatever their owner (containers of a work dir that is
  // gone; the age keeps another agent's container between prepare() and
  // isolate() safe). Returns the IDs removed. Meant for agent start.
  std::vector<std::string> removeLeftovers(
      const std::function<bool(const std::string& containerId)>& isLeftover);

  // The limits prepare() derives from a task (exposed for tests).
  cgroups::CgroupLimits limitsFor(const TaskInfo& task) const;
  const cgroups::Cgroups& cgroups() const { return *cgroups_; }
  std::string cgroupName(const std::string& containerId) const {
    return options_.root + "/" + containerId;
  }

 private:
  void removeRootIfUnused();

  std::unique_ptr<cgroups::Cgroups> cgroups_;
  const Options options_;
  std::map<std::string, double> memoryMb_;  // by container ID, for limitation messages
};

// "Memory limit exceeded: the task used more than its 64 MB (mem:64)".
std::string memoryLimitMessage(double memMb);

}  // namespace agora::agent
