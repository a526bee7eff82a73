#include "cli/run_scheduler.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include "cli/global_options.hpp"
#include "frameworks/sdk/fake_master.hpp"

namespace agora::cli {
namespace {

class RunSchedulerTest : public ::testing::Test {
 protected:
  void start(const std::string& resources = "cpus:1;mem:64",
             Duration timeout = std::chrono::seconds(30)) {
    TaskInfo task;
    task.taskId = "run-1";
    task.resources = *Resources::parse(resources);
    task.command.value = "true";
    scheduler_ = std::make_unique<RunScheduler>(task, timeout, "fake-master");
    scheduler_->onLaunched = [this](const Offer& offer) { launchedOn_ = offer.agentUrl; };
    driver_ = std::make_unique<sdk::SchedulerDriver>(*scheduler_, sdk::DriverOptions{}, loop_,
                                                     network_.connect(master_.endpoint(), "run"));
    driver_->start();
    scheduler_->armTimeout(*driver_);
    loop_.runUntilIdle();
  }
  void advance(Duration total) {
    for (Duration done{0}; done < total; done += millis(500)) {
      clock_.advance(millis(500));
      loop_.runUntilIdle();
    }
  }
  const RunOutcome& outcome() const { return scheduler_->outcome(); }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  std::unique_ptr<RunScheduler> scheduler_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
  std::string launchedOn_;
};

TEST_F(RunSchedulerTest, LaunchesOnAFittingOfferAndExitsWithTheTaskCode) {
  master_.addAgent("small", "cpus:0.5;mem:1024");
  master_.addAgent("big", "cpus:4;mem:1024");
  start();
  ASSERT_EQ(master_.launches().size(), 1u);
  EXPECT_EQ(master_.launches()[0].agentId, "big");
  EXPECT_EQ(launchedOn_, "http://127.0.0.1:5051");
  EXPECT_FALSE(master_.framework(driver_->frameworkId())->removed);

  master_.sendUpdate("run-1", TaskState::RUNNING);
  master_.sendUpdate("run-1", TaskState::FAILED, TaskReason::COMMAND_EXITED,
                     "Command exited with status 3", 3);
  loop_.runUntilIdle();
  EXPECT_EQ(outcome().kind, RunOutcome::Kind::kTaskEnded);
  EXPECT_EQ(exitCodeOf(outcome()), 3);
  EXPECT_TRUE(master_.framework(driver_->frameworkId())->removed);  // torn down
}

TEST_F(RunSchedulerTest, ExplainsWhyNoOfferFit) {
  master_.addAgent("a1", "cpus:0.5;mem:1024");
  master_.addAgent("a2", "cpus:2;mem:16");
  start("cpus:1;mem:64", std::chrono::seconds(10));
  advance(seconds(11));
  EXPECT_EQ(outcome().kind, RunOutcome::Kind::kNoOffer);
  EXPECT_EQ(exitCodeOf(outcome()), kExitRunFailed);
  // a1 has half the CPUs, a2 a quarter of the memory: a1 is closer.
  EXPECT_NE(outcome().message.find("no offer fits cpus:1;mem:64 within 10s; largest offer seen: "
                                   "cpus:0.5;mem:1024 on agent a1"),
            std::string::npos)
      << outcome().message;
  EXPECT_TRUE(master_.launches().empty());
}

TEST_F(RunSchedulerTest, SaysWhenThereAreNoOffersOrNoMaster) {
  start("cpus:1", std::chrono::seconds(5));
  advance(seconds(6));
  EXPECT_NE(outcome().message.find("no offers received"), std::string::npos);

  master_.setSilent(true);
  start("cpus:1", std::chrono::seconds(5));
  advance(seconds(6));
  EXPECT_NE(outcome().message.find("did not answer"), std::string::npos) << outcome().message;
}

TEST_F(RunSchedulerTest, InterruptKillsTheTaskAndExitsWith130) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  start();
  scheduler_->interrupt(*driver_, SIGINT);
  loop_.runUntilIdle();
  EXPECT_EQ(master_.kills().size(), 1u);
  EXPECT_EQ(outcome().kind, RunOutcome::Kind::kTaskEnded);
  EXPECT_EQ(outcome().status.state, TaskState::KILLED);
  EXPECT_EQ(exitCodeOf(outcome()), 130);
}

TEST_F(RunSchedulerTest, InterruptBeforeLaunchGivesUp) {
  start();
  scheduler_->interrupt(*driver_, SIGTERM);
  loop_.runUntilIdle();
  EXPECT_EQ(outcome().kind, RunOutcome::Kind::kInterrupted);
  EXPECT_EQ(exitCodeOf(outcome()), 143);
}

TEST(RunOutcomeTest, ARefusalByTheMasterExits1) {
  RunOutcome o;
  o.kind = RunOutcome::Kind::kAborted;
  EXPECT_EQ(exitCodeOf(o), kExitError);
}

TEST(RunOutcomeTest, ExitCodes) {
  RunOutcome o;
  o.kind = RunOutcome::Kind::kTaskEnded;
  o.status.state = TaskState::FINISHED;
  EXPECT_EQ(exitCodeOf(o), 0);
  o.status.state = TaskState::FAILED;
  EXPECT_EQ(exitCodeOf(o), 1);
  o.status.exitCode = 137;
  EXPECT_EQ(exitCodeOf(o), 137);
  o.status.state = TaskState::KILLED;
  EXPECT_EQ(exitCodeOf(o), 143);
  o.status.state = TaskState::LOST;
  EXPECT_EQ(exitCodeOf(o), 1);
  EXPECT_DOUBLE_EQ(
      offerScore(*Resources::parse("cpus:1;mem:10"), *Resources::parse("cpus:2;mem:5")), 0.5);
}

// An offer to the task's role holding only the role's reservation: the task
// runs on it (it already counts toward the role's quota).
TEST_F(RunSchedulerTest, LaunchesOnTheRolesReservation) {
  master_.addAgent("a1", "cpus(eng):1;mem(eng):256");
  start("cpus:0.5;mem:64");
  ASSERT_EQ(master_.launches().size(), 1u);
  EXPECT_EQ(master_.launches()[0].resources, *Resources::parse("cpus(eng):0.5;mem(eng):64"));
}

}  // namespace
}  // namespace agora::cli
