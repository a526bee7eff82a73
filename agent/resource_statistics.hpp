#pragma once
// A container's resource usage as the containerizer measures it. Plain data.
// Without cgroups only the first four fields are filled (from /proc, over
// the executor's session); the cgroups isolator fills all of them.

#include <cstdint>

namespace agora::agent {

struct ResourceStatistics {
  double cpusUserSec = 0;
  double cpusSystemSec = 0;
  uint64_t memRssBytes = 0;
  uint32_t processes = 0;
  double sampledAt = 0;  // wall-clock seconds the agent took it (rates need it)

  bool cgroups = false;  // the fields below are valid
  uint64_t cpusNrPeriods = 0;
  uint64_t cpusNrThrottled = 0;
  double cpusThrottledSec = 0;
  uint64_t memUsageBytes = 0;
  uint64_t memPeakBytes = 0;
  uint64_t memLimitBytes = 0;  // 0: unlimited
  uint64_t oomKills = 0;
};

}  // namespace agora::agent
