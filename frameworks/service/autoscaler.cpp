#include "frameworks/service/autoscaler.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/duration.hpp"

namespace agora::service {

namespace {

std::string percent(double fraction) {
  return std::to_string(static_cast<int64_t>(std::lround(fraction * 100))) + "%";
}

// ceil(sum / target), without a float just above an integer adding one.
int64_t wantedFor(double sum, double target) {
  return static_cast<int64_t>(std::ceil(sum / target - 1e-9));
}

}  // namespace

ScaleDecision Autoscaler::decide(const std::string& app, const Autoscale& policy, int64_t current,
                                 const std::vector<std::optional<double>>& utilization,
                                 double now) {
  auto& history = history_[app];
  if (history.empty()) history.push_back({now, current});  // a fresh window
  const double window = toSeconds(policy.scaleDownWindow);
  auto clamp = [&](int64_t n) { return std::clamp(n, policy.min, policy.max); };
  auto record = [&](int64_t desired, std::string why) {
    history.push_back({now, desired});
    while (history.size() > 1 && history.front().at <= now - window) history.pop_front();
    return ScaleDecision{desired, std::move(why)};
  };

  double sampledSum = 0;
  int64_t sampled = 0, unsampled = 0;
  for (const auto& u : utilization) {
    if (u) {
      sampledSum += *u;
      ++sampled;
    } else {
      ++unsampled;
    }
  }
  if (current < policy.min || current > policy.max) {
    return record(clamp(current), "keeping within min " + std::to_string(policy.min) + ", max " +
                                      std::to_string(policy.max));
  }
  if (sampled == 0) return record(current, "no CPU samples yet");
  const double average = sampledSum / static_cast<double>(sampled);
  const double ratio = average / policy.targetCpu;
  std::ostringstream why;
  why << "cpu " << percent(average) << " of " << percent(policy.targetCpu) << " target on "
      << sampled << " instance" << (sampled == 1 ? "" : "s");
  if (std::abs(ratio - 1) <= kTolerance) return record(current, why.str() + ": within tolerance");

  int64_t desired;
  if (ratio > 1) {
    // Instances without samples are assumed idle (they may be starting):
    // if that evens it out, wait for their samples.
    const double total = static_cast<double>(sampled + unsampled);
    if (unsampled > 0 && sampledSum / (policy.targetCpu * total) <= 1 + kTolerance) {
      return record(current, why.str() + ": waiting for samples of starting instances");
    }
    desired = wantedFor(sampledSum, policy.targetCpu);
    desired = std::min(desired, std::max(current * 2, current + 4));
  } else {
    // Instances without samples are assumed at the target.
    double sum = sampledSum + static_cast<double>(unsampled) * policy.targetCpu;
    desired = wantedFor(sum, policy.targetCpu);
  }
  desired = clamp(desired);
  ScaleDecision decision = record(desired, "");
  if (desired < current) {
    // The highest recommendation of the window: a dip must last it out.
    int64_t highest = desired;
    for (const Recommendation& r : history) highest = std::max(highest, r.desired);
    decision.desired = std::min(current, highest);
  }
  why << ": " << current << " -> " << decision.desired;
  if (decision.desired == current && desired < current) {
    why << " (down to " << desired << " once the " << formatDuration(policy.scaleDownWindow)
        << " window agrees)";
  }
  decision.why = why.str();
  return decision;
}

}  // namespace agora::service
