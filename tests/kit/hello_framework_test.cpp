#include "frameworks/examples/hello/hello_framework.hpp"

#include <gtest/gtest.h>

#include "common/fake_transport.hpp"
#include "frameworks/kit/memory_store.hpp"
#include "frameworks/sdk/fake_master.hpp"

namespace agora::hello {
namespace {

class HelloFrameworkTest : public ::testing::Test {
 protected:
  void run(int tasks, const std::string& agentResources,
           std::vector<kit::Constraint> constraints = {}) {
    master_.addAgent("a1", agentResources);
    hello_ = std::make_unique<HelloFramework>(tasks, "echo hello", std::move(constraints));
    kit::RuntimeOptions options;
    options.driver.framework.name = "hello";
    auto drivers = [this](
                       sdk::Scheduler& scheduler,
                       sdk::DriverOptions driver) -> Result<std::unique_ptr<sdk::SchedulerDriver>> {
      return std::make_unique<sdk::SchedulerDriver>(scheduler, std::move(driver), loop_,
                                                    network_.connect(master_.endpoint(), "hello"));
    };
    runtime_ = std::make_unique<kit::Runtime>(*hello_, options, loop_,
                                              std::make_unique<kit::MemoryStore>(), drivers);
    runtime_->start();
    for (int i = 0; i < 100 && runtime_->phase() != kit::Runtime::Phase::kStopped; ++i) {
      clock_.advance(seconds(1));
      loop_.runUntilIdle();
    }
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  std::unique_ptr<HelloFramework> hello_;
  std::unique_ptr<kit::Runtime> runtime_;
};

TEST_F(HelloFrameworkTest, RunsEveryTaskToFinishedAndTearsDown) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFinish;
  run(5, "cpus:4;mem:1024");
  EXPECT_TRUE(hello_->done());
  EXPECT_EQ(hello_->finished(), 5);
  EXPECT_EQ(hello_->failed(), 0);
  ASSERT_EQ(master_.launches().size(), 5u);
  const TaskInfo& task = master_.launches()[0];
  EXPECT_EQ(task.resources.toString(), "cpus:0.1;mem:32");
  EXPECT_EQ(task.command.value, "echo hello");
  EXPECT_EQ(master_.callCount("TEARDOWN"), 1);
  EXPECT_TRUE(master_.unacknowledged().empty());  // the last update too, before the teardown
}

TEST_F(HelloFrameworkTest, LaunchesOnlyWhatFitsAndWaitsForResources) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFinish;
  run(5, "cpus:0.25;mem:1024");  // two tasks at a time
  EXPECT_EQ(hello_->finished(), 5);
  EXPECT_EQ(master_.launches().size(), 5u);
}

TEST_F(HelloFrameworkTest, CountsFailedTasksWithoutRetrying) {
  master_.options().autoRun = sdk::FakeMasterOptions::AutoRun::kFail;
  run(3, "cpus:4;mem:1024");
  EXPECT_TRUE(hello_->done());
  EXPECT_EQ(hello_->failed(), 3);
  EXPECT_EQ(master_.launches().size(), 3u);
}

TEST_F(HelloFrameworkTest, AConstraintNoAgentMeetsLeavesTheTasksWaitingWithAReason) {
  run(2, "cpus:4;mem:1024", {*kit::parseConstraintText("rack:IS:r1")});
  EXPECT_TRUE(master_.launches().empty());
  ASSERT_EQ(runtime_->waiting().count("hello"), 1u);
  const kit::Unplaced& why = runtime_->waiting().at("hello");
  ASSERT_FALSE(why.reasons.empty());
  EXPECT_NE(why.reasons.begin()->first.find("rack"), std::string::npos)
      << why.reasons.begin()->first;
}

}  // namespace
}  // namespace agora::hello
