// Master: what a registered agent or any peer cannot make it do.

#include "tests/master/master_fixture.hpp"
#include "tests/support/hostile_frames.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(MasterTest, DecompressionBombsAreRefusedUnopenedAndTheirSenderIsTurnedAway) {
  FakeAgent raw(network_, "agent-raw");
  FakeScheduler rawScheduler(network_, "sched-raw");
  std::string bomb = agora::testing::zeroBomb(8u << 20);  // 64 KiB declaring 64 MiB
  for (int i = 0; i < 5; ++i) raw.sendRaw(kAgentProtocol, bomb);
  rawScheduler.client().send(kSchedulerProtocol, bomb);
  settle();
  EXPECT_EQ(rejected("oversized"), 6u);
  EXPECT_EQ(rejected("banned_peer"), 0u);
  // The fifth one got the agent peer turned away: its frames are dropped
  // unread, valid or not, for a while.
  raw.registerAgent("cpus:1;mem:128");
  settle();
  EXPECT_EQ(rejected("banned_peer"), 1u);
  EXPECT_TRUE(master_->state().agents.empty());
  // Everyone else is served.
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:1;mem:128");
  EXPECT_FALSE(a->agentId.empty());
  ASSERT_EQ(s->offers.size(), 1u);
  // Once the ban runs out the peer is heard again.
  advance(301);
  raw.registerAgent("cpus:1;mem:128");
  settle();
  EXPECT_FALSE(raw.agentId.empty());
}

TEST_F(MasterTest, AnAgentCannotSpeakForATaskOnAnotherAgent) {
  auto [s, a] = runningTask("t1");
  ASSERT_EQ(a->runTasks.size(), 1u);
  auto b = agent("agent-b", "cpus:1;mem:1024");
  size_t delivered = s->updates.size();
  b->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  EXPECT_EQ(s->updates.size(), delivered) << "the forged update reached the framework";
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::RUNNING);
  EXPECT_EQ(rejected("forged_update"), 1u);
  EXPECT_TRUE(b->acks.empty());
  // The agent that runs it still does.
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  ASSERT_NE(s->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s->lastUpdateFor("t1")->state, TaskState::FINISHED);
}

TEST_F(MasterTest, AnAttemptSequenceNoRealHostCouldReachIsRefused) {
  auto a = agent("agent-a", "cpus:1;mem:1024");
  uint64_t seq = 1'000'000'000'000;  // 1000 s after its host's boot
  a->reregister(a->agentId, "cpus:1;mem:1024", {}, "attempt-1", seq);
  settle();
  ASSERT_EQ(agentState(a->agentId).attemptSeq, seq);

  // Another peer claims the agent with the largest sequence: were it
  // obeyed, every later re-registration of the real agent would look older.
  FakeAgent impostor(network_, "agent-impostor");
  impostor.reregister(a->agentId, "cpus:64;mem:1048576", {}, "attempt-x", UINT64_MAX);
  settle();
  EXPECT_EQ(rejected("implausible_reregistration"), 1u);
  EXPECT_EQ(agentState(a->agentId).peer, "agent-a");
  // Ahead of the last one by far more than the time since: refused too.
  impostor.reregister(a->agentId, "cpus:64;mem:1048576", {}, "attempt-y", seq + 3600'000'000'000);
  settle();
  EXPECT_EQ(rejected("implausible_reregistration"), 2u);
  EXPECT_EQ(agentState(a->agentId).peer, "agent-a");

  // The real agent, an hour later, is heard.
  advance(3600);
  a->reregister(a->agentId, "cpus:1;mem:1024", {}, "attempt-2", seq + 3600'000'000'000);
  settle();
  EXPECT_EQ(agentState(a->agentId).attemptSeq, seq + 3600'000'000'000);
  EXPECT_EQ(agentState(a->agentId).status, AgentStatus::kRegistered);
}

TEST_F(MasterTest, AnotherPeerCannotTakeOverAnAgentWhoseConnectionStillAnswers) {
  auto [s, a] = runningTask("t1");
  ASSERT_EQ(a->runTasks.size(), 1u);
  advance(1);  // a ping, answered

  // A process elsewhere claims the agent's ID with no tasks: obeyed, the
  // running task would be gone and the real agent locked out.
  FakeAgent impostor(network_, "agent-impostor");
  impostor.reregister(a->agentId, "cpus:64;mem:1048576", {});
  settle();
  EXPECT_EQ(rejected("contested_reregistration"), 1u);
  EXPECT_EQ(agentState(a->agentId).peer, "agent-a");
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::RUNNING);
  EXPECT_TRUE(impostor.agentId.empty()) << "the impostor was answered";
  // The real agent is still served.
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  ASSERT_NE(s->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s->lastUpdateFor("t1")->state, TaskState::FINISHED);
}

TEST_F(MasterTest, ARestartedAgentIsHeardOnceItsOldConnectionIsGoneOrSilent) {
  auto a = agent("agent-a", "cpus:1;mem:1024");
  const std::string id = a->agentId;
  // Its old process died: the connection is gone, the new one is heard at once.
  a.reset();
  FakeAgent restarted(network_, "agent-a2");
  restarted.reregister(id, "cpus:1;mem:1024", {});
  settle();
  EXPECT_EQ(agentState(id).peer, "agent-a2");
  EXPECT_EQ(rejected("contested_reregistration"), 0u);

  // Its old process hangs (connected, silent): heard once two pings went
  // unanswered.
  restarted.autoPong = false;
  FakeAgent third(network_, "agent-a3");
  advance(1);
  third.reregister(id, "cpus:1;mem:1024", {});
  settle();
  EXPECT_EQ(rejected("contested_reregistration"), 1u);
  advance(1);
  third.reregister(id, "cpus:1;mem:1024", {});
  settle();
  EXPECT_EQ(agentState(id).peer, "agent-a3");
  EXPECT_EQ(agentState(id).status, AgentStatus::kRegistered);
}

TEST_F(MasterTest, AnAgentIdBelongsToTheKeyThatRegisteredIt) {
  server_->setPrincipal("agent-a", "agent:rack1-07");
  server_->setPrincipal("agent-b", "agent:rack2-01");
  server_->setPrincipal("agent-a2", "agent:rack1-07");
  auto a = agent("agent-a", "cpus:1;mem:1024");
  const std::string id = a->agentId;
  EXPECT_EQ(agentState(id).principal, "agent:rack1-07");
  a.reset();  // its connection is gone: only the key stands in the way

  // Another agent's key, and no key at all, claim the ID: refused.
  FakeAgent other(network_, "agent-b");
  other.reregister(id, "cpus:64;mem:1048576", {});
  FakeAgent plain(network_, "agent-plain");
  plain.reregister(id, "cpus:64;mem:1048576", {});
  settle();
  EXPECT_EQ(rejected("agent_key_mismatch"), 2u);
  EXPECT_EQ(agentState(id).peer, "agent-a");
  EXPECT_TRUE(other.agentId.empty());
  EXPECT_TRUE(plain.agentId.empty());

  // The agent itself, restarted (a new connection, the same key), is heard.
  FakeAgent restarted(network_, "agent-a2");
  restarted.reregister(id, "cpus:1;mem:1024", {});
  settle();
  EXPECT_EQ(agentState(id).peer, "agent-a2");
  EXPECT_EQ(restarted.agentId, id);
}

TEST_F(MasterTest, AFrameworkIdBelongsToThePrincipalThatSubscribedIt) {
  server_->setPrincipal("sched-a", "framework:billing");
  server_->setPrincipal("sched-b", "framework:intruder");
  server_->setPrincipal("sched-a2", "framework:billing");
  auto owner = scheduler("sched-a", "billing", 3600);
  const std::string id = owner->frameworkId;
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(master_->state().frameworks.at(id).principal, "framework:billing");

  // Another principal, and none, subscribe with its ID: refused, and the
  // owner keeps its connection and its offers.
  FakeScheduler intruder(network_, "sched-b");
  intruder.subscribe("billing", id, 3600);
  FakeScheduler plain(network_, "sched-plain");
  plain.subscribe("billing", id, 3600);
  settle();
  EXPECT_EQ(rejected("framework_principal_mismatch"), 2u);
  EXPECT_TRUE(intruder.frameworkId.empty());
  ASSERT_EQ(intruder.errors.size(), 1u);
  EXPECT_EQ(intruder.errors[0], "framework '" + id + "' belongs to another principal");
  EXPECT_EQ(master_->state().frameworks.at(id).peer, "sched-a");
  EXPECT_TRUE(owner->errors.empty());

  // Its own principal on a new connection fails it over.
  FakeScheduler failover(network_, "sched-a2");
  failover.subscribe("billing", id, 3600);
  settle();
  EXPECT_EQ(failover.frameworkId, id);
  EXPECT_EQ(master_->state().frameworks.at(id).peer, "sched-a2");
}

TEST_F(MasterTest, APrincipalHasAtMostItsLimitOfFrameworks) {
  options_.maxFrameworksPerPrincipal = 3;
  options_.subscribeRate = {1000, 1000};
  master_.reset();
  master_ = std::make_unique<Master>(loop_, *server_, options_);
  std::vector<std::unique_ptr<FakeScheduler>> flood;
  for (int i = 0; i < 5; ++i) {
    std::string peer = "flood-" + std::to_string(i);
    server_->setPrincipal(peer, "framework:flood");
    flood.push_back(scheduler(peer, "f", 365 * 86400.0));
  }
  server_->setPrincipal("other", "framework:other");
  auto other = scheduler("other");
  size_t subscribed = std::count_if(flood.begin(), flood.end(),
                                    [](const auto& s) { return !s->frameworkId.empty(); });
  EXPECT_EQ(subscribed, 3u);
  EXPECT_EQ(rejected("framework_limit"), 2u);
  EXPECT_FALSE(other->frameworkId.empty());  // another principal is not held back
  EXPECT_EQ(master_->state().frameworks.size(), 4u);
  // A subscribed one failing over is not a new framework.
  server_->setPrincipal("flood-0b", "framework:flood");
  FakeScheduler again(network_, "flood-0b");
  again.subscribe("f", flood[0]->frameworkId, 365 * 86400.0);
  settle();
  EXPECT_EQ(again.frameworkId, flood[0]->frameworkId);
}

TEST_F(MasterTest, SubscriptionsFromOnePrincipalAreRateLimited) {
  options_.subscribeRate = {1, 2};
  master_.reset();
  master_ = std::make_unique<Master>(loop_, *server_, options_);
  std::vector<std::unique_ptr<FakeScheduler>> flood;
  for (int i = 0; i < 3; ++i) {
    std::string peer = "burst-" + std::to_string(i);
    server_->setPrincipal(peer, "framework:burst");
    flood.push_back(scheduler(peer));
  }
  EXPECT_FALSE(flood[1]->frameworkId.empty());
  EXPECT_TRUE(flood[2]->frameworkId.empty());
  EXPECT_EQ(rejected("framework_limit"), 1u);
  ASSERT_FALSE(flood[2]->errors.empty());
  EXPECT_NE(flood[2]->errors[0].find("retry in"), std::string::npos) << flood[2]->errors[0];
  advance(1);
  flood[2]->subscribe("fw");
  settle();
  EXPECT_FALSE(flood[2]->frameworkId.empty());
}

}  // namespace
}  // namespace agora::master::testing
