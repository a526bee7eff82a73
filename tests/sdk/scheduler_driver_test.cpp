#include "frameworks/sdk/scheduler_driver.hpp"

#include <gtest/gtest.h>

#include <future>

#include "common/fake_transport.hpp"
#include "common/zmq_transport.hpp"
#include "frameworks/sdk/fake_master.hpp"
#include "tests/sdk/recording_scheduler.hpp"

namespace agora::sdk {
namespace {

using testing::RecordingScheduler;

TaskInfo makeTask(const std::string& id, const std::string& resources = "cpus:1;mem:128") {
  TaskInfo task;
  task.taskId = id;
  task.resources = *Resources::parse(resources);
  task.command.value = "true";
  return task;
}

// Launches one task on the first offer; declines every later offer.
std::function<void(SchedulerDriver&, const std::vector<Offer>&)> launchOnce(const std::string& id) {
  return [id, launched = false](SchedulerDriver& driver, const std::vector<Offer>& offers) mutable {
    for (const Offer& offer : offers) {
      if (launched) {
        driver.decline({offer.id});
      } else {
        driver.launch(offer.id, {makeTask(id)});
        launched = true;
      }
    }
  };
}

class SchedulerDriverTest : public ::testing::Test {
 protected:
  void startDriver(DriverOptions options = {}) {
    options.framework.name = "test";
    driver_ = std::make_unique<SchedulerDriver>(scheduler_, options, loop_,
                                                network_.connect(master_.endpoint(), "sched-1"));
    driver_->start();
    loop_.runUntilIdle();
  }
  // Moves time in 100 ms steps so periodic timers fire as they would for real.
  void advance(Duration total) {
    for (Duration done{0}; done < total; done += millis(100)) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
    }
  }
  void addAgent(const std::string& id = "agent-1",
                const std::string& resources = "cpus:4;mem:1024") {
    master_.addAgent(id, resources);
    loop_.runUntilIdle();
  }
  const FakeMaster::Framework& framework() {
    return *master_.framework(scheduler_.frameworkIds.at(0));
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  FakeMaster master_{loop_, network_};
  RecordingScheduler scheduler_;
  std::unique_ptr<SchedulerDriver> driver_;  // last: destroyed first
};

TEST_F(SchedulerDriverTest, SubscribesAndReportsFrameworkId) {
  startDriver();
  ASSERT_EQ(scheduler_.frameworkIds.size(), 1u);
  EXPECT_EQ(driver_->frameworkId(), scheduler_.frameworkIds[0]);
  EXPECT_EQ(driver_->state(), SchedulerDriver::State::kSubscribed);
  EXPECT_EQ(framework().info.name, "test");
}

TEST_F(SchedulerDriverTest, RetriesSubscribeEverySecondUntilAnswered) {
  master_.setSilent(true);
  startDriver();
  advance(seconds(3));
  EXPECT_EQ(master_.callCount("SUBSCRIBE"), 4);
  EXPECT_TRUE(scheduler_.frameworkIds.empty());
  master_.setSilent(false);
  advance(seconds(1));
  ASSERT_EQ(scheduler_.frameworkIds.size(), 1u);
  advance(seconds(3));
  EXPECT_EQ(master_.callCount("SUBSCRIBE"), 5);
  EXPECT_EQ(master_.frameworks().size(), 1u);
}

TEST_F(SchedulerDriverTest, CallsBeforeSubscribingAreDropped) {
  master_.setSilent(true);
  startDriver();
  driver_->revive();
  driver_->kill("t1", "agent-1");
  loop_.runUntilIdle();
  EXPECT_EQ(master_.callCount("REVIVE"), 0);
  EXPECT_EQ(master_.callCount("KILL"), 0);
}

TEST_F(SchedulerDriverTest, LaunchFillsTheOffersAgentIntoTasks) {
  scheduler_.onOffers = launchOnce("t1");
  startDriver();
  addAgent();
  ASSERT_EQ(scheduler_.offersSeen.size(), 1u);
  EXPECT_EQ(scheduler_.offersSeen[0].resources.toString(), "cpus:4;mem:1024");
  ASSERT_EQ(master_.launches().size(), 1u);
  EXPECT_EQ(master_.launches()[0].agentId, "agent-1");
  EXPECT_EQ(master_.task("t1")->state, TaskState::STAGING);
}

TEST_F(SchedulerDriverTest, AcknowledgesEachUpdateAfterTheCallbackReturns) {
  master_.options().autoRun = FakeMasterOptions::AutoRun::kFinish;
  std::vector<bool> unackedDuringCallback;
  scheduler_.onOffers = launchOnce("t1");
  scheduler_.onUpdate = [&](SchedulerDriver&, const TaskStatus& status) {
    unackedDuringCallback.push_back(master_.unacknowledged().count(status.uuid) == 1);
  };
  startDriver();
  addAgent();
  EXPECT_EQ(scheduler_.states(), (std::vector<TaskState>{TaskState::RUNNING, TaskState::FINISHED}));
  EXPECT_EQ(unackedDuringCallback, (std::vector<bool>{true, true}));
  EXPECT_TRUE(master_.unacknowledged().empty());
  EXPECT_EQ(master_.acknowledgements(), 2);
}

TEST_F(SchedulerDriverTest, ManualAcknowledgementWhenAutoIsOff) {
  DriverOptions options;
  options.autoAcknowledge = false;
  scheduler_.onOffers = launchOnce("t1");
  startDriver(options);
  addAgent();
  master_.sendUpdate("t1", TaskState::RUNNING);
  loop_.runUntilIdle();
  ASSERT_EQ(scheduler_.updates.size(), 1u);
  EXPECT_EQ(master_.unacknowledged().size(), 1u);
  driver_->acknowledge(scheduler_.updates[0]);
  loop_.runUntilIdle();
  EXPECT_TRUE(master_.unacknowledged().empty());
}

TEST_F(SchedulerDriverTest, DeclinedResourcesComeBackAfterTheFilterExpires) {
  scheduler_.onOffers = [](SchedulerDriver& driver, const std::vector<Offer>& offers) {
    driver.decline({offers[0].id}, 10);
  };
  startDriver();
  addAgent();
  ASSERT_EQ(master_.declines().size(), 1u);
  EXPECT_DOUBLE_EQ(master_.declines()[0].refuseSeconds, 10);
  advance(seconds(8));
  EXPECT_EQ(scheduler_.offersSeen.size(), 1u);
  advance(seconds(3));
  EXPECT_EQ(scheduler_.offersSeen.size(), 2u);
}

TEST_F(SchedulerDriverTest, ReviveClearsFiltersAndSuppressStopsOffers) {
  scheduler_.onOffers = [](SchedulerDriver& driver, const std::vector<Offer>& offers) {
    driver.decline({offers[0].id}, 3600);
  };
  startDriver();
  addAgent();
  driver_->revive();
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler_.offersSeen.size(), 2u);
  driver_->suppress();
  loop_.runUntilIdle();
  addAgent("agent-2");
  EXPECT_EQ(scheduler_.offersSeen.size(), 2u);
}

TEST_F(SchedulerDriverTest, KillReachesTheMasterAndKilledIsReported) {
  scheduler_.onOffers = launchOnce("t1");
  startDriver();
  addAgent();
  driver_->kill("t1", "agent-1");
  loop_.runUntilIdle();
  EXPECT_EQ(master_.kills(), (std::vector<TaskRef>{{"t1", "agent-1"}}));
  ASSERT_EQ(scheduler_.updates.size(), 1u);
  EXPECT_EQ(scheduler_.updates[0].state, TaskState::KILLED);
}

TEST_F(SchedulerDriverTest, InvalidOfferYieldsTaskLost) {
  startDriver();
  driver_->launch("no-such-offer", {makeTask("t1")});
  loop_.runUntilIdle();
  ASSERT_EQ(scheduler_.updates.size(), 1u);
  EXPECT_EQ(scheduler_.updates[0].state, TaskState::LOST);
  EXPECT_EQ(scheduler_.updates[0].reason, TaskReason::INVALID_OFFERS);
  EXPECT_TRUE(scheduler_.updates[0].uuid.empty());
}

TEST_F(SchedulerDriverTest, RescindIsReported) {
  startDriver();
  addAgent();
  ASSERT_EQ(scheduler_.offersSeen.size(), 1u);
  master_.rescind(scheduler_.offersSeen[0].id);
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler_.rescindedIds, std::vector<std::string>{scheduler_.offersSeen[0].id});
}

TEST_F(SchedulerDriverTest, ReconcileAnswersWithLatestStates) {
  scheduler_.onOffers = launchOnce("t1");
  startDriver();
  addAgent();
  master_.sendUpdate("t1", TaskState::RUNNING);
  loop_.runUntilIdle();
  scheduler_.updates.clear();
  driver_->reconcile({{"t1", "agent-1"}, {"ghost", "agent-1"}});
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler_.states(), (std::vector<TaskState>{TaskState::RUNNING, TaskState::LOST}));
  EXPECT_EQ(scheduler_.updates[0].reason, TaskReason::RECONCILIATION);
}

TEST_F(SchedulerDriverTest, SendsHeartbeatsEveryInterval) {
  startDriver();
  advance(seconds(15.05));
  EXPECT_EQ(framework().heartbeats, 3);
  EXPECT_EQ(scheduler_.disconnects, 0);
}

TEST_F(SchedulerDriverTest, SilentMasterDisconnectsThenResubscribesWithTheSameId) {
  startDriver();
  std::string id = driver_->frameworkId();
  master_.setSilent(true);
  advance(seconds(14));
  EXPECT_EQ(scheduler_.disconnects, 0);
  advance(seconds(2));  // > 3 intervals of 5 s since the last word
  EXPECT_EQ(scheduler_.disconnects, 1);
  EXPECT_EQ(driver_->state(), SchedulerDriver::State::kSubscribing);
  int subscribes = master_.callCount("SUBSCRIBE");
  advance(seconds(2));
  EXPECT_GE(master_.callCount("SUBSCRIBE"), subscribes + 2);

  master_.setSilent(false);
  advance(seconds(1));
  EXPECT_EQ(scheduler_.reconnects, 1);
  EXPECT_EQ(scheduler_.frameworkIds.size(), 1u);  // subscribed() only the first time
  EXPECT_EQ(driver_->frameworkId(), id);
  EXPECT_EQ(master_.frameworks().size(), 1u);
}

TEST_F(SchedulerDriverTest, ErrorEventAbortsTheDriver) {
  startDriver();
  master_.sendError(driver_->frameworkId(), "framework removed");
  loop_.runUntilIdle();
  EXPECT_EQ(scheduler_.errors, std::vector<std::string>{"framework removed"});
  EXPECT_EQ(driver_->state(), SchedulerDriver::State::kAborted);
  driver_->revive();
  loop_.runUntilIdle();
  EXPECT_EQ(master_.callCount("REVIVE"), 0);
}

TEST_F(SchedulerDriverTest, StopTearsDownUnlessFailingOver) {
  startDriver();
  driver_->stop(/*failover=*/true);
  loop_.runUntilIdle();
  EXPECT_EQ(master_.callCount("TEARDOWN"), 0);
  EXPECT_FALSE(framework().removed);

  driver_.reset();
  DriverOptions options;
  options.framework.id = scheduler_.frameworkIds[0];
  startDriver(options);  // fails over to the same framework
  EXPECT_EQ(master_.frameworks().size(), 1u);
  driver_->stop();
  loop_.runUntilIdle();
  EXPECT_EQ(master_.callCount("TEARDOWN"), 1);
  EXPECT_TRUE(framework().removed);
  EXPECT_EQ(driver_->state(), SchedulerDriver::State::kStopped);
}

// The production path: an owned loop thread and real ZeroMQ sockets.
TEST(SchedulerDriverZmqTest, SubscribesOverZeroMqAndTearsDownOnStop) {
  EventLoop serverLoop;
  auto server = ZmqServer::create(serverLoop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  std::promise<std::string> teardownFrom;
  std::string subscribedIdentity;
  (*server)->setHandler([&](const std::string& peer, std::string_view, std::string_view payload) {
    auto call = decodeCall(payload);
    if (!call) return;
    if (std::holds_alternative<call::Subscribe>(call->body)) {
      subscribedIdentity = peer;
      (*server)->send(peer, kSchedulerProtocol,
                      encodeEvent(Event{event::Subscribed{"fw-zmq", 5, "m"}}));
    } else if (std::holds_alternative<call::Teardown>(call->body)) {
      teardownFrom.set_value(peer + "/" + call->frameworkId);
      serverLoop.stop();
    }
  });
  std::thread serverThread([&] { serverLoop.run(); });

  std::promise<std::string> subscribed;
  struct Sched : RecordingScheduler {
    std::promise<std::string>* done;
    void subscribed(SchedulerDriver& driver, const std::string& id) override {
      done->set_value(id);
      driver.stop();
    }
  } scheduler;
  scheduler.done = &subscribed;
  DriverOptions options;
  options.masterEndpoint = (*server)->endpoint();
  auto driver = SchedulerDriver::create(scheduler, options);
  ASSERT_TRUE(driver.has_value()) << driver.error().message;
  EXPECT_EQ((*driver)->identity().rfind("sched-", 0), 0u);
  EXPECT_TRUE((*driver)->run().has_value());
  EXPECT_EQ(subscribed.get_future().get(), "fw-zmq");
  auto teardown = teardownFrom.get_future();
  ASSERT_EQ(teardown.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(teardown.get(), (*driver)->identity() + "/fw-zmq");
  serverLoop.stop();
  serverThread.join();
}

}  // namespace
}  // namespace agora::sdk
