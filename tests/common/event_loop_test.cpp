#include "common/event_loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace agora {
namespace {

class EventLoopTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  EventLoop loop_{clock_};
};

TEST_F(EventLoopTest, TimersFireInOrderWhenClockAdvances) {
  std::vector<int> fired;
  loop_.addTimer(seconds(2), [&] { fired.push_back(2); });
  loop_.addTimer(seconds(1), [&] { fired.push_back(1); });
  loop_.runUntilIdle();
  EXPECT_TRUE(fired.empty());
  clock_.advance(seconds(1));
  loop_.runUntilIdle();
  EXPECT_EQ(fired, std::vector<int>({1}));
  clock_.advance(seconds(1));
  loop_.runUntilIdle();
  EXPECT_EQ(fired, std::vector<int>({1, 2}));
}

TEST_F(EventLoopTest, CancelledTimerDoesNotFire) {
  bool fired = false;
  auto id = loop_.addTimer(seconds(1), [&] { fired = true; });
  loop_.cancelTimer(id);
  clock_.advance(seconds(5));
  loop_.runUntilIdle();
  EXPECT_FALSE(fired);
}

TEST_F(EventLoopTest, PeriodicTimerRepeats) {
  int count = 0;
  auto id = loop_.addPeriodic(seconds(1), [&] { ++count; });
  for (int i = 0; i < 3; ++i) {
    clock_.advance(seconds(1));
    loop_.runUntilIdle();
  }
  EXPECT_EQ(count, 3);
  loop_.cancelTimer(id);
  clock_.advance(seconds(1));
  loop_.runUntilIdle();
  EXPECT_EQ(count, 3);
}

TEST_F(EventLoopTest, PostedCallbacksRunOnLoop) {
  int value = 0;
  loop_.post([&] { value = 1; });
  loop_.runUntilIdle();
  EXPECT_EQ(value, 1);
}

TEST(EventLoopRealTest, PostFromOtherThreadWakesRun) {
  EventLoop loop;
  std::thread::id ranOn;
  std::thread poster([&] {
    loop.post([&] {
      ranOn = std::this_thread::get_id();
      loop.stop();
    });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(ranOn, std::this_thread::get_id());
}

// runOnce() wakes for a post from another thread long before its bound, and
// otherwise returns once the bound passed. (Bounds are generous: no timing is
// asserted, only which of the two ended the wait.)
TEST(EventLoopRealTest, RunOnceWakesForAPostAndOtherwiseReturnsAfterItsBound) {
  EventLoop loop;
  bool ran = false;
  std::thread poster([&] { loop.post([&] { ran = true; }); });
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100 && !ran; ++i) loop.runOnce(seconds(60));
  poster.join();
  EXPECT_TRUE(ran);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));

  bool fired = false;
  loop.addTimer(millis(1), [&] { fired = true; });
  for (int i = 0; i < 10000 && !fired; ++i) loop.runOnce(seconds(60));  // the timer bounds it
  EXPECT_TRUE(fired);
  loop.runOnce(millis(1));  // nothing to do: returns
}

}  // namespace
}  // namespace agora
