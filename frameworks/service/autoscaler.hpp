#pragma once
// Autoscaling: how many instances an app with `autoscale:` should run, from
// its instances' CPU use — Kubernetes' HPA rule, pure logic (unit-tested):
//
//   desired = ceil(sum of utilizations / target)   (utilization: CPU seconds
//             per second over the instance's cpus, e.g. 0.9 of 0.5 cpus)
//
// - within 10 % of the target nothing changes (no flapping);
// - an instance without a sample yet counts as 0 when scaling up and as
//   at the target when scaling down (both damp the move); with no sample
//   at all nothing changes;
// - up: at once, but at most double (or +4, whichever is more) per step;
// - down: the highest recommendation of the last `scale_down_window` wins,
//   so a short dip does not kill instances; a new leader starts its window
//   afresh;
// - always within [min, max].
//
// The metric is a seam: decide() takes per-instance ratios of use to what
// was asked. CPU comes from the agents (usage_source.hpp) today; a request
// rate from the load balancer (requests per instance over a target) can
// feed the same rule through another UsageSource once networking has one.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frameworks/service/app_spec.hpp"

namespace agora::service {

struct ScaleDecision {
  int64_t desired = 0;  // == current: no change
  std::string why;      // "cpu 92% of 60% target on 3 instances: 3 -> 5"
};

class Autoscaler {
 public:
  static constexpr double kTolerance = 0.1;

  // `utilization`: one entry per live instance (nullopt: no sample yet).
  // Records the recommendation for the app's down-window. `now`: seconds.
  ScaleDecision decide(const std::string& app, const Autoscale& policy, int64_t current,
                       const std::vector<std::optional<double>>& utilization, double now);
  // Forgets an app (removed, or no longer autoscaled).
  void forget(const std::string& app) { history_.erase(app); }

 private:
  struct Recommendation {
    double at;
    int64_t desired;
  };
  std::map<std::string, std::deque<Recommendation>> history_;
};

}  // namespace agora::service
