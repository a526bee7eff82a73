#pragma once
// Chooses the cgroups backend from what the host mounts.
// Thread: any.

#include <memory>
#include <string>

#include "agent/cgroups/cgroups.hpp"

namespace agora::agent::cgroups {

// Where to look; tests point these at fake files.
struct CgroupsProbe {
  std::string mountsFile = "/proc/self/mounts";
  std::string selfCgroupFile = "/proc/self/cgroup";
};

// v2 when a cgroup2 mount offers cpu, memory and pids in this process's
// cgroup (a pure v2 host); else v1 when cpu, cpuacct, memory, pids and
// freezer hierarchies are all mounted (this process's cgroup in each is the
// root); else kUnavailable naming what is missing. A hybrid host whose
// cgroup2 mount has no controllers gets v1.
Result<std::unique_ptr<Cgroups>> detectCgroups(const CgroupsProbe& probe = {});

}  // namespace agora::agent::cgroups
