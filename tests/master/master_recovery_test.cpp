// Master restarts with the same registry: agents re-register with their IDs
// and tasks, frameworks re-subscribe, weights and quota come back, failover
// deadlines keep counting, and answers wait until the registry has the change.

#include <unistd.h>

#include <filesystem>

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class MasterRecoveryTest : public WithRegistry<> {
 protected:
  // Agents get 30 s to re-register (WithRegistry); schedulers that did not
  // fail get kWindowSec.
  static constexpr double kWindowSec = 40;
  MasterRecoveryTest() { options_.frameworkResubscribeTimeout = seconds(kWindowSec); }

  // A framework with one RUNNING task "t1" on agent `a`.
  std::unique_ptr<FakeScheduler> runningTask(FakeAgent& a, double failoverSec,
                                             bool partitionAware = false) {
    auto s = scheduler("sched-1", "fw", failoverSec, partitionAware);
    EXPECT_EQ(s->offers.size(), 1u);
    s->accept({s->offers.at(0).id}, {makeTask("t1", "cpus:1")}, 0);
    settle();
    a.sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
    settle();
    return s;
  }
  // Silent for more than 3 heartbeat intervals: disconnected.
  void schedulerDies(FakeScheduler& s) {
    s.autoHeartbeat = false;
    network_.cutOff("sched-1");
    advance(8.5);
  }
  const RoleView* roleView(const std::string& name) {
    roles_ = master_->allocator().roles();
    for (const RoleView& role : roles_) {
      if (role.name == name) return &role;
    }
    return nullptr;
  }

  std::vector<RoleView> roles_;
};

TEST_F(MasterRecoveryTest, AgentReregistersWithItsIdAndTasksAndTheSchedulerResubscribes) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 60);
  std::string agentId = a->agentId;
  std::string frameworkId = s->frameworkId;

  restart();
  EXPECT_EQ(agentState(agentId).status, AgentStatus::kRecovering);
  EXPECT_EQ(agentState(agentId).hostname, "host1");
  ASSERT_NE(master_->state().frameworks.count(frameworkId), 0u);
  EXPECT_FALSE(master_->state().frameworks.at(frameworkId).connected);
  EXPECT_EQ(task(frameworkId, "t1"), nullptr);  // tasks come from the agents

  a->reregister(agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  EXPECT_EQ(agentState(agentId).status, AgentStatus::kRegistered);
  EXPECT_EQ(a->registeredCount, 2);
  // The same report again: answered without rewriting an unchanged record.
  uint64_t writes = registrar_->stats().writes;
  a->reregister(agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  EXPECT_EQ(a->registeredCount, 3);
  EXPECT_EQ(registrar_->stats().writes, writes);
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(frameworkId, "t1")->state, TaskState::RUNNING);
  EXPECT_EQ(master_->allocator().available(agentId).toString(), "cpus:3;mem:1024");

  // Calls still in flight from before the restart are dropped without an
  // error (which would be fatal to the scheduler); it re-subscribes.
  s->heartbeat();
  settle();
  EXPECT_TRUE(s->errors.empty());
  s->subscribe("fw", frameworkId, 60);
  settle();
  EXPECT_EQ(s->frameworkId, frameworkId);
  EXPECT_TRUE(master_->state().frameworks.at(frameworkId).connected);
  s->kill("t1");
  settle();
  EXPECT_EQ(a->kills, std::vector<std::string>{"t1"});
  // A new agent gets an ID that cannot collide with the recovered ones.
  auto b = agent("agent-b", "cpus:1;mem:128");
  EXPECT_NE(b->agentId, agentId);
  EXPECT_FALSE(b->agentId.empty());
}

TEST_F(MasterRecoveryTest, WeightsAndQuotaSurviveARestart) {
  ASSERT_TRUE(master_->setWeight("eng", 3));
  ASSERT_TRUE(master_->setQuota("eng", *Resources::parse("cpus:1"), *Resources::parse("cpus:2")));
  ASSERT_TRUE(master_->setQuota("ops", std::nullopt, *Resources::parse("mem:512")));
  ASSERT_TRUE(master_->setQuota("tmp", *Resources::parse("cpus:1"), std::nullopt));
  ASSERT_TRUE(master_->removeQuota("tmp"));
  restart();
  const RoleView* eng = roleView("eng");
  ASSERT_NE(eng, nullptr);
  EXPECT_EQ(eng->weight, 3);
  ASSERT_TRUE(eng->guarantee.has_value());
  EXPECT_EQ(eng->guarantee->toString(), "cpus:1");
  EXPECT_EQ(eng->limit->toString(), "cpus:2");
  const RoleView* ops = roleView("ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->limit->toString(), "mem:512");
  EXPECT_EQ(roleView("tmp"), nullptr);
}

TEST_F(MasterRecoveryTest, FailoverDeadlineKeepsCountingAcrossARestart) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 20);
  std::string frameworkId = s->frameworkId;
  schedulerDies(*s);
  ASSERT_FALSE(master_->state().frameworks.at(frameworkId).connected);
  double deadline = master_->state().frameworks.at(frameworkId).failoverDeadline;
  ASSERT_GT(deadline, 0);

  restart(5);
  EXPECT_EQ(master_->state().frameworks.at(frameworkId).failoverDeadline, deadline);
  a->reregister(a->agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  // Kept, not killed, while its scheduler may still come back.
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(frameworkId, "t1")->state, TaskState::RUNNING);
  EXPECT_TRUE(a->shutdownFrameworks.empty());

  double untilDeadline = deadline - clock_.wallSeconds();
  ASSERT_LT(untilDeadline, 20 - 5);  // a fresh timeout would give 20 s from the restart
  advance(untilDeadline - 0.5);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(1);
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{frameworkId});
  EXPECT_EQ(master_->state().frameworks.count(frameworkId), 0u);
  EXPECT_EQ(task(frameworkId, "t1")->state, TaskState::KILLED);

  // The removal itself is durable: the ID cannot come back after another restart.
  restart();
  network_.restore("sched-1");
  s->subscribe("fw", frameworkId, 20);
  settle();
  ASSERT_FALSE(s->errors.empty());
  EXPECT_THAT(s->errors.back(), ::testing::HasSubstr("was removed"));
}

TEST_F(MasterRecoveryTest, DeadlinePassedWhileTheMasterWasDownKillsTheTasksOnReregistration) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 10);
  std::string frameworkId = s->frameworkId;
  schedulerDies(*s);
  ASSERT_FALSE(master_->state().frameworks.at(frameworkId).connected);

  restart(30);
  EXPECT_EQ(master_->state().frameworks.count(frameworkId), 0u);
  EXPECT_EQ(master_->state().removedFrameworks.count(frameworkId), 1u);
  a->reregister(a->agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{frameworkId});
  EXPECT_EQ(task(frameworkId, "t1"), nullptr);
  EXPECT_EQ(master_->allocator().available(a->agentId).toString(), "cpus:4;mem:1024");
}

TEST_F(MasterRecoveryTest, FrameworkWithoutFailoverTimeoutKeepsItsTaskAcrossARestart) {
  // `agora run`: failover timeout 0, connected when the master is killed.
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 0);
  std::string frameworkId = s->frameworkId;
  restart(5);
  ASSERT_EQ(master_->state().frameworks.count(frameworkId), 1u);
  EXPECT_EQ(master_->state().removedFrameworks.count(frameworkId), 0u);
  a->reregister(a->agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(frameworkId, "t1")->state, TaskState::RUNNING);

  // Its scheduler takes a while to notice (missed heartbeats), then re-subscribes.
  advance(20);
  s->subscribe("fw", frameworkId, 0);
  settle();
  EXPECT_TRUE(s->errors.empty()) << s->errors.front();
  EXPECT_TRUE(master_->state().frameworks.at(frameworkId).connected);
  advance(kWindowSec);  // past the window: nothing happens to a connected framework
  a->sendStatus(frameworkId, "t1", TaskState::FINISHED);
  settle();
  ASSERT_NE(s->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s->lastUpdateFor("t1")->state, TaskState::FINISHED);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
}

TEST_F(MasterRecoveryTest, FrameworkWithoutFailoverTimeoutIsRemovedWhenTheWindowCloses) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 0);
  std::string frameworkId = s->frameworkId;
  restart(5);
  a->reregister(a->agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  advance(kWindowSec - 0.5);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(1);
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{frameworkId});
  EXPECT_EQ(master_->state().removedFrameworks.count(frameworkId), 1u);
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(frameworkId, "t1")->state, TaskState::KILLED);
  EXPECT_EQ(task(frameworkId, "t1")->reason, TaskReason::FRAMEWORK_REMOVED);
}

TEST_F(MasterRecoveryTest, OwnFailoverTimeoutStartsWhenTheWindowClosesAndIsPersistedThen) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 10);
  std::string frameworkId = s->frameworkId;
  auto reregister = [&] {
    a->reregister(a->agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
    settle();
  };
  restart(100);
  reregister();
  EXPECT_NEAR(master_->state().frameworks.at(frameworkId).failoverDeadline,
              clock_.wallSeconds() + kWindowSec + 10, 0.01);
  // A master restarting again within the window has still not seen the
  // scheduler fail: the registry holds it as connected, a new window starts.
  advance(kWindowSec - 5);
  restart(3);
  reregister();
  advance(kWindowSec - 0.5);
  EXPECT_EQ(master_->state().frameworks.count(frameworkId), 1u);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(1);
  // Window closed without the scheduler: now its own timeout, and the
  // deadline is persisted (a restart no longer grants anything).
  double deadline = master_->state().frameworks.at(frameworkId).failoverDeadline;
  EXPECT_NEAR(deadline, clock_.wallSeconds() - 0.5 + 10, 0.11);  // closed up to 0.5 s ago
  restart(2);
  reregister();
  EXPECT_EQ(master_->state().frameworks.at(frameworkId).failoverDeadline, deadline);
  advance(deadline - clock_.wallSeconds() - 0.5);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(1);
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{frameworkId});
  EXPECT_EQ(master_->state().frameworks.count(frameworkId), 0u);
}

TEST_F(MasterRecoveryTest, FrameworkLearntFromAnAgentGetsTheSameWindow) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  restart();
  // A framework the registry does not know (its record was lost) reported by an agent.
  a->reregister(a->agentId, "cpus:4;mem:1024", {{"ghost", makeTask("g1", "cpus:1")}});
  settle();
  ASSERT_EQ(master_->state().frameworks.count("ghost"), 1u);
  ASSERT_NE(task("ghost", "g1"), nullptr);
  EXPECT_EQ(task("ghost", "g1")->state, TaskState::RUNNING);
  advance(kWindowSec - 0.5);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(1);
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{"ghost"});
  EXPECT_EQ(master_->state().frameworks.count("ghost"), 0u);
}

TEST_F(MasterRecoveryTest, AgentsThatDoNotReturnInTimeBecomeUnreachable) {
  auto a = agent("agent-a", "cpus:2;mem:1024");
  auto b = agent("agent-b", "cpus:2;mem:1024", "host2");
  restart();
  a->reregister(a->agentId, "cpus:2;mem:1024", {});
  advance(29);
  EXPECT_EQ(agentState(b->agentId).status, AgentStatus::kRecovering);
  advance(2);
  EXPECT_EQ(agentState(a->agentId).status, AgentStatus::kRegistered);
  EXPECT_EQ(agentState(b->agentId).status, AgentStatus::kUnreachable);

  // Still unreachable after another restart; accepted with its ID when it returns.
  restart();
  EXPECT_EQ(agentState(b->agentId).status, AgentStatus::kUnreachable);
  b->reregister(b->agentId, "cpus:2;mem:1024", {});
  settle();
  EXPECT_EQ(agentState(b->agentId).status, AgentStatus::kRegistered);
  EXPECT_EQ(b->registeredCount, 2);
}

TEST_F(MasterRecoveryTest, UnreachableTimeoutKeepsCountingAndGoneAgentsStayGone) {
  auto a = agent("agent-a", "cpus:2;mem:1024");
  a->autoPong = false;
  network_.cutOff("agent-a");
  advance(5);
  ASSERT_EQ(agentState(a->agentId).status, AgentStatus::kUnreachable);
  double since = agentState(a->agentId).unreachableTime;
  // Down for 60 s: the 100 s count from when it became unreachable.
  restart(60);
  EXPECT_EQ(agentState(a->agentId).status, AgentStatus::kUnreachable);
  EXPECT_EQ(agentState(a->agentId).unreachableTime, since);
  advance(38);
  EXPECT_EQ(master_->state().agents.count(a->agentId), 1u);
  advance(4);
  EXPECT_EQ(master_->state().agents.count(a->agentId), 0u);

  // Gone survives a restart: its return is refused, and the new ID it then
  // registers with differs from the old one.
  restart();
  EXPECT_EQ(master_->state().agents.count(a->agentId), 0u);
  EXPECT_EQ(master_->state().goneAgents.count(a->agentId), 1u);
  network_.restore("agent-a");
  std::string oldId = a->agentId;
  a->reregister(oldId, "cpus:2;mem:1024", {});
  settle();
  EXPECT_EQ(a->shutdownAgents.size(), 1u);
  EXPECT_EQ(master_->state().agents.count(oldId), 0u);
  a->registerAgent("cpus:2;mem:1024");
  settle();
  EXPECT_NE(a->agentId, oldId);
  EXPECT_EQ(agentState(a->agentId).status, AgentStatus::kRegistered);
}

TEST_F(MasterRecoveryTest, ReconcilingTasksOfAgentsThatDidNotReturn) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = runningTask(*a, 600, /*partitionAware=*/true);
  std::string frameworkId = s->frameworkId;
  restart();
  s->subscribe("fw", frameworkId, 600, true);
  settle();
  auto reconcileT1 = [&] {
    s->send([&](schema::Call::Builder call) {
      auto ref = call.initReconcile(1)[0];
      ref.setTaskId("t1");
      ref.setAgentId(a->agentId);
    });
    settle();
  };
  size_t before = s->updates.size();
  reconcileT1();
  EXPECT_EQ(s->updates.size(), before);  // its agent may still come back
  advance(31);
  reconcileT1();
  ASSERT_EQ(s->updates.size(), before + 1);
  EXPECT_EQ(s->updates.back().state, TaskState::UNREACHABLE);
  EXPECT_EQ(s->updates.back().reason, TaskReason::RECONCILIATION);
}

TEST_F(MasterRecoveryTest, AnswersWaitUntilTheRegistryHasTheChange) {
  registrar_->hold(true);
  FakeAgent a(network_, "agent-a");
  a.registerAgent("cpus:2;mem:1024");
  a.registerAgent("cpus:2;mem:1024");  // a retry while the first is in flight
  FakeScheduler s(network_, "sched-1");
  s.subscribe("fw", "", 5);
  settle();
  EXPECT_EQ(a.registeredCount, 0);
  EXPECT_TRUE(master_->state().agents.empty());
  EXPECT_TRUE(s.frameworkId.empty());

  registrar_->hold(false);
  settle();
  EXPECT_EQ(a.registeredCount, 1);
  EXPECT_EQ(master_->state().agents.size(), 1u);
  EXPECT_FALSE(s.frameworkId.empty());

  registrar_->hold(true);
  ASSERT_TRUE(master_->setWeight("eng", 2));
  bool durable = false;
  master_->afterPersisted([&](Status status) { durable = status.has_value(); });
  settle();
  EXPECT_FALSE(durable);
  registrar_->hold(false);
  settle();
  EXPECT_TRUE(durable);
}

}  // namespace
}  // namespace agora::master::testing

namespace agora::master::testing {
namespace {

// Completed tasks are kept in the registry (task_history.hpp) within bounds.
class CompletedTaskRecoveryTest : public WithRegistry<> {
 protected:
  CompletedTaskRecoveryTest() {
    options_.completedTasks = {100, 2, 10};
    options_.taskHistory.flushInterval = std::chrono::milliseconds(100);
  }
  // Launches `ids` on one offer of `s`, each RUNNING on `a`.
  void launch(FakeScheduler& s, FakeAgent& a, const std::vector<std::string>& ids) {
    ASSERT_FALSE(s.offers.empty());
    std::vector<TaskInfo> tasks;
    for (const std::string& id : ids) tasks.push_back(makeTask(id, "cpus:0.1"));
    s.accept({s.offers.back().id}, tasks, 0);
    settle();
    for (const std::string& id : ids) a.sendStatus(s.frameworkId, id, TaskState::RUNNING);
    settle();
  }
};

TEST_F(CompletedTaskRecoveryTest, FinishedTasksWithExitCodesAndHistoriesSurviveARestart) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"ok", "bad", "live"});
  a->sendStatus(s->frameworkId, "ok", TaskState::FINISHED, "", 0);
  a->sendStatus(s->frameworkId, "bad", TaskState::FAILED, "", 3);
  settle();
  advance(0.3);  // past the flush interval
  std::string frameworkId = s->frameworkId;

  restart();
  const Task* ok = task(frameworkId, "ok");
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->completed);
  EXPECT_EQ(ok->state, TaskState::FINISHED);
  EXPECT_EQ(ok->exitCode, 0);
  EXPECT_EQ(ok->sandbox(), "/sandbox/ok");
  EXPECT_EQ(ok->resources->toString(), "cpus:0.1");
  ASSERT_EQ(ok->history.size(), 3u);
  EXPECT_EQ(ok->history[0].state, TaskState::STAGING);
  EXPECT_EQ(ok->history[1].state, TaskState::RUNNING);
  EXPECT_EQ(ok->history[2].state, TaskState::FINISHED);
  const Task* bad = task(frameworkId, "bad");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->state, TaskState::FAILED);
  EXPECT_EQ(bad->exitCode, 3);
  // Live tasks still come from the agents only.
  EXPECT_EQ(task(frameworkId, "live"), nullptr);
  EXPECT_NE(master_->snapshot()->tasksBody.find(R"("exit_code":3)"), std::string::npos);
}

TEST_F(CompletedTaskRecoveryTest, CompletionsAreWrittenInOneBatchAfterTheInterval) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"t1", "t2", "t3"});
  uint64_t writes = registrar_->stats().writes;
  for (const char* id : {"t1", "t2", "t3"}) {
    a->sendStatus(s->frameworkId, id, TaskState::FINISHED, "", 0);
  }
  settle();
  EXPECT_EQ(registrar_->stats().writes, writes);  // nothing yet: the launch path never waits
  advance(0.2);
  EXPECT_EQ(registrar_->stats().writes, writes + 1);
}

TEST_F(CompletedTaskRecoveryTest, TheRegistryKeepsOnlyWhatTheBoundsKeep) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"t1", "t2", "t3"});
  for (const char* id : {"t1", "t2", "t3"}) {
    a->sendStatus(s->frameworkId, id, TaskState::FINISHED, "", 0);
    settle();
    clock_.advance(millis(10));  // distinct completion times
  }
  advance(0.3);
  std::string frameworkId = s->frameworkId;
  restart();
  EXPECT_EQ(registrar_->recovered().tasks.size(), 2u);  // 2 per framework
  EXPECT_EQ(task(frameworkId, "t1"), nullptr);
  EXPECT_NE(task(frameworkId, "t2"), nullptr);
  EXPECT_NE(task(frameworkId, "t3"), nullptr);
}

TEST_F(CompletedTaskRecoveryTest, ATaskTheAgentStillReportsIsLiveAgain) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"t1"});
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED, "", 0);
  advance(0.3);
  std::string agentId = a->agentId, frameworkId = s->frameworkId;
  restart();
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  // Relaunched under the same ID before the restart, as far as the agent knows.
  a->reregister(agentId, "cpus:4;mem:1024", {{frameworkId, makeTask("t1", "cpus:1")}});
  settle();
  ASSERT_NE(task(frameworkId, "t1"), nullptr);
  EXPECT_FALSE(task(frameworkId, "t1")->completed);
}


TEST_F(CompletedTaskRecoveryTest, ATerminalAcknowledgementReachesTheAgentOnceTheTaskIsDurable) {
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"t1"});
  std::string running = a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  s->acknowledge(a->agentId, "t1", running);
  settle();
  ASSERT_EQ(a->acks.size(), 1u);  // not terminal: forwarded at once
  std::string finished = a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED, "", 0);
  settle();
  s->acknowledge(a->agentId, "t1", finished);
  settle();
  // Held: were the master killed now, the agent would still report the task.
  EXPECT_EQ(a->acks.size(), 1u);
  advance(0.1);  // the flush
  ASSERT_EQ(a->acks.size(), 2u);
  EXPECT_EQ(a->acks.back(), finished);
}


TEST_F(CompletedTaskRecoveryTest, ALargeFlushIsSplitIntoBoundedWrites) {
  options_.taskHistory.maxBatchBytes = 1;  // one record per write
  restart();
  auto a = agent("agent-a", "cpus:4;mem:1024");
  auto s = scheduler("sched-1", "fw", 60);
  launch(*s, *a, {"t1", "t2", "t3"});
  uint64_t writes = registrar_->stats().writes;
  for (const char* id : {"t1", "t2", "t3"}) {
    a->sendStatus(s->frameworkId, id, TaskState::FINISHED, "", 0);
  }
  advance(0.2);
  EXPECT_EQ(registrar_->stats().writes, writes + 3);
  std::string frameworkId = s->frameworkId;
  restart();
  EXPECT_EQ(registrar_->recovered().tasks.size(), 2u);  // within the bound of 2 per framework
}

TEST_F(MasterRecoveryTest, AnAgentStaysBoundToItsKeyAcrossARestart) {
  server_->setPrincipal("agent-a", "agent:rack1-07");
  server_->setPrincipal("agent-b", "agent:rack2-01");
  auto a = agent("agent-a", "cpus:1;mem:1024");
  const std::string id = a->agentId;
  a.reset();
  restart();
  FakeAgent other(network_, "agent-b");
  other.reregister(id, "cpus:64;mem:1048576", {});
  settle();
  EXPECT_EQ(rejected("agent_key_mismatch"), 1u);
  EXPECT_EQ(agentState(id).status, AgentStatus::kRecovering);
  EXPECT_TRUE(other.agentId.empty());
}

TEST_F(MasterRecoveryTest, AFrameworkStaysBoundToItsPrincipalAcrossARestart) {
  server_->setPrincipal("sched-a", "framework:billing");
  server_->setPrincipal("sched-b", "framework:intruder");
  auto owner = scheduler("sched-a", "billing", 3600);
  const std::string id = owner->frameworkId;
  owner.reset();
  restart();
  FakeScheduler intruder(network_, "sched-b");
  intruder.subscribe("billing", id, 3600);
  settle();
  EXPECT_EQ(rejected("framework_principal_mismatch"), 1u);
  EXPECT_TRUE(intruder.frameworkId.empty());
  EXPECT_EQ(master_->state().frameworks.at(id).principal, "framework:billing");
}

TEST_F(MasterRecoveryTest, AFrameworksWebuiUrlSurvivesARestart) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->webuiUrl = "https://web.example:8443/ui";
  s->subscribe("web", "", 3600);
  settle();
  const std::string id = s->frameworkId;
  ASSERT_FALSE(id.empty());
  s.reset();
  restart();
  ASSERT_NE(master_->state().frameworks.count(id), 0u);
  EXPECT_EQ(master_->state().frameworks.at(id).info.webuiUrl, "https://web.example:8443/ui");
  advance(0.1);
  auto frameworks = nlohmann::json::parse(master_->snapshot()->frameworksBody)["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["webui_url"], "https://web.example:8443/ui");
}

}  // namespace
}  // namespace agora::master::testing
