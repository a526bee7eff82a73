// Conformance of the SDK's FakeMaster to the real master: the same scheduler
// scenarios run against both, through the same SchedulerDriver, and what the
// scheduler sees (each task's last state and reason, offers coming or not)
// must be the same. Framework authors test against the fake; this is why
// they may trust it.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <thread>

#include "common/fake_transport.hpp"
#include "frameworks/sdk/fake_master.hpp"
#include "tests/integration/recording_scheduler.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAgentResources = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]";

// What a launched task does: the real agent runs the command; the fake
// master is told the outcome.
struct Behavior {
  std::string command;
  sdk::FakeMasterOptions::AutoRun fake;
};
const Behavior kFinishes{"true", sdk::FakeMasterOptions::AutoRun::kFinish};
const Behavior kFails{"exit 1", sdk::FakeMasterOptions::AutoRun::kFail};
const Behavior kRuns{"sleep 100", sdk::FakeMasterOptions::AutoRun::kRunning};

// A master to run a scenario against, with one agent of kAgentResources.
class Side {
 public:
  virtual ~Side() = default;
  virtual std::string name() const = 0;
  virtual void behave(const Behavior& behavior) = 0;
  // A started driver for `scheduler`.
  virtual sdk::SchedulerDriver& start(RecordingScheduler& scheduler) = 0;
};

class RealSide final : public Side {
 public:
  RealSide() {
    cluster_.startMaster();
    cluster_.startAgent(kAgentResources);
  }
  ~RealSide() override { driver_.reset(); }
  std::string name() const override { return "real master"; }
  void behave(const Behavior&) override {}
  sdk::SchedulerDriver& start(RecordingScheduler& scheduler) override {
    sdk::DriverOptions options;
    options.framework.name = "conformance";
    options.framework.roles = {"*"};
    options.masterEndpoint = cluster_.masterEndpoint();
    options.curve = cluster_.schedulerKeys();
    driver_ = std::move(*sdk::SchedulerDriver::create(scheduler, options));
    driver_->start();
    return *driver_;
  }

 private:
  Cluster cluster_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
};

// The FakeMaster on a real-clock loop of its own thread.
class FakeSide final : public Side {
 public:
  FakeSide() {
    master_.addAgent(
        sdk::FakeAgent{"agent-1", *Resources::parse(kAgentResources), "localhost", {}});
  }
  ~FakeSide() override {
    if (driver_) driver_->stop(/*failover=*/true);
    loop_.post([this] { loop_.stop(); });
    if (thread_.joinable()) thread_.join();
    driver_.reset();
  }
  std::string name() const override { return "FakeMaster"; }
  void behave(const Behavior& behavior) override { master_.options().autoRun = behavior.fake; }
  sdk::SchedulerDriver& start(RecordingScheduler& scheduler) override {
    sdk::DriverOptions options;
    options.framework.name = "conformance";
    options.framework.roles = {"*"};
    driver_ = std::make_unique<sdk::SchedulerDriver>(
        scheduler, options, loop_, network_.connect(master_.endpoint(), "sched-1"));
    thread_ = std::thread([this] { loop_.run(); });
    driver_->start();
    return *driver_;
  }

 private:
  EventLoop loop_{RealClock::instance()};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  std::unique_ptr<sdk::SchedulerDriver> driver_;
  std::thread thread_;
};

std::string outcome(RecordingScheduler& scheduler, const std::string& taskId) {
  auto last = scheduler.latest(taskId);
  if (!last) return taskId + ": no update";
  return taskId + ": " + taskStateName(last->state) + " " + taskReasonName(last->reason);
}

bool terminal(RecordingScheduler& scheduler, const std::string& taskId) {
  return eventually(
      [&] {
        auto last = scheduler.latest(taskId);
        return last && isTerminal(last->state);
      },
      seconds(20));
}

// A scenario: drives one side and says what the scheduler saw.
using Scenario = std::function<std::string(Side& side, RecordingScheduler& scheduler)>;

// Launches `tasks` (built by the scenario) on the first offer.
std::string launchAndWait(Side& side, RecordingScheduler& scheduler, const Behavior& behavior,
                          std::vector<TaskInfo> tasks) {
  side.behave(behavior);
  auto launched = std::make_shared<std::atomic<bool>>(false);
  scheduler.setOfferPolicy([tasks, launched](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (!launched->exchange(true)) return driver.launch(offer.id, tasks, 60);
    driver.decline({offer.id}, 60);
  });
  side.start(scheduler);
  std::ostringstream out;
  for (const TaskInfo& task : tasks) {
    terminal(scheduler, task.taskId);
    out << outcome(scheduler, task.taskId) << "\n";
  }
  return out.str();
}

class ConformanceTest : public ::testing::Test {
 protected:
  // Runs the scenario against both masters; their outcomes must agree.
  void expectSame(const Scenario& scenario) {
    std::string fake, real;
    {
      RecordingScheduler scheduler;  // outlives the side's driver
      FakeSide side;
      fake = scenario(side, scheduler);
    }
    {
      RecordingScheduler scheduler;
      RealSide side;
      real = scenario(side, scheduler);
    }
    EXPECT_EQ(fake, real) << "FakeMaster:\n" << fake << "real master:\n" << real;
    EXPECT_FALSE(real.empty());
  }
};

TEST_F(ConformanceTest, ATaskThatExitsZeroFinishes) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    return launchAndWait(side, scheduler, kFinishes, {shellTask("t1", kFinishes.command)});
  });
}

TEST_F(ConformanceTest, ATaskThatExitsNonZeroFails) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    std::string out = launchAndWait(side, scheduler, kFails, {shellTask("t1", kFails.command)});
    auto last = scheduler.latest("t1");
    return out + "exit code " + (last && last->exitCode ? std::to_string(*last->exitCode) : "-");
  });
}

TEST_F(ConformanceTest, AKilledTaskIsKilled) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    side.behave(kRuns);
    auto launched = std::make_shared<std::atomic<bool>>(false);
    scheduler.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) {
        return driver.launch(offer.id, {shellTask("t1", kRuns.command)}, 60);
      }
      driver.decline({offer.id}, 60);
    });
    sdk::SchedulerDriver& driver = side.start(scheduler);
    std::string out =
        scheduler.waitForState("t1", TaskState::RUNNING) ? "running\n" : "never ran\n";
    driver.kill("t1", scheduler.latest("t1")->agentId);
    terminal(scheduler, "t1");
    auto last = scheduler.latest("t1");
    return out + outcome(scheduler, "t1") + " exit code " +
           (last && last->exitCode ? std::to_string(*last->exitCode) : "-");
  });
}

TEST_F(ConformanceTest, TasksOfOneLaunchBiggerThanTheOfferAreRefused) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    return launchAndWait(side, scheduler, kFinishes,
                         {shellTask("small", "true"), shellTask("huge", "true", "cpus:64;mem:32")});
  });
}

TEST_F(ConformanceTest, ADuplicateTaskIdInOneLaunchRefusesTheSecond) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    launchAndWait(side, scheduler, kFinishes,
                  {shellTask("twin", "true"), shellTask("twin", "true")});
    // The second is refused at once, the first runs to its end.
    auto ended = [&] {
      std::vector<std::string> out;
      for (const TaskStatus& status : scheduler.updates()) {
        if (isTerminal(status.state)) {
          out.push_back(std::string(taskStateName(status.state)) + " " +
                        taskReasonName(status.reason));
        }
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    eventually([&] { return ended().size() >= 2; }, seconds(20));
    std::string out;
    for (const std::string& line : ended()) out += line + "\n";
    return out;
  });
}

TEST_F(ConformanceTest, ALaunchOnAnUnknownOfferIsLost) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    side.behave(kFinishes);
    auto launched = std::make_shared<std::atomic<bool>>(false);
    scheduler.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) {
        return driver.launch("no-such-offer", {shellTask("t1", "true")}, 60);
      }
      driver.decline({offer.id}, 60);
    });
    side.start(scheduler);
    terminal(scheduler, "t1");
    return outcome(scheduler, "t1");
  });
}

TEST_F(ConformanceTest, ReconcilingAnUnknownTaskAnswersLost) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    sdk::SchedulerDriver& driver = side.start(scheduler);
    eventually([&] { return !scheduler.frameworkId().empty(); }, seconds(10));
    driver.reconcile({sdk::TaskRef{"ghost", ""}});
    terminal(scheduler, "ghost");
    return outcome(scheduler, "ghost");
  });
}

TEST_F(ConformanceTest, SuppressStopsOffersAndReviveBringsThemBack) {
  expectSame([](Side& side, RecordingScheduler& scheduler) {
    scheduler.setOfferPolicy(
        [](sdk::SchedulerDriver& driver, const Offer& offer) { driver.decline({offer.id}, 0.1); });
    sdk::SchedulerDriver& driver = side.start(scheduler);
    std::string out = eventually([&] { return !scheduler.offers().empty(); }, seconds(10))
                          ? "offered\n"
                          : "no offers\n";
    driver.suppress();
    std::this_thread::sleep_for(milliseconds(500));  // offers in flight arrive
    size_t before = scheduler.offers().size();
    std::this_thread::sleep_for(seconds(2));
    out += scheduler.offers().size() == before ? "suppressed: none\n" : "suppressed: offered\n";
    driver.revive();
    out += eventually([&] { return scheduler.offers().size() > before; }, seconds(10))
               ? "revived: offered"
               : "revived: none";
    return out;
  });
}

}  // namespace
}  // namespace agora::testing
