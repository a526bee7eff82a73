#include "frameworks/sdk/fake_master.hpp"

#include <gtest/gtest.h>

#include "tests/sdk/recording_scheduler.hpp"

namespace agora::sdk {
namespace {

using testing::RecordingScheduler;

TaskInfo makeTask(const std::string& id, const std::string& resources) {
  TaskInfo task;
  task.taskId = id;
  task.resources = *Resources::parse(resources);
  task.command.value = "true";
  return task;
}

class FakeMasterTest : public ::testing::Test {
 protected:
  std::unique_ptr<SchedulerDriver> connect(RecordingScheduler& scheduler,
                                           const std::string& identity,
                                           std::vector<std::string> capabilities = {}) {
    DriverOptions options;
    options.framework.name = identity;
    options.framework.capabilities = std::move(capabilities);
    auto driver = std::make_unique<SchedulerDriver>(scheduler, options, loop_,
                                                    network_.connect(master_.endpoint(), identity));
    driver->start();
    loop_.runUntilIdle();
    return driver;
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  FakeMaster master_{loop_, network_};
};

TEST_F(FakeMasterTest, OffersOnlyFreeResourcesAndRefusesTheUnusedRest) {
  RecordingScheduler scheduler;
  scheduler.onOffers = [](SchedulerDriver& driver, const std::vector<Offer>& offers) {
    driver.launch(offers[0].id, {makeTask("t1", "cpus:1;mem:100")}, 30);
  };
  auto driver = connect(scheduler, "sched-1");
  master_.addAgent("a1", "cpus:4;mem:1000");
  loop_.runUntilIdle();
  // The rest (cpus:3;mem:900) is filtered for 30 s for this framework.
  EXPECT_EQ(scheduler.offersSeen.size(), 1u);
  master_.sendUpdate("t1", TaskState::FINISHED);
  loop_.runUntilIdle();
  // cpus:4;mem:1000 is not covered by the filter: offered again.
  ASSERT_EQ(scheduler.offersSeen.size(), 2u);
  EXPECT_EQ(scheduler.offersSeen[1].resources.toString(), "cpus:4;mem:1000");
}

TEST_F(FakeMasterTest, RefusesAWebuiUrlTheMasterWouldRefuse) {
  RecordingScheduler refused;
  DriverOptions options;
  options.framework.name = "bad";
  options.framework.webuiUrl = "javascript:alert(1)";
  SchedulerDriver bad(refused, options, loop_, network_.connect(master_.endpoint(), "sched-bad"));
  bad.start();
  loop_.runUntilIdle();
  EXPECT_TRUE(master_.frameworks().empty());
  ASSERT_FALSE(refused.errors.empty());
  EXPECT_EQ(refused.errors[0].rfind("invalid FrameworkInfo: webui_url", 0), 0u)
      << refused.errors[0];

  RecordingScheduler accepted;
  options.framework.name = "good";
  options.framework.webuiUrl = "https://good.example:8443";
  SchedulerDriver good(accepted, options, loop_, network_.connect(master_.endpoint(), "sched-ok"));
  good.start();
  loop_.runUntilIdle();
  ASSERT_EQ(master_.frameworks().size(), 1u);
  EXPECT_EQ(master_.frameworks().begin()->second.info.webuiUrl, "https://good.example:8443");
}

TEST_F(FakeMasterTest, RejectsInvalidTasksWithTaskError) {
  RecordingScheduler scheduler;
  scheduler.onOffers = [](SchedulerDriver& driver, const std::vector<Offer>& offers) {
    driver.launch(offers[0].id, {makeTask("big", "cpus:8;mem:10"), makeTask("bad id", "cpus:1"),
                                 makeTask("ok", "cpus:1;mem:10")});
  };
  auto driver = connect(scheduler, "sched-1");
  master_.addAgent("a1", "cpus:4;mem:1000");
  loop_.runUntilIdle();
  ASSERT_EQ(scheduler.updates.size(), 2u);
  EXPECT_EQ(scheduler.updates[0].state, TaskState::ERROR);
  EXPECT_EQ(scheduler.updates[0].reason, TaskReason::TASK_INVALID);
  EXPECT_NE(scheduler.updates[0].message.find("exceed"), std::string::npos);
  EXPECT_EQ(scheduler.updates[1].taskId, "bad id");
  ASSERT_EQ(master_.launches().size(), 1u);
  EXPECT_EQ(master_.launches()[0].taskId, "ok");
}

TEST_F(FakeMasterTest, PartitionAwareFrameworksGetDroppedAndUnknown) {
  RecordingScheduler scheduler;
  auto driver = connect(scheduler, "sched-1", {"PARTITION_AWARE"});
  driver->launch("nope", {makeTask("t1", "cpus:1")});
  driver->kill("ghost", "a1");
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler.states(), (std::vector<TaskState>{TaskState::DROPPED, TaskState::UNKNOWN}));
}

TEST_F(FakeMasterTest, SharesAgentsBetweenFrameworksRoundRobin) {
  RecordingScheduler first, second;
  auto d1 = connect(first, "sched-1");
  auto d2 = connect(second, "sched-2");
  master_.addAgent("a1", "cpus:1");
  master_.addAgent("a2", "cpus:1");
  loop_.runUntilIdle();
  EXPECT_EQ(first.offersSeen.size(), 1u);
  EXPECT_EQ(second.offersSeen.size(), 1u);
}

TEST_F(FakeMasterTest, RemovingAnAgentRescindsOffersAndLosesTasks) {
  RecordingScheduler scheduler;
  scheduler.onOffers = [](SchedulerDriver& driver, const std::vector<Offer>& offers) {
    for (const auto& o : offers) {
      if (o.agentId == "a1") driver.launch(o.id, {makeTask("t1", "cpus:1")});
    }
  };
  auto driver = connect(scheduler, "sched-1");
  master_.addAgent("a1", "cpus:1");
  master_.addAgent("a2", "cpus:1");
  loop_.runUntilIdle();
  master_.removeAgent("a1");
  master_.removeAgent("a2");
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler.rescindedIds.size(), 1u);
  ASSERT_EQ(scheduler.updates.size(), 1u);
  EXPECT_EQ(scheduler.updates[0].state, TaskState::LOST);
  EXPECT_EQ(scheduler.updates[0].reason, TaskReason::AGENT_REMOVED);
}

TEST_F(FakeMasterTest, CallsFromUnknownConnectionsGetAnError) {
  RecordingScheduler scheduler;
  DriverOptions options;
  options.framework.name = "ghost";
  options.framework.id = "framework-404";
  SchedulerDriver driver(scheduler, options, loop_, network_.connect(master_.endpoint(), "s"));
  driver.start();
  loop_.runUntilIdle();
  ASSERT_EQ(scheduler.errors.size(), 1u);
  EXPECT_NE(scheduler.errors[0].find("framework-404"), std::string::npos);
}

}  // namespace
}  // namespace agora::sdk
