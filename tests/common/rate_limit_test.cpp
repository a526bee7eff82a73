#include "common/rate_limit.hpp"

#include <gtest/gtest.h>

#include <string>

namespace agora {
namespace {

class RateLimiterTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  RateLimiter limiter_{RateLimit{2, 3}};
};

TEST_F(RateLimiterTest, AKeySpendsItsBurstThenEarnsTokensBackAtTheRate) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter_.tryTake("a", clock_.now())) << i;
  EXPECT_FALSE(limiter_.tryTake("a", clock_.now()));
  EXPECT_DOUBLE_EQ(limiter_.secondsUntilNext("a", clock_.now()), 0.5);
  clock_.advance(std::chrono::milliseconds(499));
  EXPECT_FALSE(limiter_.tryTake("a", clock_.now()));
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(limiter_.tryTake("a", clock_.now()));
  EXPECT_FALSE(limiter_.tryTake("a", clock_.now()));
  // Never more than the burst, however long it waited.
  clock_.advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter_.tryTake("a", clock_.now())) << i;
  EXPECT_FALSE(limiter_.tryTake("a", clock_.now()));
}

TEST_F(RateLimiterTest, KeysHaveTheirOwnBuckets) {
  for (int i = 0; i < 3; ++i) limiter_.tryTake("a", clock_.now());
  EXPECT_FALSE(limiter_.tryTake("a", clock_.now()));
  EXPECT_TRUE(limiter_.tryTake("b", clock_.now()));
  EXPECT_EQ(limiter_.secondsUntilNext("b", clock_.now()), 0.0);
}

TEST_F(RateLimiterTest, ANoRateLimitNeverRefuses) {
  RateLimiter unlimited{RateLimit{}};
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(unlimited.tryTake("a", clock_.now()));
  EXPECT_EQ(unlimited.trackedKeys(), 0u);
}

TEST_F(RateLimiterTest, FullBucketsAreForgottenSoDistinctKeysCannotGrowItForever) {
  for (int i = 0; i < 10000; ++i) limiter_.tryTake("k" + std::to_string(i), clock_.now());
  // Refilled; the next scans (as the map keeps growing) forget them.
  clock_.advance(std::chrono::seconds(2));
  for (int i = 0; i < 7000; ++i) limiter_.tryTake("m" + std::to_string(i), clock_.now());
  EXPECT_LT(limiter_.trackedKeys(), 7001u);
}

}  // namespace
}  // namespace agora
