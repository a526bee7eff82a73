// Master: registration, offers, DRF, ACCEPT/DECLINE/REVIVE/SUPPRESS, kill,
// status updates, acknowledgements and reconciliation.

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(MasterTest, RegistersAgentAndAnswersRetriesWithSameId) {
  auto a = agent("agent-a", "cpus:4;mem:4096");
  EXPECT_EQ(a->agentId, "M-S1");
  a->registerAgent("cpus:4;mem:4096");  // a retry that crossed the answer
  settle();
  EXPECT_EQ(a->agentId, "M-S1");
  EXPECT_EQ(a->registeredCount, 2);
  EXPECT_EQ(master_->state().agents.size(), 1u);
  auto b = agent("agent-b", "cpus:1;mem:512");
  EXPECT_EQ(b->agentId, "M-S2");
}

TEST_F(MasterTest, RetriedFirstSubscribeFromTheSamePeerKeepsOneFramework) {
  auto s = scheduler("sched-1");
  s->subscribe("fw");  // a retry that crossed the SUBSCRIBED answer
  settle();
  EXPECT_EQ(s->frameworkId, "M-0001");
  EXPECT_EQ(master_->state().frameworks.size(), 1u);
}

TEST_F(MasterTest, SubscribeRefusesABadWebuiUrlAndListsAGoodOne) {
  FakeScheduler bad(network_, "sched-bad");
  bad.webuiUrl = "ftp://web.example/ui";
  bad.subscribe("bad");
  settle();
  EXPECT_TRUE(bad.frameworkId.empty());
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0],
            "invalid FrameworkInfo: webui_url 'ftp://web.example/ui' is not an absolute http:// "
            "or https:// URL");
  EXPECT_EQ(rejected("invalid_framework"), 1u);
  EXPECT_TRUE(master_->state().frameworks.empty());

  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->webuiUrl = "http://10.0.0.7:5060";
  s->subscribe("web");
  settle();
  ASSERT_FALSE(s->frameworkId.empty());
  EXPECT_EQ(master_->state().frameworks.at(s->frameworkId).info.webuiUrl, "http://10.0.0.7:5060");
  advance(0.1);
  auto frameworks = nlohmann::json::parse(master_->snapshot()->frameworksBody)["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["webui_url"], "http://10.0.0.7:5060");
  auto state = nlohmann::json::parse(master_->snapshot()->stateBody());
  EXPECT_EQ(state["frameworks"][0]["webui_url"], "http://10.0.0.7:5060");

  // A failover may move it; one that is not valid is refused and changes nothing.
  FakeScheduler moved(network_, "sched-2");
  moved.webuiUrl = "http://10.0.0.7:5060/a b";
  moved.subscribe("web", s->frameworkId);
  settle();
  EXPECT_TRUE(moved.frameworkId.empty());
  EXPECT_EQ(rejected("invalid_framework"), 2u);
  moved.webuiUrl = "https://10.0.0.8:5443";
  moved.subscribe("web", s->frameworkId);
  settle();
  EXPECT_EQ(moved.frameworkId, s->frameworkId);
  advance(0.1);
  frameworks = nlohmann::json::parse(master_->snapshot()->frameworksBody)["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["webui_url"], "https://10.0.0.8:5443");
}

TEST_F(MasterTest, OffersAgentResourcesToSubscribedFramework) {
  auto s = scheduler("sched-1");
  EXPECT_EQ(s->frameworkId, "M-0001");
  auto a = agent("agent-a", "cpus:4;mem:4096;ports:[31000-31009]", "node7");
  ASSERT_EQ(s->offers.size(), 1u);
  const Offer& offer = s->offers[0];
  EXPECT_EQ(offer.id, "M-O1");
  EXPECT_EQ(offer.agentId, "M-S1");
  EXPECT_EQ(offer.hostname, "node7");
  EXPECT_EQ(offer.agentUrl, "http://node7:5051");
  EXPECT_EQ(offer.resources.toString(), "cpus:4;mem:4096;ports:[31000-31009]");
  EXPECT_EQ(master_->metrics().offersSent(), 1u);
}

TEST_F(MasterTest, SplitsAgentsBetweenFrameworksByDominantShare) {
  auto s1 = scheduler("sched-1", "one");
  auto s2 = scheduler("sched-2", "two");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  ASSERT_EQ(s1->offers.size(), 1u);  // tie at share 0: the earlier framework
  EXPECT_TRUE(s2->offers.empty());
  auto b = agent("agent-b", "cpus:4;mem:4096");
  EXPECT_EQ(s1->offers.size(), 1u);
  ASSERT_EQ(s2->offers.size(), 1u);  // s1 now holds half the cluster
  EXPECT_EQ(s2->offers[0].agentId, b->agentId);
}

TEST_F(MasterTest, LaunchesValidTaskAsStagingAndSendsRunTask) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1;mem:128")});
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(a->runTasks[0].first, s->frameworkId);
  EXPECT_EQ(a->runTasks[0].second.taskId, "t1");
  EXPECT_EQ(a->runTasks[0].second.agentId, a->agentId);
  const Task* t = task(s->frameworkId, "t1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->state, TaskState::STAGING);
  EXPECT_EQ(master_->metrics().offersAccepted(), 1u);
  // The unused part is refused for the default 5 s, then offered again.
  EXPECT_EQ(s->offers.size(), 1u);
  advance(5.1);
  ASSERT_EQ(s->offers.size(), 2u);
  EXPECT_EQ(s->offers[1].resources.toString(), "cpus:3;mem:3968");
}

TEST_F(MasterTest, TaskExceedingTheOfferIsTaskError) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:1;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:2;mem:128")});
  settle();
  EXPECT_TRUE(a->runTasks.empty());
  const TaskStatus* update = s->lastUpdateFor("t1");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->state, TaskState::ERROR);
  EXPECT_EQ(update->reason, TaskReason::TASK_INVALID);
  EXPECT_EQ(update->message, "task 't1' needs cpus:2;mem:128 but the offers hold cpus:1;mem:1024");
  EXPECT_TRUE(update->uuid.empty());
}

TEST_F(MasterTest, AMalformedVolumeIsTaskErrorAndNothingReachesTheAgent) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:1;mem:1024");
  TaskInfo task = makeTask("t1", "cpus:1;mem:128");
  task.container.volumes = {Volume::sandboxPath("../../etc", "etc")};
  s->accept({s->offers[0].id}, {task});
  settle();
  EXPECT_TRUE(a->runTasks.empty());
  const TaskStatus* update = s->lastUpdateFor("t1");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->state, TaskState::ERROR);
  EXPECT_EQ(update->reason, TaskReason::TASK_INVALID);
  EXPECT_EQ(update->message,
            "task 't1': volume 'etc' (sandbox path ../../etc): sandbox path must not contain '..'");
}

TEST_F(MasterTest, UnknownOfferIsLostOrDroppedForPartitionAwareFrameworks) {
  auto s1 = scheduler("sched-1", "plain");
  auto s2 = scheduler("sched-2", "aware", 0, true);
  auto a = agent("agent-a", "cpus:1;mem:1024");
  s1->accept({"no-such-offer"}, {makeTask("t1", "cpus:1")});
  s2->accept({"no-such-offer"}, {makeTask("t1", "cpus:1")});
  settle();
  ASSERT_NE(s1->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s1->lastUpdateFor("t1")->state, TaskState::LOST);
  EXPECT_EQ(s1->lastUpdateFor("t1")->reason, TaskReason::INVALID_OFFERS);
  EXPECT_THAT(s1->lastUpdateFor("t1")->message, HasSubstr("'no-such-offer' is unknown"));
  ASSERT_NE(s2->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s2->lastUpdateFor("t1")->state, TaskState::DROPPED);
  EXPECT_TRUE(a->runTasks.empty());
}

TEST_F(MasterTest, AcceptingAnotherFrameworksOfferIsLostAndLeavesTheOffer) {
  auto s1 = scheduler("sched-1", "one");
  auto s2 = scheduler("sched-2", "two");
  auto a = agent("agent-a", "cpus:1;mem:1024");
  ASSERT_EQ(s1->offers.size(), 1u);
  s2->accept({s1->offers[0].id}, {makeTask("t1", "cpus:1")});
  settle();
  EXPECT_EQ(s2->lastUpdateFor("t1")->state, TaskState::LOST);
  EXPECT_THAT(s2->lastUpdateFor("t1")->message, HasSubstr("belongs to another framework"));
  EXPECT_EQ(master_->state().offers.count(s1->offers[0].id), 1u);
}

TEST_F(MasterTest, DuplicateTaskIdIsTaskError) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1"), makeTask("t1", "cpus:1")}, 0);
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(s->lastUpdateFor("t1")->state, TaskState::ERROR);
  EXPECT_THAT(s->lastUpdateFor("t1")->message, HasSubstr("appears twice"));
  ASSERT_EQ(s->outstanding.size(), 1u);  // refuse 0: the rest comes straight back
  s->accept(s->outstandingOffers(), {makeTask("t1", "cpus:1")});
  settle();
  EXPECT_EQ(a->runTasks.size(), 1u);
  EXPECT_THAT(s->lastUpdateFor("t1")->message, HasSubstr("already used by a live task"));
}

TEST_F(MasterTest, InvalidTaskResourcesAreTaskError) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  s->send([&](schema::Call::Builder call) {
    auto accept = call.initAccept();
    accept.initOfferIds(1).set(0, s->offers[0].id);
    auto tasks = accept.initOperations(1)[0].initLaunch(3);
    const double values[] = {-1.0, std::nan(""), 1e300};
    for (unsigned i = 0; i < 3; ++i) {
      tasks[i].setTaskId("bad" + std::to_string(i));
      tasks[i].initCommand().setValue("true");
      auto resource = tasks[i].initResources(1)[0];
      resource.setName("cpus");
      resource.setScalar(values[i]);
    }
  });
  settle();
  EXPECT_TRUE(a->runTasks.empty());
  for (const char* id : {"bad0", "bad1", "bad2"}) {
    ASSERT_NE(s->lastUpdateFor(id), nullptr) << id;
    EXPECT_EQ(s->lastUpdateFor(id)->state, TaskState::ERROR) << id;
    EXPECT_THAT(s->lastUpdateFor(id)->message, HasSubstr("cpus")) << id;
  }
}

TEST_F(MasterTest, UnknownCapabilityIsTaskErrorAndKnownOnesReachTheAgent) {
  auto granted = acl::Acls::parse(
      R"({"add_capabilities": [{"principals": "ANY", "capabilities": "ANY"}]})", "acls");
  ASSERT_TRUE(granted);
  acl::Authorizer authorizer(*granted);
  options_.authorizer = &authorizer;
  master_.reset();
  master_ = std::make_unique<Master>(loop_, *server_, options_);
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  TaskInfo bad = makeTask("bad", "cpus:1");
  bad.container.capAdd = {"SYS_GODMODE"};
  TaskInfo good = makeTask("good", "cpus:1");
  good.container.capAdd = {"NET_ADMIN"};
  good.container.capDrop = {"ALL"};
  s->accept({s->offers[0].id}, {bad, good});
  settle();
  ASSERT_NE(s->lastUpdateFor("bad"), nullptr);
  EXPECT_EQ(s->lastUpdateFor("bad")->state, TaskState::ERROR);
  EXPECT_EQ(s->lastUpdateFor("bad")->reason, TaskReason::TASK_INVALID);
  EXPECT_EQ(s->lastUpdateFor("bad")->message, "task 'bad': capAdd: unknown capability 'SYS_GODMODE'");
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(a->runTasks[0].second.taskId, "good");
  EXPECT_EQ(a->runTasks[0].second.container.capAdd, std::vector<std::string>{"NET_ADMIN"});
  EXPECT_EQ(a->runTasks[0].second.container.capDrop, std::vector<std::string>{"ALL"});
}

TEST_F(MasterTest, LaunchGroupIsAllOrNothing) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("g1", "cpus:1"), makeTask("g2", "cpus:5")}, 5, true);
  settle();
  EXPECT_TRUE(a->runTasks.empty());
  EXPECT_EQ(s->lastUpdateFor("g1")->state, TaskState::ERROR);
  EXPECT_THAT(s->lastUpdateFor("g1")->message, HasSubstr("task group rejected"));
  EXPECT_THAT(s->lastUpdateFor("g2")->message, HasSubstr("needs cpus:5"));
}

TEST_F(MasterTest, DeclineFiltersOnlyTheDecliningFrameworkUntilExpiry) {
  auto s1 = scheduler("sched-1", "one");
  auto s2 = scheduler("sched-2", "two");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  ASSERT_EQ(s1->offers.size(), 1u);
  s1->decline({s1->offers[0].id}, 10);
  settle();
  EXPECT_EQ(master_->metrics().offersDeclined(), 1u);
  ASSERT_EQ(s2->offers.size(), 1u);  // offered to the other framework meanwhile
  s2->decline({s2->offers[0].id}, 100);
  settle();
  advance(9.5);
  EXPECT_EQ(s1->offers.size(), 1u);  // still filtered
  advance(1.0);
  EXPECT_EQ(s1->offers.size(), 2u);  // filter expired: offered again
  EXPECT_EQ(s2->offers.size(), 1u);
}

TEST_F(MasterTest, SuppressStopsOffersAndReviveResumesThem) {
  auto s = scheduler("sched-1");
  s->suppress();
  settle();
  auto a = agent("agent-a", "cpus:2;mem:1024");
  advance(2);
  EXPECT_TRUE(s->offers.empty());
  s->revive();
  settle();
  EXPECT_EQ(s->offers.size(), 1u);
  // Revive also clears refuse filters.
  s->decline(s->outstandingOffers(), 1000);
  settle();
  s->revive();
  settle();
  EXPECT_EQ(s->offers.size(), 2u);
}

TEST_F(MasterTest, KillSendsKillTaskAndAnswersUnknownTasks) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")});
  settle();
  s->kill("t1");
  s->kill("ghost");
  settle();
  EXPECT_EQ(a->kills, std::vector<std::string>{"t1"});
  const TaskStatus* ghost = s->lastUpdateFor("ghost");
  ASSERT_NE(ghost, nullptr);
  EXPECT_EQ(ghost->state, TaskState::LOST);
  EXPECT_EQ(ghost->reason, TaskReason::RECONCILIATION);
}

TEST_F(MasterTest, ForwardsStatusUpdatesAndAcknowledgements) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:2;mem:1024")});
  settle();
  std::string uuid = a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  const TaskStatus* update = s->lastUpdateFor("t1");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->state, TaskState::RUNNING);
  EXPECT_EQ(update->uuid, uuid);
  EXPECT_EQ(update->agentId, a->agentId);
  EXPECT_EQ(task(s->frameworkId, "t1")->sandbox(), "/sandbox/t1");
  s->acknowledge(a->agentId, "t1", uuid);
  settle();
  EXPECT_EQ(a->acks, std::vector<std::string>{uuid});

  // A terminal update frees the task's resources: they are offered again.
  size_t offersBefore = s->offers.size();
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::FINISHED);
  EXPECT_EQ(master_->state().tasks.liveCount(), 0u);
  ASSERT_EQ(s->offers.size(), offersBefore + 1);
  EXPECT_EQ(s->offers.back().resources.toString(), "cpus:2;mem:1024");
}

// An agent that restarts before the master's ack reaches it resends the
// update with its uuid: the framework, which acknowledged it, must not see it
// twice; the master acknowledges it for the framework.
TEST_F(MasterTest, AnUpdateResentAfterItsAckIsAnsweredByTheMasterNotDeliveredAgain) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1"), makeTask("t2", "cpus:1")});
  settle();
  std::string running = a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  s->acknowledge(a->agentId, "t1", running);
  settle();
  size_t delivered = s->updates.size();
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING, running);  // the resend
  settle();
  EXPECT_EQ(s->updates.size(), delivered);
  EXPECT_EQ(a->acks, (std::vector<std::string>{running, running}));

  // Not yet acknowledged: a resend is delivered again (at least once).
  std::string other = a->sendStatus(s->frameworkId, "t2", TaskState::RUNNING);
  settle();
  a->sendStatus(s->frameworkId, "t2", TaskState::RUNNING, other);
  settle();
  EXPECT_EQ(s->updates.size(), delivered + 2);

  // Once the terminal update is acknowledged, every resend of the task's
  // updates is answered by the master.
  std::string finished = a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  s->acknowledge(a->agentId, "t1", finished);
  settle();
  delivered = s->updates.size();
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING, running);
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED, finished);
  settle();
  EXPECT_EQ(s->updates.size(), delivered);
  EXPECT_EQ(a->acks.size(), 5u);
  EXPECT_EQ(a->acks.back(), finished);
  EXPECT_EQ(task(s->frameworkId, "t1")->state, TaskState::FINISHED);
}

TEST_F(MasterTest, ReconcilesExplicitlyAndImplicitly) {
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:2;mem:1024");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1"), makeTask("t2", "cpus:1")});
  settle();
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  settle();
  s->updates.clear();
  s->reconcile({"t1", "nope"});
  settle();
  ASSERT_EQ(s->updates.size(), 2u);
  EXPECT_EQ(s->updates[0].state, TaskState::RUNNING);
  EXPECT_EQ(s->updates[0].reason, TaskReason::RECONCILIATION);
  EXPECT_TRUE(s->updates[0].uuid.empty());
  EXPECT_EQ(s->updates[1].taskId, "nope");
  EXPECT_EQ(s->updates[1].state, TaskState::LOST);
  s->updates.clear();
  s->reconcile({});
  settle();
  ASSERT_EQ(s->updates.size(), 2u);
  EXPECT_EQ(s->updates[0].taskId, "t1");
  EXPECT_EQ(s->updates[1].taskId, "t2");
  EXPECT_EQ(s->updates[1].state, TaskState::STAGING);
}

}  // namespace
}  // namespace agora::master::testing
