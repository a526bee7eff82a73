#include "agent/cgroups_isolator.hpp"

#include <glog/logging.h>

#include <cstdio>
#include <ctime>

namespace agora::agent {

namespace {

constexpr double kBytesPerMb = 1024.0 * 1024.0;

std::string formatMb(double mb) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", mb);
  return buf;
}

}  // namespace

std::string memoryLimitMessage(double memMb) {
  std::string mb = formatMb(memMb);
  return "Memory limit exceeded: the task used more than its " + mb + " MB (mem:" + mb + ")";
}

CgroupsIsolator::CgroupsIsolator(std::unique_ptr<cgroups::Cgroups> cgroups, Options options)
    : cgroups_(std::move(cgroups)), options_(std::move(options)) {
  CHECK(!options_.root.empty() && options_.root.find('/') == std::string::npos)
      << "cgroups root must be one path component: " << options_.root;
}

CgroupsIsolator::~CgroupsIsolator() { removeRootIfUnused(); }

cgroups::CgroupLimits CgroupsIsolator::limitsFor(const TaskInfo& task) const {
  cgroups::CgroupLimits limits;
  limits.cpus = task.resources.scalar("cpus");
  limits.cpuQuota = options_.cpuQuota;
  if (const std::string* quota = findValue(task.labels, kCpuQuotaLabel)) {
    limits.cpuQuota = *quota == "true";
  }
  if (!(limits.cpus > 0)) limits.cpuQuota = false;  // nothing to derive a quota from
  double mem = task.resources.scalar("mem");
  if (mem > 0) limits.memoryBytes = static_cast<uint64_t>(mem * kBytesPerMb);
  limits.pidsMax = options_.pidsMax;
  if (const std::string* pids = findValue(task.labels, kPidsMaxLabel)) {
    char* end = nullptr;
    unsigned long long value = std::strtoull(pids->c_str(), &end, 10);
    if (end != pids->c_str() && *end == '\0') limits.pidsMax = value;
  }
  return limits;
}

Status CgroupsIsolator::prepare(const ContainerConfig& config) {
  std::string name = cgroupName(config.containerId);
  cgroups::CgroupLimits limits = limitsFor(config.task);
  // Another agent's cleanup may rmdir the shared root between our mkdirs: retry once.
  Status created = cgroups_->create(name);
  if (!created) created = cgroups_->create(name);
  if (!created) return makeError(created.error().withContext("creating cgroup " + name));
  if (Status s = cgroups_->setLimits(name, limits); !s) {
    return makeError(s.error().withContext("setting the limits of cgroup " + name));
  }
  memoryMb_[config.containerId] = config.task.resources.scalar("mem");
  return {};
}

std::vector<std::string> CgroupsIsolator::joinFiles(const std::string& containerId) const {
  return cgroups_->joinFiles(cgroupName(containerId));
}

Status CgroupsIsolator::isolate(const std::string& containerId, pid_t pid) {
  std::string name = cgroupName(containerId);
  if (Status s = cgroups_->attach(name, pid); !s) {
    return makeError(s.error().withContext("attaching pid " + std::to_string(pid) + " to " + name));
  }
  return {};
}

Status CgroupsIsolator::recover(const ContainerConfig& config) {
  std::string name = cgroupName(config.containerId);
  if (!cgroups_->exists(name)) {
    return makeError(ErrorCode::kNotFound, "cgroup " + name + " of a recovered container is gone");
  }
  memoryMb_[config.containerId] = config.task.resources.scalar("mem");
  return {};
}

Status CgroupsIsolator::kill(const std::string& containerId) {
  return cgroups_->killAll(cgroupName(containerId));
}

Status CgroupsIsolator::cleanup(const std::string& containerId) {
  memoryMb_.erase(containerId);
  std::string name = cgroupName(containerId);
  if (!cgroups_->exists(name)) return {};
  if (Status s = cgroups_->killAll(name); !s) return s;
  return cgroups_->remove(name);
}

void CgroupsIsolator::removeRootIfUnused() {
  // EBUSY while other containers (of any agent sharing the root) exist is
  // expected.
  if (cgroups_->children(options_.root).empty()) (void)cgroups_->remove(options_.root);
}

void CgroupsIsolator::usage(const std::string& containerId, ResourceStatistics& stats) const {
  auto u = cgroups_->usage(cgroupName(containerId));
  if (!u) {
    VLOG(1) << "no cgroup usage for container " << containerId << ": " << u.error().message;
    return;
  }
  stats.cgroups = true;
  stats.cpusUserSec = u->cpuUserSec;
  stats.cpusSystemSec = u->cpuSystemSec;
  stats.cpusNrPeriods = u->cpuPeriods;
  stats.cpusNrThrottled = u->cpuThrottled;
  stats.cpusThrottledSec = u->cpuThrottledSec;
  stats.memUsageBytes = u->memoryBytes;
  stats.memRssBytes = u->memoryRssBytes;
  stats.memPeakBytes = u->memoryPeakBytes;
  // The kernel reports "unlimited" as a huge page-aligned number.
  stats.memLimitBytes = u->memoryLimitBytes >= (uint64_t{1} << 62) ? 0 : u->memoryLimitBytes;
  stats.oomKills = u->oomKills;
  stats.processes = static_cast<uint32_t>(u->pids);
}

std::optional<ContainerLimitation> CgroupsIsolator::limitation(
    const std::string& containerId) const {
  auto u = cgroups_->usage(cgroupName(containerId));
  if (!u || u->oomKills == 0) return std::nullopt;
  auto mem = memoryMb_.find(containerId);
  double mb =
      mem != memoryMb_.end() ? mem->second : static_cast<double>(u->memoryLimitBytes) / kBytesPerMb;
  if (!(mb > 0) || u->memoryLimitBytes >= (uint64_t{1} << 62)) return std::nullopt;  // no limit
  return ContainerLimitation{TaskReason::CONTAINER_LIMITATION_MEMORY, memoryLimitMessage(mb)};
}

std::vector<std::string> CgroupsIsolator::removeLeftovers(
    const std::function<bool(const std::string&)>& isLeftover) {
  std::vector<std::string> removed;
  int64_t now = static_cast<int64_t>(time(nullptr));
  for (const std::string& id : cgroups_->children(options_.root)) {
    std::string name = cgroupName(id);
    auto pids = cgroups_->processes(name);
    size_t count = pids ? pids->size() : 0;
    auto created = cgroups_->createdAt(name);
    bool staleEmpty = pids && pids->empty() && created && now - *created >= kStaleEmptySec;
    if (!staleEmpty && !isLeftover(id)) continue;
    Status s = cgroups_->killAll(name);
    if (s) s = cgroups_->remove(name);
    if (!s) {
      LOG(ERROR) << "cannot remove leftover cgroup " << name << ": " << s.error().message;
      continue;
    }
    LOG(INFO) << "removed leftover cgroup " << name << " (killed " << count << " processes)";
    removed.push_back(id);
  }
  removeRootIfUnused();
  return removed;
}

}  // namespace agora::agent
