#include "agent/cgroups/cgroups_v1.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "agent/cgroups/cgroupfs.hpp"

namespace agora::agent::cgroups {

namespace {
constexpr auto kPoll = std::chrono::milliseconds(1);
constexpr int kFreezePolls = 1000;  // ~1 s
constexpr int kEmptyPolls = 2000;   // ~2 s
}  // namespace

const std::vector<std::string>& CgroupsV1::requiredControllers() {
  static const std::vector<std::string> kRequired = {"cpu", "cpuacct", "memory", "pids", "freezer"};
  return kRequired;
}

CgroupsV1::CgroupsV1(std::map<std::string, std::string> roots) : roots_(std::move(roots)) {}

std::string CgroupsV1::describe() const {
  std::string out = "cgroup v1 (";
  for (const auto& c : requiredControllers()) {
    out += (c == requiredControllers().front() ? "" : ", ") + c + "=" + roots_.at(c);
  }
  return out + ")";
}

std::string CgroupsV1::path(const std::string& controller, const std::string& name) const {
  return roots_.at(controller) + "/" + name;
}

std::vector<std::string> CgroupsV1::hierarchies() const {
  std::set<std::string> dirs;
  for (const auto& c : requiredControllers()) dirs.insert(roots_.at(c));
  return {dirs.begin(), dirs.end()};
}

Status CgroupsV1::create(const std::string& name) {
  for (const auto& root : hierarchies()) {
    if (Status s = makeDirs(root + "/" + name); !s) return s;
  }
  return {};
}

bool CgroupsV1::exists(const std::string& name) const {
  for (const auto& root : hierarchies()) {
    if (pathExists(root + "/" + name)) return true;
  }
  return false;
}

std::vector<std::string> CgroupsV1::children(const std::string& name) const {
  std::set<std::string> all;
  for (const auto& root : hierarchies()) {
    for (auto& child : subdirectories(root + "/" + name)) all.insert(child);
  }
  return {all.begin(), all.end()};
}

Status CgroupsV1::setLimits(const std::string& name, const CgroupLimits& limits) {
  if (limits.cpus > 0) {
    if (Status s =
            writeFile(path("cpu", name) + "/cpu.shares", std::to_string(cpuShares(limits.cpus)));
        !s)
      return s;
    std::string quotaFile = path("cpu", name) + "/cpu.cfs_quota_us";
    std::string quota = "-1";
    if (limits.cpuQuota) {
      auto period = readFile(path("cpu", name) + "/cpu.cfs_period_us");
      if (!period) return makeError(period.error());
      auto us = parseValue(*period);
      if (!us) return makeError(us.error().withContext("cpu.cfs_period_us"));
      quota = std::to_string(cpuQuotaUs(limits.cpus, *us));
    } else if (auto current = readFile(quotaFile); current && current->rfind("-1", 0) == 0) {
      // Already unlimited (as every new cgroup is): writing -1 again would
      // cost the kernel a bandwidth update over every CPU for nothing.
      quota.clear();
    }
    if (!quota.empty()) {
      if (Status s = writeFile(quotaFile, quota); !s) return s;
    }
  }
  if (limits.memoryBytes > 0) {
    std::string bytes = std::to_string(limits.memoryBytes);
    if (Status s = writeFile(path("memory", name) + "/memory.limit_in_bytes", bytes); !s) return s;
    // memsw >= limit_in_bytes is enforced by the kernel: set it second.
    std::string memsw = path("memory", name) + "/memory.memsw.limit_in_bytes";
    if (pathExists(memsw)) {
      if (Status s = writeFile(memsw, bytes); !s) return s;
    }
  }
  if (limits.pidsMax > 0) {
    if (Status s = writeFile(path("pids", name) + "/pids.max", std::to_string(limits.pidsMax)); !s)
      return s;
  }
  return {};
}

Status CgroupsV1::attach(const std::string& name, pid_t pid) {
  for (const auto& root : hierarchies()) {
    if (Status s = writeFile(root + "/" + name + "/cgroup.procs", std::to_string(pid)); !s)
      return s;
  }
  return {};
}

std::vector<std::string> CgroupsV1::joinFiles(const std::string& name) const {
  std::vector<std::string> files;
  for (const auto& root : hierarchies()) files.push_back(root + "/" + name + "/tasks");
  return files;
}

Result<std::vector<pid_t>> CgroupsV1::processes(const std::string& name) const {
  // The freezer hierarchy is the one killAll() works on; every hierarchy
  // holds the same processes.
  auto text = readFile(path("freezer", name) + "/cgroup.procs");
  if (!text) return makeError(text.error());
  return parsePids(*text);
}

Status CgroupsV1::freeze(const std::string& name, bool frozen) {
  std::string file = path("freezer", name) + "/freezer.state";
  std::string want = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < kFreezePolls; ++i) {
    // Rewriting FROZEN retries processes that were not frozen yet.
    if (Status s = writeFile(file, want); !s) return s;
    auto state = readFile(file);
    if (!state) return makeError(state.error());
    if (state->rfind(want, 0) == 0) return {};
    std::this_thread::sleep_for(kPoll);
  }
  return makeError(ErrorCode::kTimeout, file + " did not become " + want);
}

Status CgroupsV1::killAll(const std::string& name) {
  if (!pathExists(path("freezer", name))) return {};
  if (auto pids = processes(name); pids && pids->empty()) return {};  // nothing to kill
  // Frozen processes cannot fork, so one pass reaches every one of them.
  Status frozen = freeze(name, true);
  auto pids = processes(name);
  if (pids) {
    for (pid_t pid : *pids) ::kill(pid, SIGKILL);
  }
  // SIGKILL is delivered once thawed; thaw even if the freeze failed.
  Status thawed = freeze(name, false);
  for (int i = 0; i < kEmptyPolls; ++i) {
    auto left = processes(name);
    if (!left) return makeError(left.error());
    if (left->empty()) return {};
    if (!frozen) {
      for (pid_t pid : *left) ::kill(pid, SIGKILL);  // best effort without the freezer
    }
    std::this_thread::sleep_for(kPoll);
  }
  std::string why = !frozen   ? "; freeze: " + frozen.error().message
                    : !thawed ? "; thaw: " + thawed.error().message
                              : "";
  return makeError(ErrorCode::kTimeout,
                   "processes remain in cgroup " + path("freezer", name) + why);
}

Status CgroupsV1::remove(const std::string& name) {
  Status result;
  for (const auto& root : hierarchies()) {
    Status s = removeDir(root + "/" + name);
    if (!s && result) result = s;
  }
  return result;
}

Result<CgroupUsage> CgroupsV1::usage(const std::string& name) const {
  static const double kTicks = static_cast<double>(sysconf(_SC_CLK_TCK));
  CgroupUsage u;
  auto acct = readFile(path("cpuacct", name) + "/cpuacct.stat");
  if (!acct) return makeError(acct.error());
  auto a = parseKeyed(*acct);
  u.cpuUserSec = static_cast<double>(a["user"]) / kTicks;
  u.cpuSystemSec = static_cast<double>(a["system"]) / kTicks;
  if (auto stat = readFile(path("cpu", name) + "/cpu.stat")) {
    auto c = parseKeyed(*stat);
    u.cpuPeriods = c["nr_periods"];
    u.cpuThrottled = c["nr_throttled"];
    u.cpuThrottledSec = static_cast<double>(c["throttled_time"]) / 1e9;
  }
  auto value = [&](const std::string& controller, const std::string& file) -> uint64_t {
    auto text = readFile(path(controller, name) + "/" + file);
    if (!text) return 0;
    return parseValue(*text).value_or(0);
  };
  u.memoryBytes = value("memory", "memory.usage_in_bytes");
  if (auto stat = readFile(path("memory", name) + "/memory.stat")) {
    u.memoryRssBytes = parseKeyed(*stat)["total_rss"];
  }
  u.memoryPeakBytes = value("memory", "memory.max_usage_in_bytes");
  u.memoryLimitBytes = value("memory", "memory.limit_in_bytes");
  if (auto oom = readFile(path("memory", name) + "/memory.oom_control")) {
    u.oomKills = parseKeyed(*oom)["oom_kill"];
  }
  u.pids = value("pids", "pids.current");
  return u;
}

}  // namespace agora::agent::cgroups
