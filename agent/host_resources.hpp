#pragma once
// What this host offers by default: cpus (affinity mask), mem (/proc/meminfo
// MemTotal minus a reserve of min(1 GiB, half)), disk (statvfs of the work
// dir minus min(5 GiB, half)), ports [31000-32000]. Names given in
// `overrides` ("cpus:4;mem:8192") replace the detected ones.
// `overrides` may reserve resources statically for a role:
// "cpus(eng):2;mem(eng):1024;cpus:6;mem:8192;ports(eng):[31000-31100]"
// (a name given with any role replaces the detected amount). Invalid role
// names and dynamic reservations (made only through the master) are errors.

#include <string>

#include "common/resources.hpp"
#include "common/result.hpp"

namespace agora::agent {

Result<Resources> hostResources(const std::string& workDir, const std::string& overrides);

}  // namespace agora::agent
