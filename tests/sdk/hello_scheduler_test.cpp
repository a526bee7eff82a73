#include "frameworks/examples/hello/hello_scheduler.hpp"

#include <gtest/gtest.h>

#include "frameworks/sdk/fake_master.hpp"

namespace agora::hello {
namespace {

class HelloSchedulerTest : public ::testing::Test {
 protected:
  void run(int tasks, const std::string& agentResources) {
    master_.addAgent("a1", agentResources);
    scheduler_ = std::make_unique<HelloScheduler>(tasks, "echo hello from $AGORA_TASK_ID");
    driver_ = std::make_unique<sdk::SchedulerDriver>(*scheduler_, sdk::DriverOptions{}, loop_,
                                                     network_.connect(master_.endpoint(), "hello"));
    driver_->start();
    for (int i = 0; i < 100 && !scheduler_->done(); ++i) {
      clock_.advance(seconds(1));
      loop_.runUntilIdle();
    }
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  std::unique_ptr<HelloScheduler> scheduler_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
};

TEST_F(HelloSchedulerTest, RunsEveryTaskToFinishedAndTearsDown) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFinish;
  run(5, "cpus:4;mem:1024");
  EXPECT_TRUE(scheduler_->done());
  EXPECT_EQ(scheduler_->finished(), 5);
  EXPECT_EQ(scheduler_->failed(), 0);
  ASSERT_EQ(master_.launches().size(), 5u);
  const TaskInfo& task = master_.launches()[0];
  EXPECT_EQ(task.resources.toString(), "cpus:0.1;mem:32");
  EXPECT_EQ(task.command.value, "echo hello from $AGORA_TASK_ID");
  EXPECT_EQ(task.command.environment, (KeyValues{{"AGORA_TASK_ID", task.taskId}}));
  EXPECT_EQ(driver_->state(), sdk::SchedulerDriver::State::kStopped);
  EXPECT_EQ(master_.callCount("TEARDOWN"), 1);
  EXPECT_TRUE(master_.unacknowledged().empty());  // the last update too, before the teardown
}

TEST_F(HelloSchedulerTest, LaunchesOnlyWhatFitsAndWaitsForResources) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFinish;
  run(5, "cpus:0.25;mem:1024");  // two tasks at a time
  EXPECT_EQ(scheduler_->finished(), 5);
  EXPECT_EQ(master_.launches().size(), 5u);
}

TEST_F(HelloSchedulerTest, CountsFailedTasks) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFail;
  run(3, "cpus:4;mem:1024");
  EXPECT_TRUE(scheduler_->done());
  EXPECT_EQ(scheduler_->failed(), 3);
}

}  // namespace
}  // namespace agora::hello
