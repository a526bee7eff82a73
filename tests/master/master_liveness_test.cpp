// Master: dead agents, dead schedulers, failover, teardown and bad input.

#include "common/codec.hpp"
#include "master/http_api.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(MasterTest, RescindsOffersWhenAgentIsUnreachable) {
  auto plain = scheduler("sched-1", "plain");
  auto aware = scheduler("sched-2", "aware", 0, true);
  auto a = agent("agent-a", "cpus:2;mem:1024");
  auto b = agent("agent-b", "cpus:2;mem:1024");
  ASSERT_EQ(plain->offers.size(), 1u);
  ASSERT_EQ(aware->offers.size(), 1u);
  // Each framework launches one task on its agent, keeping part of it offered.
  FakeScheduler* onA = plain->offers[0].agentId == a->agentId ? plain.get() : aware.get();
  FakeScheduler* onB = onA == plain.get() ? aware.get() : plain.get();
  onA->accept({onA->offers[0].id}, {makeTask("ta", "cpus:1")}, 0);
  onB->accept({onB->offers[0].id}, {makeTask("tb", "cpus:1")}, 0);
  settle();
  ASSERT_EQ(onA->outstanding.size(), 1u);

  a->autoPong = false;
  network_.cutOff("agent-a");
  advance(5);  // 3 missed pings at 1 s intervals, then declared unreachable
  EXPECT_EQ(master_->state().agents.at(a->agentId).status, AgentStatus::kUnreachable);
  EXPECT_EQ(onA->rescinds.size(), 1u);
  EXPECT_TRUE(onA->outstanding.empty());
  const TaskStatus* lost = onA->lastUpdateFor("ta");
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->state, onA == aware.get() ? TaskState::UNREACHABLE : TaskState::LOST);
  EXPECT_EQ(lost->reason, TaskReason::AGENT_UNREACHABLE);
  EXPECT_EQ(master_->state().agents.at(b->agentId).status, AgentStatus::kRegistered);
  EXPECT_EQ(onB->lastUpdateFor("tb"), nullptr);

  // It comes back: its still-running task is reported RUNNING again.
  network_.restore("agent-a");
  a->autoPong = true;
  a->reregister(a->agentId, "cpus:2;mem:1024", {{onA->frameworkId, makeTask("ta", "cpus:1")}});
  settle();
  EXPECT_EQ(master_->state().agents.at(a->agentId).status, AgentStatus::kRegistered);
  ASSERT_NE(onA->lastUpdateFor("ta"), nullptr);
  EXPECT_EQ(onA->lastUpdateFor("ta")->state, TaskState::RUNNING);
  EXPECT_EQ(task(onA->frameworkId, "ta")->state, TaskState::RUNNING);
  EXPECT_EQ(master_->allocator().available(a->agentId).toString(), "");
}

TEST_F(MasterTest, UnregisteredAgentIsToldToRegisterAgain) {
  FakeAgent stranger(network_, "agent-x");
  stranger.agentId = "old-id";
  stranger.pong();
  stranger.sendStatus("fw", "t1", TaskState::RUNNING);
  settle();
  EXPECT_EQ(rejected("unregistered_agent"), 2u);
  EXPECT_EQ(stranger.unknownPings, 2);
}

TEST_F(MasterTest, SchedulerFailoverWithinTimeoutKeepsTasks) {
  auto s = scheduler("sched-1", "fw", 60);
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")});
  settle();
  s->autoHeartbeat = false;
  advance(8.5);  // silent for more than 3 heartbeat intervals
  const Framework& framework = master_->state().frameworks.at(s->frameworkId);
  EXPECT_FALSE(framework.connected);
  s->kill("t1");  // a disconnected framework's calls are dropped
  settle();
  EXPECT_TRUE(a->kills.empty());

  FakeScheduler successor(network_, "sched-2");
  successor.subscribe("fw", s->frameworkId, 60);
  settle();
  EXPECT_EQ(successor.frameworkId, s->frameworkId);
  EXPECT_TRUE(master_->state().frameworks.at(s->frameworkId).connected);
  ASSERT_NE(task(s->frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::STAGING);
  advance(60);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  // The old connection is told it was replaced.
  s->heartbeat();
  settle();
  ASSERT_FALSE(s->errors.empty());
  EXPECT_THAT(s->errors.back(), HasSubstr("another connection"));
}

TEST_F(MasterTest, FrameworkPastFailoverTimeoutIsRemovedAndItsTasksKilled) {
  auto s = scheduler("sched-1", "fw", 10);
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")});
  settle();
  s->autoHeartbeat = false;
  advance(8.5);
  EXPECT_FALSE(master_->state().frameworks.at(s->frameworkId).connected);
  EXPECT_TRUE(a->shutdownFrameworks.empty());
  advance(10);
  EXPECT_EQ(master_->state().frameworks.count(s->frameworkId), 0u);
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{s->frameworkId});
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::KILLED);
  EXPECT_EQ(task(s->frameworkId, "t1")->reason, TaskReason::FRAMEWORK_REMOVED);
  // Its agent's late update is acknowledged by the master itself.
  std::string uuid = a->sendStatus(s->frameworkId, "t1", TaskState::KILLED);
  settle();
  EXPECT_EQ(a->acks, std::vector<std::string>{uuid});
  FakeScheduler late(network_, "sched-2");
  late.subscribe("fw", s->frameworkId, 10);
  settle();
  ASSERT_EQ(late.errors.size(), 1u);
  EXPECT_THAT(late.errors[0], HasSubstr("was removed"));
}

TEST_F(MasterTest, TeardownKillsTasksAndRemovesFramework) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")}, 0);
  settle();
  ASSERT_EQ(s->outstanding.size(), 1u);
  s->teardown();
  settle();
  EXPECT_EQ(master_->state().frameworks.size(), 0u);
  EXPECT_TRUE(master_->state().offers.empty());
  EXPECT_EQ(a->shutdownFrameworks, std::vector<std::string>{s->frameworkId});
  EXPECT_EQ(master_->allocator().available(a->agentId).toString(), "cpus:2;mem:1024");
  s->reconcile({});
  settle();
  ASSERT_EQ(s->errors.size(), 1u);
  EXPECT_THAT(s->errors[0], HasSubstr("was removed"));
}

TEST_F(MasterTest, BadFramesAreCountedAndDropped) {
  FakeAgent raw(network_, "agent-raw");
  raw.sendRaw(kAgentProtocol, "\x01\x02garbage");
  raw.sendRaw(kAgentProtocol, "");
  raw.sendRaw("agora.bogus.v9", "whatever");
  capnp::MallocMessageBuilder message;
  auto env = message.initRoot<schema::AgentEnvelope>();
  env.setVersion(99);
  env.initPong();
  raw.sendRaw(kAgentProtocol, encodePacked(message));
  FakeScheduler early(network_, "sched-early");
  early.heartbeat();  // a call before subscribing
  // A truncated valid frame.
  std::string frame = agentFrame([](schema::AgentEnvelope::Builder e) {
    e.initRegisterAgent().setHostname(std::string(200, 'h'));
  });
  raw.sendRaw(kAgentProtocol, frame.substr(0, frame.size() / 2));
  settle();
  EXPECT_GE(rejected("malformed"), 2u);
  EXPECT_EQ(rejected("unknown_protocol"), 1u);
  EXPECT_EQ(rejected("bad_version"), 1u);
  EXPECT_EQ(rejected("not_subscribed"), 1u);
  ASSERT_EQ(early.errors.size(), 1u);
  EXPECT_THAT(early.errors[0], HasSubstr("before subscribing"));
  EXPECT_TRUE(master_->state().agents.empty());
  // Still serving.
  auto a = agent("agent-a", "cpus:1;mem:128");
  EXPECT_EQ(a->agentId, "M-S1");
}

TEST_F(MasterTest, InvalidFrameworkInfoIsAnError) {
  FakeScheduler s(network_, "sched-1");
  s.subscribe("");
  settle();
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_THAT(s.errors[0], HasSubstr("name"));
  EXPECT_TRUE(master_->state().frameworks.empty());
}

TEST_F(MasterTest, PublishesSnapshotForTheHttpApi) {
  auto s = scheduler("sched-1", "web");
  auto a = agent("agent-a", "cpus:2;mem:1024", "node1");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1;mem:256")}, 0);
  settle();
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  advance(0.1);
  auto snapshot = master_->snapshot();
  auto agents = nlohmann::json::parse(snapshot->agentsBody)["agents"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["status"], "REGISTERED");
  EXPECT_EQ(agents[0]["used"]["cpus"], 1.0);
  EXPECT_EQ(agents[0]["offered"]["cpus"], 1.0);
  auto frameworks = nlohmann::json::parse(snapshot->frameworksBody)["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["name"], "web");
  EXPECT_EQ(frameworks[0]["connected"], true);
  EXPECT_EQ(frameworks[0]["task_count"], 1);
  auto state = nlohmann::json::parse(snapshot->stateBody());
  EXPECT_EQ(state["master"]["id"], "M");
  ASSERT_EQ(state["tasks"].size(), 1u);
  EXPECT_EQ(state["tasks"][0]["state"], "TASK_RUNNING");
  EXPECT_EQ(state["tasks"][0]["agent_url"], "http://node1:5051");
  EXPECT_EQ(state["tasks"][0]["sandbox"], "/sandbox/t1");
  std::string metrics = master_->metrics().serialize();
  EXPECT_THAT(metrics, HasSubstr("agora_master_tasks{state=\"TASK_RUNNING\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("agora_master_offers_sent_total 2"));

  HttpApi api(master_->snapshotCell());
  http::Request request;
  request.query = {{"state", "RUNNING"}, {"framework_id", s->frameworkId}};
  EXPECT_EQ(nlohmann::json::parse(api.tasks(request).body)["tasks"].size(), 1u);
  request.query = {{"state", "TASK_FINISHED"}};
  EXPECT_EQ(nlohmann::json::parse(api.tasks(request).body)["tasks"].size(), 0u);
}

TEST_F(MasterTest, ARetriedReregistrationDoesNotLoseTasksLaunchedAfterItsAnswer) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1");
  settle();
  std::string session = a->session;
  ASSERT_FALSE(session.empty());
  ASSERT_FALSE(s->offers.empty());
  s->accept({s->offers.back().id}, {makeTask("t1", "cpus:1")});
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(a->runTaskSessions.back(), session);  // the agent launches it in this session
  // The retry the agent sent before it heard the answer, without t1.
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1");
  settle();
  ASSERT_NE(task(s->frameworkId, "t1"), nullptr);
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::STAGING);
  EXPECT_EQ(a->session, session);
  // A new attempt without it: the agent really lost it, and a launch of it
  // still on its way belongs to the old session, which the agent drops.
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-2");
  settle();
  EXPECT_TRUE(isTerminal(task(s->frameworkId, "t1")->state));
  EXPECT_NE(a->session, session);
  EXPECT_FALSE(a->session.empty());
}

TEST_F(MasterTest, AnOlderReregistrationArrivingAfterANewerOneIsIgnored) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-2", 2);
  settle();
  std::string session = a->session;
  int answers = a->registeredCount;
  ASSERT_FALSE(s->offers.empty());
  s->accept({s->offers.back().id}, {makeTask("t1", "cpus:1")});
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u);
  // Attempt 1 (a random attempt of its own, without t1) was held up on a
  // dead connection: it is not reconciled, so t1 is not reported lost.
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1", 1);
  settle();
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::STAGING);
  EXPECT_EQ(a->session, session);
  EXPECT_EQ(a->registeredCount, answers);
  // A newer attempt without t1 is reconciled: the agent really lost it.
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-3", 3);
  settle();
  EXPECT_TRUE(isTerminal(task(s->frameworkId, "t1")->state));
  EXPECT_NE(a->session, session);
}

TEST_F(MasterTest, AKilledAgentProcesssLateReregistrationIsIgnored) {
  auto s = scheduler("sched-1");
  // The agent's first process re-registered with attempt #100, then its link
  // was cut and it queued #200 (without t1, which it never had) before it
  // was killed. The restarted process (a new connection) registers #300.
  auto before = agent("agent-a-old", "cpus:2;mem:1024");
  before->reregister(before->agentId, "cpus:2;mem:1024", {}, "attempt-100", 100);
  settle();
  before->session.clear();
  network_.cutOff("agent-a-old");
  auto a = std::make_unique<FakeAgent>(network_, "agent-a-new");
  a->reregister(before->agentId, "cpus:2;mem:1024", {}, "attempt-300", 300);
  settle();
  ASSERT_EQ(a->registeredCount, 1);
  ASSERT_FALSE(s->offers.empty());
  s->accept({s->offers.back().id}, {makeTask("t1", "cpus:1")});
  settle();
  std::string session = a->session;
  ASSERT_EQ(a->runTaskSessions, std::vector<std::string>{session});
  size_t updates = s->updates.size();
  // Once the link is back, the dead process's socket delivers #200: stale.
  network_.restore("agent-a-old");
  before->reregister(before->agentId, "cpus:2;mem:1024", {}, "attempt-200", 200);
  settle();
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::STAGING);
  EXPECT_EQ(s->updates.size(), updates);  // no TASK_LOST for t1
  EXPECT_EQ(before->session, "");  // not answered either
  EXPECT_EQ(a->session, session);
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::RUNNING);
}

TEST_F(MasterTest, AReregistrationRepeatedBeforeItsAnswerIsReconciledOnce) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  settle();
  size_t rescindsBefore = s->rescinds.size();
  int answers = a->registeredCount;
  // Sent at once to a new leader and again when the connection came up:
  // the copy reaches the master before its answer to the first went out.
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1", 1);
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1", 1);
  settle();
  EXPECT_EQ(a->registeredCount, answers + 1);
  EXPECT_LE(s->rescinds.size(), rescindsBefore + 1);  // the agent's offer, once
  // A retry after the answer is answered again, still without reconciling.
  std::string session = a->session;
  a->reregister(a->agentId, "cpus:2;mem:1024", {}, "attempt-1", 1);
  settle();
  EXPECT_EQ(a->registeredCount, answers + 2);
  EXPECT_EQ(a->session, session);
}

}  // namespace
}  // namespace agora::master::testing
