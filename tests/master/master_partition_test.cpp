// Master: partitioned agents. Unreachable within --agent-unreachable-timeout:
// re-admitted with its tasks RUNNING again; past it: removed, its tasks GONE,
// and told to kill them if it ever comes back (also after a master restart).

#include <gmock/gmock.h>

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

class MasterPartitionTest : public MasterTest {
 protected:
  static constexpr double kTimeoutSec = 20;

  MasterPartitionTest() {
    master_.reset();
    MasterOptions options;
    options.masterId = "M";
    options.agentPingInterval = seconds(1);
    options.agentMaxMissedPings = 3;
    options.frameworkHeartbeatInterval = seconds(2);
    options.agentUnreachableTimeout = seconds(kTimeoutSec);
    master_ = std::make_unique<Master>(loop_, *server_, options);
    plain_ = scheduler("sched-plain", "plain");
    aware_ = scheduler("sched-aware", "aware", 0, /*partitionAware=*/true);
    a_ = agent("agent-a", "cpus:4;mem:1024");
    launch(*plain_, "tp");
    launch(*aware_, "ta");
  }

  // Launches `taskId` on agent a and reports it RUNNING.
  void launch(FakeScheduler& s, const std::string& taskId) {
    settle();
    auto offers = s.outstandingOffers();
    ASSERT_EQ(offers.size(), 1u) << s.frameworkId;
    s.accept(offers, {makeTask(taskId, "cpus:1")}, 0);
    settle();
    a_->sendStatus(s.frameworkId, taskId, TaskState::RUNNING);
    settle();
  }
  // The agent stops answering; 3 missed pings at 1 s make it unreachable.
  void partition() {
    a_->autoPong = false;
    network_.cutOff("agent-a");
    advance(5);
    ASSERT_EQ(master_->state().agents.at(a_->agentId).status, AgentStatus::kUnreachable);
  }
  // The link is back and the agent re-registers with both tasks running.
  void heal() {
    network_.restore("agent-a");
    a_->autoPong = true;
    a_->reregister(a_->agentId, "cpus:4;mem:1024",
                   {{plain_->frameworkId, makeTask("tp", "cpus:1")},
                    {aware_->frameworkId, makeTask("ta", "cpus:1")}});
    settle();
  }
  TaskState lastState(const FakeScheduler& s, const std::string& taskId) {
    const TaskStatus* status = s.lastUpdateFor(taskId);
    return status == nullptr ? TaskState::UNKNOWN : status->state;
  }

  std::unique_ptr<FakeScheduler> plain_;
  std::unique_ptr<FakeScheduler> aware_;
  std::unique_ptr<FakeAgent> a_;
};

TEST_F(MasterPartitionTest, AgentBackWithinTheTimeoutIsReadmittedWithItsTasksRunning) {
  partition();
  EXPECT_EQ(lastState(*aware_, "ta"), TaskState::UNREACHABLE);
  EXPECT_EQ(lastState(*plain_, "tp"), TaskState::LOST);
  advance(kTimeoutSec - 6);
  ASSERT_EQ(master_->state().agents.count(a_->agentId), 1u);

  heal();
  EXPECT_EQ(master_->state().agents.at(a_->agentId).status, AgentStatus::kRegistered);
  EXPECT_EQ(master_->state().agents.at(a_->agentId).unreachableTime, 0);
  EXPECT_EQ(lastState(*aware_, "ta"), TaskState::RUNNING);
  EXPECT_EQ(lastState(*plain_, "tp"), TaskState::RUNNING);
  EXPECT_TRUE(a_->shutdownAgents.empty());
  // Offers resume: the 2 cpus left over go to a framework again.
  advance(1.5);
  size_t offered = plain_->outstanding.size() + aware_->outstanding.size();
  EXPECT_EQ(offered, 1u);
  // Nothing is removed later: the unreachable clock stopped.
  advance(kTimeoutSec + 5);
  EXPECT_EQ(master_->state().agents.at(a_->agentId).status, AgentStatus::kRegistered);
}

TEST_F(MasterPartitionTest, AgentPastTheTimeoutIsRemovedAndItsTasksAreGone) {
  partition();
  size_t plainUpdates = plain_->updates.size();
  advance(kTimeoutSec - 2);  // unreachable for about 18 s
  ASSERT_EQ(master_->state().agents.count(a_->agentId), 1u);
  EXPECT_EQ(lastState(*aware_, "ta"), TaskState::UNREACHABLE);
  advance(3);
  EXPECT_EQ(master_->state().agents.count(a_->agentId), 0u);
  EXPECT_EQ(master_->state().goneAgents.count(a_->agentId), 1u);
  const TaskStatus* gone = aware_->lastUpdateFor("ta");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->state, TaskState::GONE);
  EXPECT_EQ(gone->reason, TaskReason::AGENT_REMOVED);
  EXPECT_THAT(gone->message, HasSubstr("was removed"));
  EXPECT_EQ(plain_->updates.size(), plainUpdates);  // LOST already told
  EXPECT_EQ(task(aware_->frameworkId, "ta")->state, TaskState::GONE);

  // Reconciliation answers the latest state, also for a task it never saw.
  aware_->send([&](schema::Call::Builder call) {
    auto refs = call.initReconcile(2);
    refs[0].setTaskId("ta");
    refs[1].setTaskId("never-seen");
    refs[1].setAgentId(a_->agentId);
  });
  settle();
  ASSERT_GE(aware_->updates.size(), 2u);
  EXPECT_EQ(aware_->updates[aware_->updates.size() - 2].state, TaskState::GONE);
  EXPECT_EQ(aware_->updates.back().state, TaskState::GONE);
  EXPECT_EQ(aware_->updates.back().reason, TaskReason::RECONCILIATION);

  // It comes back: refused with its old ID and told to kill its tasks.
  std::string oldId = a_->agentId;
  int registrations = a_->registeredCount;
  size_t awareUpdates = aware_->updates.size();
  heal();
  ASSERT_EQ(a_->shutdownAgents.size(), 1u);
  EXPECT_THAT(a_->shutdownAgents[0], HasSubstr("kill them"));
  EXPECT_EQ(a_->registeredCount, registrations);
  EXPECT_EQ(master_->state().agents.count(oldId), 0u);
  EXPECT_EQ(aware_->updates.size(), awareUpdates);
  EXPECT_EQ(lastState(*plain_, "tp"), TaskState::LOST);
  // Its late status updates are not taken either.
  a_->sendStatus(aware_->frameworkId, "ta", TaskState::KILLED);
  settle();
  EXPECT_EQ(aware_->updates.size(), awareUpdates);

  // It registers anew and gets a new ID with its resources offered again.
  a_->registerAgent("cpus:4;mem:1024");
  settle();
  EXPECT_NE(a_->agentId, oldId);
  EXPECT_EQ(master_->state().agents.at(a_->agentId).status, AgentStatus::kRegistered);
  size_t offersForNewId = 0;
  for (const auto* s : {plain_.get(), aware_.get()}) {
    for (const Offer& offer : s->offers) offersForNewId += offer.agentId == a_->agentId;
  }
  EXPECT_EQ(offersForNewId, 1u);
}

}  // namespace
}  // namespace agora::master::testing
