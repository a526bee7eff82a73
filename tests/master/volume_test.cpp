// Persistent volumes in the master: CREATE / DESTROY in ACCEPT on reserved
// disk, all or none with the accept's other operations; a volume is offered
// back with its persistence after its task ends; DESTROY of a volume in use
// and UNRESERVE of a volume's disk are refused with a reason, changing
// nothing; the registry keeps volumes across a restart.

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

TaskInfo taskWith(const std::string& id, const Resources& extra) {
  TaskInfo task = makeTask(id, "cpus:1;mem:128");
  task.resources += extra;
  return task;
}

using Which = schema::Operation::Which;

class VolumeTest : public MasterTest {
 protected:
  // ACCEPT of every outstanding offer (one agent) with `ops`, then `tasks`.
  void accept(FakeScheduler& s, const std::vector<OfferOperation>& ops,
              const std::vector<TaskInfo>& tasks = {}) {
    std::vector<std::string> offers = s.outstandingOffers();
    ASSERT_FALSE(offers.empty());
    s.acceptWith(offers, ops, tasks);
    settle();
  }
  std::string lastOffer(FakeScheduler& s) {
    return s.offers.empty() ? "" : s.offers.back().resources.toString();
  }
};

TEST_F(VolumeTest, CreatedVolumeRunsATaskAndIsOfferedBackWithItsPersistence) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):1024");
  Resources v1 = volume("disk(eng):256", "v1", "data");
  accept(*s, {{Which::CREATE, v1}}, {taskWith("t1", v1)});
  ASSERT_EQ(a->runTasks.size(), 1u) << (s->updates.empty() ? "" : s->updates.back().message);
  EXPECT_EQ(a->runTasks[0].second.resources.volumes(), v1);  // the agent learns it from the task
  EXPECT_EQ(agentState(a->agentId).volumes, v1);
  EXPECT_EQ(agentTotal(a->agentId).toString(),
            "cpus:4;mem:1024;disk(eng):768;disk(eng)[v1:data:rw]:256");
  EXPECT_EQ(lastOffer(*s), "cpus:3;mem:896;disk(eng):768");
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  ASSERT_EQ(s->outstandingOffers().size(), 2u);
  EXPECT_EQ(s->offers.back().resources.toString(), "cpus:1;mem:128;disk(eng)[v1:data:rw]:256");
  EXPECT_EQ(s->offers.back().resources.volumeList().at(0).disk.id, "v1");
}

TEST_F(VolumeTest, DestroyOfAVolumeInUseIsRefusedThenDestroyReturnsPlainDisk) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk:1024");
  Resources v1 = volume("disk(eng,dynamic):256", "v1", "data");
  // RESERVE then CREATE in one accept: the volume sits on the new reservation.
  accept(*s, {{Which::RESERVE, res("disk(eng):256")}, {Which::CREATE, v1}}, {taskWith("t1", v1)});
  ASSERT_EQ(a->runTasks.size(), 1u) << (s->updates.empty() ? "" : s->updates.back().message);
  EXPECT_EQ(agentState(a->agentId).dynamic.toString(), "disk(eng,dynamic):256");
  uint64_t before = rejected("invalid_operation");
  accept(*s, {{Which::DESTROY, v1}}, {makeTask("t2", "cpus:1")});
  EXPECT_EQ(rejected("invalid_operation"), before + 1);
  ASSERT_NE(s->lastUpdateFor("t2"), nullptr);
  EXPECT_THAT(s->lastUpdateFor("t2")->message, ::testing::HasSubstr("volume 'v1' is in use by task t1"));
  EXPECT_EQ(agentState(a->agentId).volumes, v1);
  EXPECT_TRUE(a->destroyedVolumes.empty());

  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  accept(*s, {{Which::DESTROY, v1}});
  EXPECT_TRUE(agentState(a->agentId).volumes.empty());
  EXPECT_EQ(agentState(a->agentId).dynamic.toString(), "disk(eng,dynamic):256");
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v1"});
  EXPECT_EQ(lastOffer(*s), "cpus:4;mem:1024;disk:768;disk(eng,dynamic):256");
}

TEST_F(VolumeTest, RefusedVolumeOperationsChangeNothing) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk:512;disk(eng):512;disk(ads):64");
  accept(*s, {{Which::CREATE, volume("disk(eng):100", "v1", "data")}});
  ASSERT_EQ(agentState(a->agentId).volumes.volumeList().size(), 1u);
  Resources total = agentTotal(a->agentId);
  EXPECT_FALSE(res("disk:10").toVolume({"x", "", "data", false}).has_value());
  struct Case {
    std::vector<OfferOperation> ops;
    const char* why;
  };
  std::vector<Case> cases = {
      {{{Which::CREATE, volume("disk(eng):10", "v1", "other")}}, "already has a volume with that id"},
      {{{Which::CREATE, volume("disk(eng):10", "v2", "../x")}}, "must not contain '..'"},
      {{{Which::CREATE, volume("disk(eng):10", "v2", "/")}}, "must not be '/'"},
      {{{Which::CREATE, volume("disk(eng):999", "v2", "data")}}, "not among the offer's resources"},
      {{{Which::CREATE, volume("disk(ads):10", "v2", "data")}}, "not one of the framework's roles"},
      {{{Which::CREATE, res("disk(eng):10")}}, "not a persistent volume"},
      {{{Which::CREATE, volume("disk(eng):10", "v2", "a")},
        {Which::CREATE, volume("disk(eng):10", "v2", "b")}}, "already has a volume with that id"},
      {{{Which::DESTROY, volume("disk(eng):100", "nope", "data")}}, "has no such volume"},
      {{{Which::DESTROY, volume("disk(eng):50", "v1", "data")}}, "has no such volume"},
      {{{Which::UNRESERVE, volume("disk(eng):100", "v1", "data")}}, "must be DESTROYed first"},
      // All or none: a good CREATE before a bad operation is undone too.
      {{{Which::CREATE, volume("disk(eng):10", "v3", "x")}, {Which::RESERVE, res("cpus(eng):99")}},
       "not among the offer's unreserved"},
  };
  for (const Case& c : cases) {
    uint64_t before = rejected("invalid_operation");
    accept(*s, c.ops, {makeTask("t", "cpus:1")});
    EXPECT_EQ(rejected("invalid_operation"), before + 1) << c.why;
    ASSERT_NE(s->lastUpdateFor("t"), nullptr);
    EXPECT_THAT(s->lastUpdateFor("t")->message, ::testing::HasSubstr(c.why));
    EXPECT_EQ(agentTotal(a->agentId), total) << c.why;
    EXPECT_EQ(agentState(a->agentId).volumes.volumeList().size(), 1u) << c.why;
    EXPECT_TRUE(a->runTasks.empty());
  }
}

TEST_F(VolumeTest, UnreserveOfDiskHoldingAVolumeIsRefused) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk:512");
  Resources v1 = volume("disk(eng,dynamic):100", "v1", "data");
  accept(*s, {{Which::RESERVE, res("disk(eng):100")}, {Which::CREATE, v1}});
  ASSERT_EQ(agentState(a->agentId).volumes, v1);
  accept(*s, {{Which::UNRESERVE, res("disk(eng,dynamic):100")}}, {makeTask("t", "cpus:1")});
  ASSERT_NE(s->lastUpdateFor("t"), nullptr);
  EXPECT_THAT(s->lastUpdateFor("t")->message, ::testing::HasSubstr("DESTROY them first"));
  // Nor through the operator API.
  Status refused = master_->unreserve(a->agentId, res("disk(eng,dynamic):100"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("holds persistent volumes"));
  EXPECT_EQ(agentState(a->agentId).dynamic.toString(), "disk(eng,dynamic):100");
}

TEST_F(VolumeTest, ATaskMustNameTheVolumeExactlyAsOffered) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  accept(*s, {{Which::CREATE, volume("disk(eng):100", "v1", "data")}});
  accept(*s, {}, {taskWith("t1", volume("disk(eng):100", "v1", "elsewhere"))});
  ASSERT_NE(s->lastUpdateFor("t1"), nullptr);
  EXPECT_EQ(s->lastUpdateFor("t1")->state, TaskState::ERROR);
  EXPECT_TRUE(a->runTasks.empty());
}

TEST_F(VolumeTest, AnAgentReportingAVolumeIsRefused) {
  auto a = std::make_unique<FakeAgent>(network_, "agent-1");
  uint64_t before = rejected("invalid_agent");
  a->client().send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder env) {
    auto reg = env.initRegisterAgent();
    reg.setHostname("h");
    Resources v = volume("disk(eng):1", "v1", "data");
    v.toCapnp(reg.initResources(v.count()));
  }));
  settle();
  EXPECT_TRUE(a->agentId.empty());
  EXPECT_EQ(rejected("invalid_agent"), before + 1);
}

TEST_F(VolumeTest, OperatorCreatesAndDestroysVolumesOrRefusesWithTheReason) {
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  std::string id = a->agentId;
  Resources v1 = volume("disk(eng):100", "v1", "data");
  Status unknown = master_->createVolume("nope", v1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(master_->createVolume(id, v1));
  settle();
  EXPECT_EQ(agentTotal(id).toString(), "cpus:4;mem:1024;disk(eng):412;disk(eng)[v1:data:rw]:100");
  Status twice = master_->createVolume(id, volume("disk(eng):10", "v1", "x"));
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, ::testing::HasSubstr("already has a volume with that id"));
  Status tooBig = master_->createVolume(id, volume("disk(eng):1000", "v2", "x"));
  ASSERT_FALSE(tooBig);
  // Said in terms of the agent's disk: the operator saw no offer.
  EXPECT_THAT(tooBig.error().message,
              ::testing::HasSubstr("agent '" + id + "' has no disk 1000 free for a volume of role "
                                   "eng: reserved for eng and free: disk 412, unreserved and free: "
                                   "disk 0"));
  EXPECT_THAT(tooBig.error().message, ::testing::Not(::testing::HasSubstr("offer")));

  // In use by a task: refused.
  auto s = framework("sched", {"eng"});
  accept(*s, {}, {taskWith("t1", v1)});
  ASSERT_EQ(a->runTasks.size(), 1u) << (s->updates.empty() ? "" : s->updates.back().message);
  Status inUse = master_->destroyVolume(id, "v1");
  ASSERT_FALSE(inUse);
  EXPECT_THAT(inUse.error().message, ::testing::HasSubstr("volume 'v1' is in use by task t1"));
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  Status missing = master_->destroyVolume(id, "nope");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, ::testing::HasSubstr("has no such volume"));
  // Offered to the framework: the offer is rescinded, then the disk comes back plain.
  ASSERT_TRUE(master_->destroyVolume(id, "v1"));
  settle();
  EXPECT_FALSE(s->rescinds.empty());
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v1"});
  EXPECT_EQ(agentTotal(id).toString(), "cpus:4;mem:1024;disk(eng):512");
}

// `agora reserve AGENT 'cpus:1;mem:512' --role eng` then `agora volume create AGENT
// 'disk(eng):100' ...`: the volume names its role; the disk comes from a reservation
// of the role that has it free, else from unreserved disk reserved for it on the way.
TEST_F(VolumeTest, OperatorVolumeTakesTheRolesDiskHoweverItWasReserved) {
  auto a = agent("agent-1", "cpus:4;mem:1024;disk:1024");
  std::string id = a->agentId;
  ASSERT_TRUE(master_->reserve(id, res("cpus(eng,dynamic):1;mem(eng,dynamic):512")));
  Status created = master_->createVolume(id, volume("disk(eng):100", "logs", "data"));
  ASSERT_TRUE(created) << created.error().message;
  settle();
  EXPECT_EQ(agentState(id).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):512;disk(eng,dynamic):100");
  EXPECT_EQ(agentState(id).volumes.volumeList().at(0).disk.id, "logs");
  EXPECT_EQ(agentTotal(id).toString(),
            "cpus:3;mem:512;disk:924;cpus(eng,dynamic):1;mem(eng,dynamic):512;"
            "disk(eng,dynamic)[logs:data:rw]:100");
  // Disk the role already has reserved (dynamically) serves a static-looking request.
  ASSERT_TRUE(master_->reserve(id, res("disk(eng,dynamic):200")));
  ASSERT_TRUE(master_->createVolume(id, volume("disk(eng):150", "db", "db")));
  settle();
  EXPECT_EQ(agentState(id).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):512;disk(eng,dynamic):300");
  // A reservation made for a volume counts toward the role's quota like any other.
  ASSERT_TRUE(master_->setQuota("eng", std::nullopt, res("disk:400")));
  Status over = master_->createVolume(id, volume("disk(eng):200", "big", "big"));
  ASSERT_FALSE(over);
  EXPECT_THAT(over.error().message, ::testing::HasSubstr("over its quota limit disk 400"));
  EXPECT_EQ(agentState(id).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):512;disk(eng,dynamic):300");
}

// --- Deleting a destroyed volume's data ------------------------------------------

TEST_F(VolumeTest, DestroyMadeWhileTheAgentIsCutOffReachesItWhenItReregisters) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  Resources v1 = volume("disk(eng):100", "v1", "data");
  accept(*s, {{Which::CREATE, v1}});
  ASSERT_EQ(agentState(a->agentId).volumes, v1);
  // The agent went away; the master has not noticed yet and takes the DESTROY.
  network_.cutOff("agent-1");
  accept(*s, {{Which::DESTROY, v1}});
  EXPECT_TRUE(agentState(a->agentId).volumes.empty());
  EXPECT_TRUE(a->destroyedVolumes.empty());
  EXPECT_EQ(agentState(a->agentId).destroyedVolumes, v1);
  auto agents = nlohmann::json::parse(master_->snapshot()->agentsBody)["agents"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["destroyed_volumes"][0]["id"], "v1") << agents.dump();

  network_.restore("agent-1");
  a->reregister(a->agentId, "cpus:4;mem:1024;disk(eng):512", {});
  settle();
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v1"});
  EXPECT_TRUE(agentState(a->agentId).destroyedVolumes.empty());  // confirmed
}

TEST_F(VolumeTest, UnconfirmedDestroysAreSentAgainAtEachRegistration) {
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  a->confirmDestroys = false;
  std::string id = a->agentId;
  ASSERT_TRUE(master_->createVolume(id, volume("disk(eng):100", "v1", "data")));
  ASSERT_TRUE(master_->createVolume(id, volume("disk(eng):100", "v2", "data")));
  ASSERT_TRUE(master_->destroyVolume(id, "v1"));
  settle();
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v1"});
  ASSERT_TRUE(master_->destroyVolume(id, "v2"));
  settle();
  EXPECT_EQ(a->destroyedVolumes, (std::vector<std::string>{"v1", "v1", "v2"}));
  a->destroyedVolumes.clear();
  a->reregister(id, "cpus:4;mem:1024;disk(eng):512", {}, "attempt-1");
  settle();
  EXPECT_EQ(a->destroyedVolumes, (std::vector<std::string>{"v1", "v2"}));
  // A confirmation of some leaves the others pending; one about nothing
  // pending, or about another agent, changes nothing.
  auto confirm = [&](const std::string& about, const Resources& volumes) {
    a->client().send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder out) {
                       auto confirmed = out.initVolumesDestroyed();
                       confirmed.setAgentId(about);
                       volumes.toCapnp(confirmed.initVolumes(volumes.count()));
                     }));
    settle();
  };
  confirm(id, volume("disk(eng):100", "v1", "data") + volume("disk(eng):100", "v9", "data"));
  EXPECT_EQ(agentState(id).destroyedVolumes, volume("disk(eng):100", "v2", "data"));
  uint64_t before = rejected("invalid_volumes_destroyed");
  confirm("other", volume("disk(eng):100", "v2", "data"));
  EXPECT_EQ(rejected("invalid_volumes_destroyed"), before + 1);
  EXPECT_EQ(agentState(id).destroyedVolumes, volume("disk(eng):100", "v2", "data"));
  a->destroyedVolumes.clear();
  a->reregister(id, "cpus:4;mem:1024;disk(eng):512", {}, "attempt-2");
  settle();
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v2"});
}

TEST_F(VolumeTest, AVolumeIdAwaitingDeletionCannotBeCreatedAgain) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  Resources v1 = volume("disk(eng):100", "v1", "data");
  accept(*s, {{Which::CREATE, v1}});
  // In one ACCEPT: the deletion sent for the old volume would empty the new one.
  accept(*s, {{Which::DESTROY, v1}, {Which::CREATE, v1}}, {makeTask("t", "cpus:1")});
  ASSERT_NE(s->lastUpdateFor("t"), nullptr);
  EXPECT_THAT(s->lastUpdateFor("t")->message,
              ::testing::HasSubstr("has not yet deleted the data of a destroyed volume"));
  EXPECT_EQ(agentState(a->agentId).volumes, v1);

  network_.cutOff("agent-1");
  accept(*s, {{Which::DESTROY, v1}});
  Status again = master_->createVolume(a->agentId, v1);
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message, ::testing::HasSubstr("retry once it has"));
  network_.restore("agent-1");
  a->reregister(a->agentId, "cpus:4;mem:1024;disk(eng):512", {});
  settle();
  ASSERT_TRUE(agentState(a->agentId).destroyedVolumes.empty());
  EXPECT_TRUE(master_->createVolume(a->agentId, v1));
}

// --- Registry ------------------------------------------------------------------

class VolumeRecoveryTest : public WithRegistry<VolumeTest> {};

TEST_F(VolumeRecoveryTest, VolumesSurviveARestartAndAreOfferedAgain) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024;disk:512;disk(eng):512");
  std::string id = a->agentId;
  Resources v1 = volume("disk(eng):100", "v1", "data");
  Resources v2 = volume("disk(eng,dynamic):50", "v2", "/srv");
  accept(*s, {{Which::CREATE, v1}, {Which::RESERVE, res("disk(eng):50")}, {Which::CREATE, v2}});
  ASSERT_EQ(agentState(id).volumes, v1 + v2);
  s.reset();
  start("M2");
  EXPECT_EQ(agentState(id).volumes, v1 + v2);
  EXPECT_EQ(agentState(id).dynamic.toString(), "disk(eng,dynamic):50");
  a->reregister(id, "cpus:4;mem:1024;disk:512;disk(eng):512", {});
  settle();
  EXPECT_EQ(agentTotal(id), res("cpus:4;mem:1024;disk:462;disk(eng):412") + v1 + v2);
  // An agent back without the static disk loses the volume on it (not its data).
  start("M3");
  a->reregister(id, "cpus:4;mem:1024;disk:512", {});
  settle();
  EXPECT_EQ(agentState(id).volumes, v2);
  start("M4");
  EXPECT_EQ(agentState(id).volumes, v2);
}

TEST_F(VolumeRecoveryTest, AnUnconfirmedDestroySurvivesARestartUntilTheAgentConfirmsIt) {
  auto a = agent("agent-1", "cpus:4;mem:1024;disk(eng):512");
  std::string id = a->agentId;
  Resources v1 = volume("disk(eng):100", "v1", "data");
  ASSERT_TRUE(master_->createVolume(id, v1));
  network_.cutOff("agent-1");
  ASSERT_TRUE(master_->destroyVolume(id, "v1"));
  settle();
  start("M2");
  EXPECT_TRUE(agentState(id).volumes.empty());
  EXPECT_EQ(agentState(id).destroyedVolumes, v1);
  network_.restore("agent-1");
  a->reregister(id, "cpus:4;mem:1024;disk(eng):512", {});
  settle();
  EXPECT_EQ(a->destroyedVolumes, std::vector<std::string>{"v1"});
  EXPECT_TRUE(agentState(id).destroyedVolumes.empty());
  start("M3");
  EXPECT_TRUE(agentState(id).destroyedVolumes.empty());
}

}  // namespace
}  // namespace agora::master::testing
