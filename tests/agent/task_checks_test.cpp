// TaskCheck's verdicts on a simulated clock with a scripted prober, and the
// executor's updates carrying them.
#include "agent/executor/task_checks.hpp"

#include <gtest/gtest.h>

#include "tests/agent/scripted_prober.hpp"

namespace agora::agent {
namespace {

using testing::ScriptedProber;

class TaskCheckTest : public ::testing::Test {
 protected:
  TaskCheckTest() : loop_(clock_), prober_(loop_) {
    check_.kind = CheckKind::HTTP;
    check_.port = 8080;
    check_.intervalSec = 1;
    check_.timeoutSec = 1;
    check_.maxFailures = 3;
  }
  void make() {
    task_ = std::make_unique<TaskCheck>(loop_, prober_, check_, "health check",
                                        [this](bool v, const std::string& m) {
                                          verdicts_.push_back(v);
                                          messages_.push_back(m);
                                        });
    task_->start();
    loop_.runUntilIdle();
  }
  void advance(Duration d) {
    // In steps, so that timers armed by timers fire in order.
    for (Duration step = millis(5); d > Duration::zero(); d -= step) {
      clock_.advance(std::min(step, d));
      loop_.runUntilIdle();
    }
  }

  SimulatedClock clock_;
  EventLoop loop_;
  ScriptedProber prober_;
  CheckInfo check_;
  std::unique_ptr<TaskCheck> task_;
  std::vector<bool> verdicts_;
  std::vector<std::string> messages_;
};

TEST_F(TaskCheckTest, FirstPassIsHealthyAndRepeatsAreNotReported) {
  prober_.pass(3);
  make();
  advance(millis(2100));
  EXPECT_EQ(prober_.started, 3u);
  EXPECT_EQ(verdicts_, std::vector<bool>{true});
  EXPECT_EQ(task_->verdict(), std::optional<bool>(true));
}

TEST_F(TaskCheckTest, MaxConsecutiveFailuresMakeItUnhealthyAndAPassHealsIt) {
  prober_.pass(1);
  prober_.fail(2);
  prober_.pass(1);  // resets the count: two more failures are not enough
  prober_.fail(3);
  prober_.pass(1);
  make();
  advance(millis(4050));
  EXPECT_EQ(verdicts_, std::vector<bool>{true});  // 1 pass, 2 failures, 1 pass, 1 failure
  advance(millis(2100));  // each probe starts 1 s after the previous one ended (10 ms)
  ASSERT_EQ(verdicts_, (std::vector<bool>{true, false}));
  EXPECT_EQ(messages_[1], "HTTP 503 from GET / (3 consecutive failures)");
  EXPECT_EQ(task_->consecutiveFailures(), 3u);
  advance(millis(1000));
  EXPECT_EQ(verdicts_, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(task_->failedProbes(), 5u);
}

TEST_F(TaskCheckTest, FailuresWithinTheGracePeriodBeforeTheFirstPassAreNotCounted) {
  check_.gracePeriodSec = 5;
  prober_.fail(5);
  prober_.pass(1);
  make();
  advance(millis(4100));
  EXPECT_TRUE(verdicts_.empty());  // five failures, all in grace
  EXPECT_EQ(task_->consecutiveFailures(), 0u);
  EXPECT_EQ(task_->failedProbes(), 5u);
  advance(millis(1000));
  EXPECT_EQ(verdicts_, std::vector<bool>{true});
}

TEST_F(TaskCheckTest, ATaskThatNeverPassesIsUnhealthyOnceTheGracePeriodEnds) {
  check_.gracePeriodSec = 3;
  prober_.fail(20);
  make();
  advance(millis(3100));
  EXPECT_TRUE(verdicts_.empty());
  advance(millis(3000));  // three counted failures after the grace period
  EXPECT_EQ(verdicts_, std::vector<bool>{false});
}

TEST_F(TaskCheckTest, TheFirstProbeWaitsForTheDelay) {
  check_.delaySec = 2;
  prober_.pass(1);
  make();
  advance(millis(1900));
  EXPECT_EQ(prober_.started, 0u);
  advance(millis(200));
  EXPECT_EQ(prober_.started, 1u);
  EXPECT_EQ(verdicts_, std::vector<bool>{true});
}

TEST_F(TaskCheckTest, StopCancelsTheRunningProbeAndNothingFollows) {
  make();  // nothing scripted: the first probe hangs
  EXPECT_EQ(prober_.hung.size(), 1u);
  task_->stop();
  EXPECT_EQ(prober_.cancelled, 1u);
  EXPECT_TRUE(prober_.hung.empty());
  prober_.pass(5);
  advance(seconds(5));
  EXPECT_EQ(prober_.started, 1u);
  EXPECT_TRUE(verdicts_.empty());
}

TEST_F(TaskCheckTest, DestroyingTheCheckCancelsItsProbe) {
  make();
  task_.reset();
  EXPECT_EQ(prober_.cancelled, 1u);
  advance(seconds(3));
  EXPECT_EQ(prober_.started, 1u);
}

}  // namespace
}  // namespace agora::agent
