#include "agent/host_resources.hpp"

#include <sched.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace agora::agent {

namespace {

double detectCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

double detectMemMb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key) {
    if (key == "MemTotal:") {
      in >> kb;
      break;
    }
    in.ignore(1 << 12, '\n');
  }
  double mb = kb / 1024;
  return std::floor(mb - std::min(1024.0, mb / 2));
}

double detectDiskMb(const std::string& dir) {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  double mb = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize) / (1024 * 1024);
  return std::floor(mb - std::min(5120.0, mb / 2));
}

}  // namespace

Result<Resources> hostResources(const std::string& workDir, const std::string& overrides) {
  auto given = Resources::parse(overrides);
  if (!given) return makeError(given.error().withContext("--resources"));
  for (const auto& [reservation, part] : given->byReservation()) {
    if (reservation.type != ReservationType::kStatic) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--resources: " + part.toString() +
                           ": an agent reserves only statically; dynamic reservations are "
                           "made through the master (RESERVE, POST /api/v1/reserve)");
    }
  }
  Resources out;
  auto set = [&](const std::string& name, double value) -> Status {
    if (given->scalar(name) > 0 || value <= 0) return {};
    return out.setScalar(name, value);
  };
  if (Status s = set("cpus", detectCpus()); !s) return makeError(s.error());
  if (Status s = set("mem", detectMemMb()); !s) return makeError(s.error());
  if (Status s = set("disk", detectDiskMb(workDir)); !s) return makeError(s.error());
  if (given->ranges("ports").empty()) {
    if (Status s = out.addRange("ports", Range{31000, 32000}); !s) return makeError(s.error());
  }
  out += *given;
  return out;
}

}  // namespace agora::agent
