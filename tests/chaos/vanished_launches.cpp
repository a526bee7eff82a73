#include "tests/chaos/vanished_launches.hpp"

#include <algorithm>
#include <cstdio>

namespace agora::chaos {

std::optional<VanishedExplanation> explainVanishedLaunch(
    const std::vector<FaultRecord>& faults, const std::string& framework, int64_t launchedAtMs,
    const std::vector<int64_t>& subscribedAtMs) {
  if (launchedAtMs < 0) return std::nullopt;  // an untimed journal explains nothing
  for (const FaultRecord& fault : faults) {
    using Kind = FaultRecord::Kind;
    int64_t offset = launchedAtMs - fault.atMs;
    if (offset > 0 && (fault.kind == Kind::kLeaderKilled || fault.kind == Kind::kLeaderSteppedDown)) {
      // After the death: only with the dead leader's offers, i.e. before the
      // framework's next subscription.
      auto next = std::upper_bound(subscribedAtMs.begin(), subscribedAtMs.end(), fault.atMs);
      if (next != subscribedAtMs.end() && launchedAtMs < *next) {
        return VanishedExplanation{&fault, "leader_loss", offset};
      }
      continue;
    }
    if (offset > 0 || offset < -kInFlightMs) continue;
    if (fault.kind == Kind::kLeaderKilled || fault.kind == Kind::kLeaderSteppedDown) {
      return VanishedExplanation{&fault, "leader_loss", offset};
    }
    if (fault.kind == Kind::kSchedulerKilled && fault.target == framework) {
      return VanishedExplanation{&fault, "framework_kill", offset};
    }
  }
  return std::nullopt;
}

std::string relativeTime(int64_t atMs, int64_t originMs) {
  if (atMs < 0) return "t=?";
  char text[32];
  std::snprintf(text, sizeof text, "t=%.3fs", static_cast<double>(atMs - originMs) / 1000.0);
  return text;
}

std::string faultsAround(const std::vector<FaultRecord>& faults, int64_t atMs, int64_t aroundMs,
                         int64_t originMs) {
  std::string out;
  for (const FaultRecord& fault : faults) {
    if (fault.atMs < atMs - aroundMs || fault.atMs > atMs + aroundMs) continue;
    out += (out.empty() ? "" : "; ") + describe(fault) + " at " + relativeTime(fault.atMs, originMs);
  }
  return out.empty() ? "none" : out;
}

}  // namespace agora::chaos
