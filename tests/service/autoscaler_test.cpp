// The autoscaling rule (HPA's): proportional to CPU over the target, a
// tolerance band, conservative handling of instances without samples, a
// bounded step up and a scale-down that must last its window.

#include "frameworks/service/autoscaler.hpp"

#include <gtest/gtest.h>

namespace agora::service {
namespace {

using U = std::vector<std::optional<double>>;

Autoscale policy(int64_t min, int64_t max, double target = 0.5, double windowSec = 60) {
  Autoscale a;
  a.min = min;
  a.max = max;
  a.targetCpu = target;
  a.scaleDownWindow = seconds(windowSec);
  return a;
}

TEST(AutoscalerTest, ScalesInProportionToUsageOverTheTarget) {
  Autoscaler scaler;
  // 3 instances at 0.9 of their cpus, target 0.5: ceil(2.7 / 0.5) = 6.
  ScaleDecision d = scaler.decide("/web", policy(1, 10), 3, U{0.9, 0.9, 0.9}, 0);
  EXPECT_EQ(d.desired, 6);
  EXPECT_EQ(d.why, "cpu 90% of 50% target on 3 instances: 3 -> 6");
  // Within 10% of the target: no change.
  EXPECT_EQ(scaler.decide("/web", policy(1, 10), 6, U(6, 0.54), 1).desired, 6);
  EXPECT_NE(scaler.decide("/web", policy(1, 10), 6, U(6, 0.54), 1).why.find("within tolerance"),
            std::string::npos);
}

TEST(AutoscalerTest, StaysWithinMinAndMaxAndStepsUpAtMostDoubleOrFour) {
  Autoscaler scaler;
  EXPECT_EQ(scaler.decide("/a", policy(1, 5), 3, U{1, 1, 1}, 0).desired, 5);      // wants 6
  EXPECT_EQ(scaler.decide("/b", policy(1, 100), 2, U{3, 3}, 0).desired, 6);       // 2 + 4, not 12
  EXPECT_EQ(scaler.decide("/c", policy(1, 100), 10, U(10, 1.5), 0).desired, 20);  // double, not 30
  EXPECT_EQ(scaler.decide("/d", policy(2, 100, 0.5, 0), 4, U(4, 0.0), 0).desired, 2);
  // A count outside the bounds (a new spec) comes back within them.
  EXPECT_EQ(scaler.decide("/e", policy(3, 5), 1, U{0.5}, 0).desired, 3);
}

TEST(AutoscalerTest, ADipMustLastTheWholeWindowBeforeInstancesGo) {
  Autoscaler scaler;
  Autoscale p = policy(1, 10, 0.5, 60);
  EXPECT_EQ(scaler.decide("/web", p, 4, U(4, 0.5), 0).desired, 4);
  // Idle now: it would go to 1, but the window (60 s) remembers 4.
  ScaleDecision d = scaler.decide("/web", p, 4, U(4, 0.05), 10);
  EXPECT_EQ(d.desired, 4);
  EXPECT_NE(d.why.find("down to 1 once the 1m window agrees"), std::string::npos) << d.why;
  EXPECT_EQ(scaler.decide("/web", p, 4, U(4, 0.05), 40).desired, 4);
  // 61 s after the last busy recommendation only idle ones are left.
  EXPECT_EQ(scaler.decide("/web", p, 4, U(4, 0.05), 61).desired, 1);
  // Up is at once.
  EXPECT_EQ(scaler.decide("/web", p, 1, U{1.0}, 62).desired, 2);
}

TEST(AutoscalerTest, AFreshStartWaitsOutTheWindowBeforeScalingDown) {
  Autoscaler scaler;
  Autoscale p = policy(1, 10, 0.5, 60);
  EXPECT_EQ(scaler.decide("/web", p, 5, U(5, 0.0), 100).desired, 5);
  EXPECT_EQ(scaler.decide("/web", p, 5, U(5, 0.0), 150).desired, 5);
  EXPECT_EQ(scaler.decide("/web", p, 5, U(5, 0.0), 161).desired, 1);
  scaler.forget("/web");
  EXPECT_EQ(scaler.decide("/web", p, 5, U(5, 0.0), 170).desired, 5);
}

TEST(AutoscalerTest, InstancesWithoutSamplesDampTheMoveEitherWay) {
  Autoscaler scaler;
  // No sample at all: nothing to go on.
  ScaleDecision none = scaler.decide("/a", policy(1, 10), 3, U(3, std::nullopt), 0);
  EXPECT_EQ(none.desired, 3);
  EXPECT_EQ(none.why, "no CPU samples yet");
  // One busy of three, two starting (counted idle): 1.0 / (0.5 * 3) = 0.67,
  // not above the target: wait for their samples.
  ScaleDecision starting =
      scaler.decide("/b", policy(1, 10), 3, U{1.0, std::nullopt, std::nullopt}, 0);
  EXPECT_EQ(starting.desired, 3);
  EXPECT_NE(starting.why.find("waiting for samples"), std::string::npos);
  // Two busy, one starting: 3.0 / 1.5 = 2 > 1.1: up by the sampled sum.
  EXPECT_EQ(scaler.decide("/c", policy(1, 10), 3, U{1.5, 1.5, std::nullopt}, 0).desired, 6);
  // Down: the unsampled count as at the target: ceil((0.1 + 0.5) / 0.5) = 2.
  EXPECT_EQ(scaler.decide("/d", policy(1, 10, 0.5, 0), 3, U{0.1, std::nullopt, 0.0}, 0).desired, 2);
}

}  // namespace
}  // namespace agora::service
