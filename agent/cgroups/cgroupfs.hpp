#pragma once
// Small helpers over cgroupfs files shared by the v1 and v2 backends, and the
// pure limit math (tested against fake directory trees).
// Thread: any; no state.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/checkpoint_file.hpp"
#include "common/result.hpp"

namespace agora::agent::cgroups {

// Whole file; kNotFound when it does not exist.
Result<std::string> readFile(const std::string& path);
// Writes `value` with one write() (cgroupfs takes one value per write). The
// file must exist: cgroupfs files are never created by writing.
Status writeFile(const std::string& path, const std::string& value);
bool pathExists(const std::string& path);
// st_ctime of `path`, seconds since the epoch.
Result<int64_t> changeTime(const std::string& path);
// mkdir -p; existing directories are fine (common/checkpoint_file.hpp).
using agora::makeDirs;
// rmdir; a missing directory is fine.
Status removeDir(const std::string& path);
// Names of the subdirectories of `path` (empty if it does not exist).
std::vector<std::string> subdirectories(const std::string& path);

// "key value" lines (cpu.stat, memory.events, cpuacct.stat, oom_control);
// unparsable lines are skipped.
std::map<std::string, uint64_t> parseKeyed(const std::string& text);
// One number per line (cgroup.procs).
std::vector<pid_t> parsePids(const std::string& text);
// A single number; "max" (v2 for unlimited) maps to UINT64_MAX.
Result<uint64_t> parseValue(const std::string& text);

// cpu.shares for `cpus`: 1024 per cpu, at least 2 (the kernel's minimum).
uint64_t cpuShares(double cpus);
// cpu.weight (1..10000) equivalent to v1 shares, as runc converts them.
uint64_t cpuWeightFromShares(uint64_t shares);
// CFS quota in microseconds for `cpus` over `periodUs`, at least 1000 (the
// kernel's minimum).
uint64_t cpuQuotaUs(double cpus, uint64_t periodUs);

}  // namespace agora::agent::cgroups
