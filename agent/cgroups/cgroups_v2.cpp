#include "agent/cgroups/cgroups_v2.hpp"

#include <signal.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "agent/cgroups/cgroupfs.hpp"

namespace agora::agent::cgroups {

namespace {
constexpr auto kPoll = std::chrono::milliseconds(1);
constexpr int kFreezePolls = 1000;  // ~1 s
constexpr int kEmptyPolls = 2000;   // ~2 s
}  // namespace

CgroupsV2::CgroupsV2(std::string root, Options options)
    : root_(std::move(root)), options_(std::move(options)) {}

Status CgroupsV2::enableControllers(const std::string& dir) {
  auto available = readFile(dir + "/cgroup.controllers");
  if (!available) return makeError(available.error());
  auto enabled = readFile(dir + "/cgroup.subtree_control");
  if (!enabled) return makeError(enabled.error());
  auto has = [](const std::string& list, const std::string& c) {
    std::istringstream in(list);
    std::string word;
    while (in >> word) {
      if (word == c) return true;
    }
    return false;
  };
  for (const std::string& c : options_.controllers) {
    if (has(*enabled, c)) continue;
    if (!has(*available, c)) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "controller '" + c + "' is not available in " + dir);
    }
    if (Status s = writeFile(dir + "/cgroup.subtree_control", "+" + c); !s) {
      return makeError(s.error().withContext("enabling the " + c + " controller"));
    }
  }
  return {};
}

Result<size_t> CgroupsV2::prepareRoot() {
  // Only the hierarchy's root lacks cgroup.type, and it is exempt.
  if (!pathExists(root_ + "/cgroup.type")) return size_t{0};
  std::string leaf = root_ + "/" + kAgentLeaf;
  size_t moved = 0;
  std::string lastError;
  // Another pass for processes forked while the first moved their parents.
  for (int pass = 0; pass < 10; ++pass) {
    auto text = readFile(root_ + "/cgroup.procs");
    if (!text) return makeError(text.error());
    std::vector<pid_t> pids = parsePids(*text);
    if (pids.empty()) return moved;
    if (Status s = makeDirs(leaf); !s) return makeError(s.error());
    for (pid_t pid : pids) {
      // A process that exited meanwhile fails with ESRCH: nothing to move.
      if (Status s = writeFile(leaf + "/cgroup.procs", std::to_string(pid)); s) {
        ++moved;
      } else {
        lastError = s.error().message;
      }
    }
  }
  return makeError(ErrorCode::kUnavailable, "processes remain in " + root_ +
                                                " after moving them into " + leaf +
                                                (lastError.empty() ? "" : ": " + lastError));
}

Status CgroupsV2::create(const std::string& name) {
  std::string dir = root_;
  size_t start = 0;
  while (start < name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    if (Status s = enableControllers(dir); !s) return s;
    dir += "/" + name.substr(start, slash - start);
    if (Status s = makeDirs(dir); !s) return s;
    start = slash + 1;
  }
  return {};
}

bool CgroupsV2::exists(const std::string& name) const { return pathExists(path(name)); }

std::vector<std::string> CgroupsV2::children(const std::string& name) const {
  return subdirectories(path(name));
}

Status CgroupsV2::setLimits(const std::string& name, const CgroupLimits& limits) {
  std::string dir = path(name);
  if (limits.cpus > 0) {
    uint64_t weight = cpuWeightFromShares(cpuShares(limits.cpus));
    if (Status s = writeFile(dir + "/cpu.weight", std::to_string(weight)); !s) return s;
    // cpu.max is "QUOTA PERIOD" with QUOTA "max" for none.
    auto current = readFile(dir + "/cpu.max");
    if (!current) return makeError(current.error());
    std::istringstream in(*current);
    std::string quota, period = "100000";
    in >> quota >> period;
    auto periodUs = parseValue(period);
    if (!periodUs) return makeError(periodUs.error().withContext("cpu.max period"));
    std::string value =
        limits.cpuQuota ? std::to_string(cpuQuotaUs(limits.cpus, *periodUs)) : "max";
    // Not rewritten when unchanged ("max" in every new cgroup): the write
    // costs the kernel a bandwidth update over every CPU.
    if (value != quota) {
      if (Status s = writeFile(dir + "/cpu.max", value + " " + period); !s) return s;
    }
  }
  if (limits.memoryBytes > 0) {
    if (Status s = writeFile(dir + "/memory.max", std::to_string(limits.memoryBytes)); !s) return s;
    if (pathExists(dir + "/memory.swap.max")) {
      if (Status s = writeFile(dir + "/memory.swap.max", "0"); !s) return s;
    }
  }
  if (limits.pidsMax > 0) {
    if (Status s = writeFile(dir + "/pids.max", std::to_string(limits.pidsMax)); !s) return s;
  }
  return {};
}

Status CgroupsV2::attach(const std::string& name, pid_t pid) {
  return writeFile(path(name) + "/cgroup.procs", std::to_string(pid));
}

Result<std::vector<pid_t>> CgroupsV2::processes(const std::string& name) const {
  auto text = readFile(path(name) + "/cgroup.procs");
  if (!text) return makeError(text.error());
  return parsePids(*text);
}

Status CgroupsV2::freeze(const std::string& name, bool frozen) {
  if (Status s = writeFile(path(name) + "/cgroup.freeze", frozen ? "1" : "0"); !s) return s;
  for (int i = 0; i < kFreezePolls; ++i) {
    auto events = readFile(path(name) + "/cgroup.events");
    if (!events) return makeError(events.error());
    if ((parseKeyed(*events)["frozen"] == 1) == frozen) return {};
    std::this_thread::sleep_for(kPoll);
  }
  return makeError(ErrorCode::kTimeout, path(name) + " did not " + (frozen ? "freeze" : "thaw"));
}

Status CgroupsV2::killAll(const std::string& name) {
  if (!exists(name)) return {};
  if (auto pids = processes(name); pids && pids->empty()) return {};  // nothing to kill
  bool thorough = false;  // every process reached despite racing forks
  if (options_.killFile && pathExists(path(name) + "/cgroup.kill")) {
    if (Status s = writeFile(path(name) + "/cgroup.kill", "1"); !s) return s;
    thorough = true;
  } else {
    thorough = freeze(name, true).has_value();
    if (auto pids = processes(name)) {
      for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    }
    (void)freeze(name, false);  // SIGKILL is delivered once thawed
  }
  for (int i = 0; i < kEmptyPolls; ++i) {
    auto left = processes(name);
    if (!left) return makeError(left.error());
    if (left->empty()) return {};
    if (!thorough) {
      for (pid_t pid : *left) ::kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(kPoll);
  }
  return makeError(ErrorCode::kTimeout, "processes remain in cgroup " + path(name));
}

Status CgroupsV2::remove(const std::string& name) { return removeDir(path(name)); }

Result<CgroupUsage> CgroupsV2::usage(const std::string& name) const {
  std::string dir = path(name);
  auto stat = readFile(dir + "/cpu.stat");
  if (!stat) return makeError(stat.error());
  auto c = parseKeyed(*stat);
  CgroupUsage u;
  u.cpuUserSec = static_cast<double>(c["user_usec"]) / 1e6;
  u.cpuSystemSec = static_cast<double>(c["system_usec"]) / 1e6;
  u.cpuPeriods = c["nr_periods"];
  u.cpuThrottled = c["nr_throttled"];
  u.cpuThrottledSec = static_cast<double>(c["throttled_usec"]) / 1e6;
  auto value = [&](const std::string& file) -> uint64_t {
    auto text = readFile(dir + "/" + file);
    if (!text) return 0;
    return parseValue(*text).value_or(0);
  };
  u.memoryBytes = value("memory.current");
  if (auto memoryStat = readFile(dir + "/memory.stat")) {
    u.memoryRssBytes = parseKeyed(*memoryStat)["anon"];
  }
  u.memoryPeakBytes = value("memory.peak");
  u.memoryLimitBytes = value("memory.max");
  if (auto events = readFile(dir + "/memory.events")) {
    u.oomKills = parseKeyed(*events)["oom_kill"];
  }
  u.pids = value("pids.current");
  return u;
}

}  // namespace agora::agent::cgroups
