#include "frameworks/kit/runtime.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "common/fake_transport.hpp"
#include "frameworks/kit/memory_store.hpp"
#include "frameworks/sdk/fake_master.hpp"

namespace agora::kit {
namespace {

// A store the test keeps across runtimes (a restarted framework finds what
// the killed one wrote), that can be told to fail.
class SharedStore final : public Store {
 public:
  explicit SharedStore(MemoryStore& target, const bool& failing)
      : target_(target), failing_(failing) {}
  Result<std::optional<Record>> get(const std::string& key) override { return target_.get(key); }
  Result<std::vector<Record>> list(const std::string& prefix) override {
    return target_.list(prefix);
  }

 protected:
  Result<std::vector<Record>> apply(const std::vector<Write>& writes) override {
    if (failing_) return makeError(ErrorCode::kIo, "disk gone");
    return target_.commit(writes);
  }

 private:
  MemoryStore& target_;
  const bool& failing_;
};

// Wants `wanted` tasks of one group running or finished (lost ones are
// placed again).
class TestFramework final : public Framework {
 public:
  std::vector<TaskGroup> pending(const TaskJournal& journal) override {
    int taken = 0;
    for (const auto& [id, task] : journal.tasks()) {
      taken += !isTerminal(task.state) || task.state == TaskState::FINISHED;
    }
    return {
        {"/shop/web", wanted - taken, *Resources::parse("cpus:1;mem:64"), ports, constraints, {}}};
  }
  TaskInfo task(const PlannedTask& planned) override {
    if (onTask) onTask(planned);
    TaskInfo task;
    task.command.value = "serve";
    return task;
  }
  void changed(Runtime&, const TaskEntry& task) override { changes.push_back(task); }
  void ready(Runtime&) override { readies++; }

  int wanted = 0;
  std::vector<std::string> ports;
  std::vector<Constraint> constraints;
  std::function<void(const PlannedTask&)> onTask;
  std::vector<TaskEntry> changes;
  int readies = 0;
};

class RuntimeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Runtime> startRuntime() {
    RuntimeOptions options;
    options.driver.framework.name = "web";
    options.driver.framework.failoverTimeoutSec = 600;
    std::string identity = "rt-" + std::to_string(++runtimes_);
    identity_ = identity;
    auto drivers = [this, identity](
                       sdk::Scheduler& scheduler,
                       sdk::DriverOptions driver) -> Result<std::unique_ptr<sdk::SchedulerDriver>> {
      return std::make_unique<sdk::SchedulerDriver>(scheduler, std::move(driver), loop_,
                                                    network_.connect(master_.endpoint(), identity));
    };
    auto runtime = std::make_unique<Runtime>(
        framework_, options, loop_, std::make_unique<SharedStore>(records_, failing_), drivers);
    runtime->start();
    advance(seconds(1));
    return runtime;
  }
  void advance(Duration total) {
    for (Duration done{0}; done < total; done += millis(100)) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
    }
  }
  int liveTasks() const {
    int live = 0;
    for (const TaskInfo& launched : master_.launches()) {
      const auto* task = master_.task(launched.taskId);
      live += task != nullptr && !isTerminal(task->state);
    }
    return live;
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  MemoryStore records_;
  bool failing_ = false;
  TestFramework framework_;
  int runtimes_ = 0;
  std::string identity_;
};

TEST_F(RuntimeTest, PlacesWhatIsPendingJournalsItAndSuppressesWhenNothingIs) {
  master_.addAgent("a1", "cpus:4;mem:1024;ports:[31000-31009]");
  framework_.wanted = 3;
  framework_.ports = {"http"};
  auto runtime = startRuntime();
  ASSERT_EQ(runtime->phase(), Runtime::Phase::kActive);
  EXPECT_EQ(framework_.readies, 1);
  ASSERT_EQ(master_.launches().size(), 3u);
  const TaskInfo& first = master_.launches()[0];
  EXPECT_EQ(first.taskId.rfind("shop_web.", 0), 0u) << first.taskId;
  EXPECT_EQ(first.name, "/shop/web");
  EXPECT_NE(findValue(first.command.environment, "PORT_HTTP"), nullptr);
  EXPECT_NE(first.resources.toString().find("ports"), std::string::npos);
  // Every launched task is in the store, with where it went.
  auto journal = TaskJournal::load(records_);
  ASSERT_TRUE(journal.has_value());
  EXPECT_EQ(journal->tasks().size(), 3u);
  EXPECT_EQ(journal->find(first.taskId)->group, "/shop/web");
  EXPECT_EQ(journal->find(first.taskId)->placement.hostname, "localhost");
  EXPECT_EQ((*records_.get(Runtime::kFrameworkIdKey))->value, runtime->frameworkId());
  EXPECT_TRUE(master_.framework(runtime->frameworkId())->suppressed);

  // An update is recorded, then acknowledged, then told to the framework.
  master_.sendUpdate(first.taskId, TaskState::RUNNING);
  advance(millis(200));
  EXPECT_EQ(runtime->journal()->find(first.taskId)->state, TaskState::RUNNING);
  EXPECT_TRUE(master_.unacknowledged().empty());
  ASSERT_FALSE(framework_.changes.empty());
  EXPECT_EQ(framework_.changes.back().state, TaskState::RUNNING);

  // One lost: pending again, offers revived, placed anew.
  master_.sendUpdate(first.taskId, TaskState::LOST);
  advance(seconds(2));
  EXPECT_EQ(master_.launches().size(), 4u);
  EXPECT_EQ(liveTasks(), 3);
}

TEST_F(RuntimeTest, ARestartFailsOverWithTheStoredIdAndAdoptsWhatRuns) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  framework_.wanted = 2;
  auto first = startRuntime();
  std::string id = first->frameworkId();
  ASSERT_EQ(master_.launches().size(), 2u);
  for (const TaskInfo& task : master_.launches())
    master_.sendUpdate(task.taskId, TaskState::RUNNING);
  advance(millis(200));
  first.reset();  // killed: no teardown

  auto second = startRuntime();
  EXPECT_EQ(second->frameworkId(), id);
  EXPECT_EQ(second->phase(), Runtime::Phase::kActive);
  EXPECT_EQ(master_.launches().size(), 2u);  // nothing launched twice
  EXPECT_EQ(second->journal()->active().size(), 2u);
  for (const auto& [taskId, entry] : second->journal()->tasks()) {
    EXPECT_EQ(entry.state, TaskState::RUNNING) << taskId;
  }
}

TEST_F(RuntimeTest, AnIntentThatNeverReachedTheMasterIsReplacedNotLaunchedTwice) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  framework_.wanted = 2;
  // Killed between writing the intents and sending the launch: the launch
  // never leaves.
  framework_.onTask = [this](const PlannedTask&) { network_.cutOff(identity_); };
  auto first = startRuntime();
  EXPECT_TRUE(master_.launches().empty());
  EXPECT_EQ(first->journal()->unconfirmed().size(), 2u);
  first.reset();
  framework_.onTask = nullptr;

  auto second = startRuntime();
  advance(seconds(2));
  // The master did not know them: recorded LOST, placed again under new IDs.
  EXPECT_EQ(master_.launches().size(), 2u);
  EXPECT_EQ(liveTasks(), 2);
  int lost = 0;
  for (const auto& [taskId, entry] : second->journal()->tasks()) {
    lost += entry.state == TaskState::LOST;
  }
  EXPECT_EQ(lost, 2);
}

TEST_F(RuntimeTest, SaysWhyAGroupWaits) {
  master_.addAgent("a1", "cpus:0.5;mem:1024");
  framework_.wanted = 1;
  auto runtime = startRuntime();
  EXPECT_TRUE(master_.launches().empty());
  ASSERT_EQ(runtime->waiting().count("/shop/web"), 1u);
  const Unplaced& why = runtime->waiting().at("/shop/web");
  EXPECT_EQ(why.pending, 1);
  EXPECT_GE(why.offersSeen, 1);
  EXPECT_NE(why.closest.find("cpus"), std::string::npos) << why.closest;
  EXPECT_FALSE(master_.framework(runtime->frameworkId())->suppressed);
}

TEST_F(RuntimeTest, ConstraintsCountTasksPlacedBeforeARestart) {
  master_.addAgent(sdk::FakeAgent{"a1", *Resources::parse("cpus:4;mem:1024"), "h1", {}});
  master_.addAgent(sdk::FakeAgent{"a2", *Resources::parse("cpus:4;mem:1024"), "h2", {}});
  framework_.wanted = 1;
  framework_.constraints = {*parseConstraintText("hostname:UNIQUE")};
  auto first = startRuntime();
  ASSERT_EQ(master_.launches().size(), 1u);
  std::string firstAgent = master_.launches()[0].agentId;
  master_.sendUpdate(master_.launches()[0].taskId, TaskState::RUNNING);
  advance(millis(200));
  first.reset();

  framework_.wanted = 2;
  auto second = startRuntime();
  advance(seconds(2));
  ASSERT_EQ(master_.launches().size(), 2u);
  EXPECT_NE(master_.launches()[1].agentId, firstAgent);
}

TEST_F(RuntimeTest, AnUpdateTheStoreCannotKeepIsNotAcknowledgedAndTheRuntimeStops) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  framework_.wanted = 1;
  auto runtime = startRuntime();
  ASSERT_EQ(master_.launches().size(), 1u);
  failing_ = true;
  master_.sendUpdate(master_.launches()[0].taskId, TaskState::RUNNING);
  advance(millis(500));
  EXPECT_EQ(master_.unacknowledged().size(), 1u);
  EXPECT_EQ(runtime->phase(), Runtime::Phase::kStopped);
  // Failed over, not torn down: the task keeps running for the next instance.
  EXPECT_FALSE(master_.framework(runtime->frameworkId())->removed);
}

TEST_F(RuntimeTest, TeardownForgetsTheFrameworkAndItsRunningTasksButNotTheEndedOnes) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  framework_.wanted = 2;
  auto runtime = startRuntime();
  ASSERT_EQ(master_.launches().size(), 2u);
  std::string ended = master_.launches()[0].taskId;
  master_.sendUpdate(ended, TaskState::FINISHED);
  advance(millis(200));
  runtime->stop(/*teardown=*/true);
  advance(millis(300));
  EXPECT_TRUE(master_.framework(runtime->frameworkId())->removed);
  EXPECT_FALSE(*records_.get(Runtime::kFrameworkIdKey));
  auto left = records_.list(TaskJournal::kPrefix);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->at(0).key, TaskJournal::kPrefix + ended);
}

TEST_F(RuntimeTest, WakeRevivesSuppressedOffers) {
  master_.addAgent("a1", "cpus:4;mem:1024");
  auto runtime = startRuntime();
  EXPECT_TRUE(master_.framework(runtime->frameworkId())->suppressed);
  framework_.wanted = 1;
  int revives = master_.callCount("REVIVE");
  runtime->wake();
  advance(millis(300));
  EXPECT_EQ(master_.callCount("REVIVE"), revives + 1);
  EXPECT_EQ(master_.launches().size(), 1u);
  // Placed: nothing pending, suppressed again.
  EXPECT_TRUE(master_.framework(runtime->frameworkId())->suppressed);
}

}  // namespace
}  // namespace agora::kit
