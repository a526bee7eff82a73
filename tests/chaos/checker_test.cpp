// The chaos checker's invariants on hand-built observations: each one must
// catch the fault it names and accept the histories chaos legitimately makes.

#include "tests/chaos/checker.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "tests/chaos/vanished_launches.hpp"

namespace agora::chaos {
namespace {

JournalEvent ev(std::string kind, std::vector<std::string> fields) {
  return {std::move(kind), std::move(fields)};
}

JournalEvent at(int64_t ms, JournalEvent event) {
  event.atMs = ms;
  return event;
}

JournalEvent update(const std::string& task, const std::string& state, const std::string& uuid,
                    const std::string& container = "c1", const std::string& source = "agent",
                    const std::string& reason = "REASON_NONE") {
  return ev("update", {task, state, uuid, container, reason, source});
}

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() {
    o_.longTasks = 1;
    o_.leader = true;
    o_.agentsExpected = o_.agentsRegistered = 1;
    o_.agentAnswered = {true};
    o_.cgroups[0] = {};
  }
  // The keeper with one long task RUNNING everywhere, plus `batcher` events.
  void keeperRunning() {
    o_.journals["keeper"] = {ev("subscribed", {"fk"}), ev("launch", {"long-0-g0", "a0"}),
                             update("long-0-g0", "TASK_RUNNING", "u1", "k1"),
                             ev("ack", {"long-0-g0", "u1"})};
    o_.masterTasks.push_back({{"id", "long-0-g0"}, {"framework_id", "fk"}, {"state", "TASK_RUNNING"}});
    o_.containers.push_back({0, "k1", "fk", "long-0-g0", "RUNNING", "TASK_RUNNING", 100});
    o_.cgroups[0].insert("k1");
    o_.executorPids.push_back(100);
  }
  void batcher(std::vector<JournalEvent> events) {
    events.insert(events.begin(), ev("subscribed", {"fb"}));
    o_.journals["batcher"] = std::move(events);
  }
  std::vector<std::string> violations() { return check(o_).violations; }

  Observation o_;
};

TEST_F(CheckerTest, AcceptsFinishedTaskWithRedeliveredUnackedUpdate) {
  keeperRunning();
  // The framework died before acknowledging u2: the agent resent it.
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_RUNNING", "u1"),
           ev("ack", {"short-0", "u1"}), update("short-0", "TASK_FINISHED", "u2"),
           update("short-0", "TASK_FINISHED", "u2"), ev("ack", {"short-0", "u2"})});
  auto result = check(o_);
  EXPECT_TRUE(result.violations.empty()) << result.violations.front();
  EXPECT_EQ(result.updatesChecked, 4);
  EXPECT_EQ(result.tasks, 2);
}

TEST_F(CheckerTest, AcceptsAReconciliationAnswerAheadOfTheReliableStream) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}),
           update("short-0", "TASK_FINISHED", "", "c1", "master", "REASON_RECONCILIATION"),
           update("short-0", "TASK_RUNNING", "u1"), update("short-0", "TASK_FINISHED", "u2"),
           update("short-0", "TASK_UNKNOWN", "", "", "master", "REASON_RECONCILIATION")});
  auto v = violations();
  EXPECT_TRUE(v.empty()) << v.front();
}

TEST_F(CheckerTest, FlagsATaskTheMasterSaysRunsAfterItDeclaredItGone) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_RUNNING", "u1"),
           update("short-0", "TASK_GONE", "", "c1", "master", "REASON_AGENT_RESTARTED"),
           update("short-0", "TASK_RUNNING", "", "c1", "master")});
  auto v = violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("TASK_RUNNING (from the master) after its terminal update"),
            std::string::npos) << v[0];
}

TEST_F(CheckerTest, FlagsAnUpdateDeliveredAgainAfterALaterOne) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_RUNNING", "u1"),
           update("short-0", "TASK_FINISHED", "u2"), update("short-0", "TASK_RUNNING", "u1")});
  auto v = violations();
  ASSERT_FALSE(v.empty());
  EXPECT_NE(v.front().find("duplicate of an acknowledged update"), std::string::npos) << v.front();
}

TEST_F(CheckerTest, FlagsTwoTerminalUpdatesAndALostOne) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_LOST", "", "c1", "master"),
           update("short-0", "TASK_FINISHED", "u2"), ev("launch", {"short-1", "a0"}),
           update("short-1", "TASK_RUNNING", "u3", "c2")});
  auto v = violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("conflicting terminal updates: TASK_FINISHED TASK_LOST"), std::string::npos);
  EXPECT_NE(v[1].find("short-1: no terminal update and not running"), std::string::npos);
}

// The batcher subscribed at 0 and again at 5000 ms; short-0 was launched at
// `launchMs` and vanished: the master's reconciliation answer is UNKNOWN.
void vanishedLaunch(Observation& o, int64_t launchMs, const std::string& framework = "batcher") {
  o.journals[framework] = {
      at(0, ev("subscribed", {"fb"})), at(launchMs, ev("launch", {"short-0", "a0"})),
      at(5000, ev("subscribed", {"fb"})),
      at(5100, update("short-0", "TASK_UNKNOWN", "", "", "master", "REASON_RECONCILIATION"))};
}

TEST_F(CheckerTest, CountsAVanishedLaunchInFlightWhenTheLeaderWasKilled) {
  keeperRunning();
  vanishedLaunch(o_, 1000);
  o_.faults = {{FaultRecord::Kind::kLeaderKilled, "master0", 1500}};
  auto result = check(o_);
  EXPECT_TRUE(result.violations.empty()) << result.violations.front();
  EXPECT_EQ(result.vanishedLaunches, 1);
  EXPECT_EQ(result.vanishedExplained["leader_loss"], 1);
  EXPECT_EQ(result.vanishedOffsetsMs, std::vector<int64_t>{-500});
}

TEST_F(CheckerTest, CountsALaunchWithTheDeadLeadersOffersUntilTheNextSubscription) {
  keeperRunning();
  vanishedLaunch(o_, 4000);  // the batcher subscribes again at 5000
  o_.faults = {{FaultRecord::Kind::kLeaderSteppedDown, "master2", 1000}};
  auto result = check(o_);
  EXPECT_TRUE(result.violations.empty()) << result.violations.front();
  EXPECT_EQ(result.vanishedExplained["leader_loss"], 1);
  EXPECT_EQ(result.vanishedOffsetsMs, std::vector<int64_t>{3000});
}

TEST_F(CheckerTest, CountsALaunchJournaledJustBeforeItsFrameworkWasKilled) {
  keeperRunning();
  vanishedLaunch(o_, 1000);
  o_.faults = {{FaultRecord::Kind::kSchedulerKilled, "batcher", 1200}};
  auto result = check(o_);
  EXPECT_TRUE(result.violations.empty()) << result.violations.front();
  EXPECT_EQ(result.vanishedExplained["framework_kill"], 1);
}

TEST_F(CheckerTest, CountsALaunchToACutAgentWhoseLeaderDiedBeforeTheAgentWasBack) {
  keeperRunning();
  vanishedLaunch(o_, 1000);  // on a0, that is agent0
  o_.agentNames["a0"] = "agent0";
  o_.faults = {{FaultRecord::Kind::kAgentCut, "agent0", 900, 9000},
               {FaultRecord::Kind::kLeaderKilled, "master1", 4000}};
  auto result = check(o_);
  EXPECT_TRUE(result.violations.empty()) << result.violations.front();
  EXPECT_EQ(result.vanishedExplained["leader_loss_agent_away"], 1);
  EXPECT_TRUE(result.vanishedOffsetsMs.empty());
}

TEST_F(CheckerTest, FlagsALaunchToAnAgentThatWasBackBeforeTheLeaderDied) {
  keeperRunning();
  vanishedLaunch(o_, 1000);
  o_.agentNames["a0"] = "agent0";
  o_.originMs = 500;
  // Killed and restarted in time to re-register: the master had to report
  // the task lost before it died.
  // A cut that healed before the launch does not count either.
  o_.faults = {{FaultRecord::Kind::kAgentCut, "agent0", 100, 990},
               {FaultRecord::Kind::kAgentKilled, "agent0", 900, 1500},
               {FaultRecord::Kind::kLeaderKilled, "master1", 1500 + kInFlightMs + 1},
               {FaultRecord::Kind::kAgentCut, "agent1", 900, 9000}};
  auto result = check(o_);
  ASSERT_EQ(result.violations.size(), 1u);
  EXPECT_NE(result.violations[0].find("launched on agent0 at t=0.500s"), std::string::npos)
      << result.violations[0];
}

TEST_F(CheckerTest, FlagsAVanishedLaunchNoFaultExplains) {
  keeperRunning();
  vanishedLaunch(o_, 1000);
  // An agent restart, a partition and the other framework's death lose no
  // launch; the leader died too long after it.
  o_.journals["batcher"].push_back(
      at(6000, update("short-0", "TASK_UNKNOWN", "", "", "master", "REASON_RECONCILIATION")));
  o_.faults = {{FaultRecord::Kind::kAgentKilled, "agent0", 1100},
               {FaultRecord::Kind::kAgentCut, "agent1", 1200},
               {FaultRecord::Kind::kSchedulerKilled, "keeper", 1300},
               {FaultRecord::Kind::kLeaderKilled, "master1", 1000 + kInFlightMs + 1}};
  auto result = check(o_);
  EXPECT_EQ(result.vanishedLaunches, 1);
  EXPECT_TRUE(result.vanishedExplained.empty());
  ASSERT_EQ(result.violations.size(), 1u);
  const std::string& v = result.violations[0];
  EXPECT_NE(v.find("batcher: task short-0: vanished launch"), std::string::npos) << v;
  EXPECT_NE(v.find("launched on a0 at t=1.000s, TASK_UNKNOWN (master, REASON_RECONCILIATION) at "
                   "t=5.100s and 1 more until t=6.000s, next subscription at t=5.000s"),
            std::string::npos) << v;
  EXPECT_NE(v.find("SIGKILL agent0 at t=1.100s; cut agent1 at t=1.200s"), std::string::npos) << v;
}

TEST_F(CheckerTest, FlagsAVanishedLaunchAfterTheFrameworkSubscribedToTheNewLeader) {
  keeperRunning();
  vanishedLaunch(o_, 6000);  // after the subscription at 5000
  o_.faults = {{FaultRecord::Kind::kLeaderKilled, "master0", 4000}};
  auto result = check(o_);
  ASSERT_EQ(result.violations.size(), 1u);
  EXPECT_NE(result.violations[0].find("that no fault explains"), std::string::npos);
}

TEST_F(CheckerTest, FlagsAnUntimedVanishedLaunch) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_UNKNOWN", "", "", "master")});
  o_.faults = {{FaultRecord::Kind::kLeaderKilled, "master0", 0}};
  auto result = check(o_);
  EXPECT_EQ(result.vanishedLaunches, 1);
  ASSERT_EQ(result.violations.size(), 1u);
  EXPECT_NE(result.violations[0].find("launched on a0 at t=?"), std::string::npos);
}

TEST_F(CheckerTest, FlagsATaskRunningInTwoContainersOrAfterItsEnd) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}), update("short-0", "TASK_FAILED", "u1", "c1"),
           update("short-0", "TASK_RUNNING", "u2", "c2")});
  auto v = violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("TASK_RUNNING (from the agent) after its terminal update"), std::string::npos);
  EXPECT_NE(v[1].find("ran in 2 containers"), std::string::npos);
}

TEST_F(CheckerTest, FlagsOrphanedContainersCgroupsAndExecutors) {
  keeperRunning();
  o_.containers.push_back({0, "x1", "fb", "short-9", "RUNNING", "TASK_RUNNING", 0});
  o_.cgroups[0].insert("x1");
  o_.cgroups[0].insert("gone");
  o_.executorPids.push_back(555);
  o_.mounts.push_back("/tmp/root/agent0/somewhere");
  auto v = violations();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_NE(v[0].find("container x1 of task short-9"), std::string::npos) << v[0];
  EXPECT_NE(v[1].find("orphaned cgroup gone"), std::string::npos) << v[1];
  EXPECT_NE(v[2].find("orphaned mount"), std::string::npos) << v[2];
  EXPECT_NE(v[3].find("orphaned executor process 555"), std::string::npos) << v[3];
}

TEST_F(CheckerTest, FlagsAKeeperSlotWithoutItsTaskAndAnUnsettledCluster) {
  o_.journals["keeper"] = {ev("subscribed", {"fk"})};
  o_.agentsRegistered = 0;
  auto v = violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("0 of 1 agents are registered"), std::string::npos);
  EXPECT_NE(v[1].find("slot 0 has 0 RUNNING tasks"), std::string::npos);
}

TEST(JournalTest, TimesEachLineAndReadsItBack) {
  std::string path = ::testing::TempDir() + "/chaos-journal-" + std::to_string(getpid());
  std::remove(path.c_str());
  int64_t before = monotonicMs();
  {
    auto journal = Journal::open(path);
    ASSERT_TRUE(journal) << journal.error().message;
    ASSERT_TRUE(journal->append("launch", {"short-0", ""}));
  }
  auto events = readJournal(path);
  std::remove(path.c_str());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "launch");
  EXPECT_EQ(events[0].fields, (std::vector<std::string>{"short-0", ""}));
  EXPECT_GE(events[0].atMs, before);
  EXPECT_LE(events[0].atMs, monotonicMs());
}

// The runner (failover timeout 0) as it looks when a master start removed it:
// its task killed with REASON_FRAMEWORK_REMOVED at the leader and the master
// refusing its re-subscription. No fault touched its scheduler.
void runnerRemovedByAMasterStart(Observation& o) {
  o.journals["runner"] = {at(0, ev("subscribed", {"fr"})), at(10, ev("launch", {"run-0", "a0"})),
                          at(20, update("run-0", "TASK_RUNNING", "u1", "r1")),
                          at(30, ev("ack", {"run-0", "u1"})),
                          at(9000, ev("error", {"framework 'fr' was removed"}))};
  o.masterTasks.push_back({{"id", "run-0"},
                           {"framework_id", "fr"},
                           {"state", "TASK_KILLED"},
                           {"reason", "REASON_FRAMEWORK_REMOVED"}});
  o.faults.push_back({FaultRecord::Kind::kLeaderKilled, "master0", 8000, 9500});
}

// The violations that mention `text`.
std::vector<std::string> mentioning(const std::vector<std::string>& all, const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& v : all) {
    if (v.find(text) != std::string::npos) out.push_back(v);
  }
  return out;
}

TEST_F(CheckerTest, FlagsAFrameworkThatNeverFailedButWasRemoved) {
  keeperRunning();
  runnerRemovedByAMasterStart(o_);
  auto v = mentioning(violations(), "although its scheduler never failed");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("runner: refused by the master at t=9.000s"), std::string::npos) << v[0];
  EXPECT_NE(v[1].find("runner: task run-0 TASK_KILLED with REASON_FRAMEWORK_REMOVED at the master"),
            std::string::npos)
      << v[1];
}

TEST_F(CheckerTest, FlagsAFrameworkRemovedUpdateOfAFrameworkThatNeverFailed) {
  keeperRunning();
  batcher({ev("launch", {"short-0", "a0"}),
           update("short-0", "TASK_KILLED", "", "c1", "master", "REASON_FRAMEWORK_REMOVED")});
  auto v = violations();
  ASSERT_EQ(v.size(), 1u) << v.front();
  EXPECT_NE(v[0].find("batcher: task short-0 TASK_KILLED with REASON_FRAMEWORK_REMOVED"),
            std::string::npos)
      << v[0];
}

TEST_F(CheckerTest, AcceptsTheRemovalOfAFrameworkWhoseSchedulerWasKilled) {
  keeperRunning();
  runnerRemovedByAMasterStart(o_);
  o_.faults.push_back({FaultRecord::Kind::kSchedulerKilled, "runner", 5000, 5500});
  auto v = mentioning(violations(), "never failed");
  EXPECT_TRUE(v.empty()) << v.front();
}

}  // namespace
}  // namespace agora::chaos
