#include "tests/chaos/vanished_launches.hpp"

#include <algorithm>
#include <cstdio>

namespace agora::chaos {

namespace {

using Kind = FaultRecord::Kind;

bool leaderLoss(const FaultRecord& fault) {
  return fault.kind == Kind::kLeaderKilled || fault.kind == Kind::kLeaderSteppedDown;
}

// Was `launch`'s agent killed or cut off by the time its runTask went out,
// and not back before the leader died at `leaderLostMs`?
bool agentAwayUntil(const std::vector<FaultRecord>& faults, const VanishedLaunch& launch,
                    int64_t leaderLostMs) {
  for (const FaultRecord& away : faults) {
    if (away.target != launch.agent ||
        (away.kind != Kind::kAgentKilled && away.kind != Kind::kAgentCut)) {
      continue;
    }
    // Away when the runTask went out (launched, plus its transit) ...
    bool awayAtLaunch = away.atMs <= launch.launchedAtMs + kInFlightMs &&
                        (away.endMs < 0 || away.endMs >= launch.launchedAtMs);
    // ... and not back (re-registered, or its link's bytes through) when the leader died.
    bool back = away.endMs >= 0 && away.endMs + kInFlightMs < leaderLostMs;
    if (awayAtLaunch && away.atMs <= leaderLostMs && !back) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<VanishedExplanation> explainVanishedLaunch(const std::vector<FaultRecord>& faults,
                                                         const VanishedLaunch& launch) {
  int64_t at = launch.launchedAtMs;
  if (at < 0) return std::nullopt;  // an untimed journal explains nothing
  const auto& subscriptions = launch.subscribedAtMs;
  for (const FaultRecord& fault : faults) {
    int64_t offset = at - fault.atMs;
    if (leaderLoss(fault) && offset > 0) {
      // After the death: only with the dead leader's offers, i.e. before the
      // framework's next subscription.
      auto next = std::upper_bound(subscriptions.begin(), subscriptions.end(), fault.atMs);
      if (next != subscriptions.end() && at < *next) {
        return VanishedExplanation{&fault, "leader_loss", offset};
      }
    } else if (leaderLoss(fault) && offset >= -kInFlightMs) {
      return VanishedExplanation{&fault, "leader_loss", offset};
    } else if (leaderLoss(fault) && agentAwayUntil(faults, launch, fault.atMs)) {
      return VanishedExplanation{&fault, "leader_loss_agent_away", offset};
    } else if (fault.kind == Kind::kSchedulerKilled && fault.target == launch.framework &&
               offset <= 0 && offset >= -kInFlightMs) {
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
