// What the master publishes on its event bus as a cluster lives.

#include "tests/master/master_fixture.hpp"

#include "master/events/event_json.hpp"

namespace agora::master::testing {
namespace {

class MasterEventsTest : public MasterTest {
 protected:
  MasterEventsTest() {
    master_->events().subscribe([this](const std::shared_ptr<const events::Event>& shared) {
      const events::Event& e = *shared;
      std::string line = events::typeName(e.body);
      if (const auto* t = std::get_if<events::TaskStateChanged>(&e.body)) {
        line += " " + t->taskId + " " + taskStateName(t->state);
      }
      if (const auto* o = std::get_if<events::OfferRemoved>(&e.body)) line += " " + o->reason;
      seen_.push_back(line);
      ids_.push_back(e.id);
    });
  }
  // The events seen since the last call, matching `prefix`.
  std::vector<std::string> take(const std::string& prefix = "") {
    std::vector<std::string> out;
    for (const auto& line : seen_) {
      if (line.rfind(prefix, 0) == 0) out.push_back(line);
    }
    seen_.clear();
    return out;
  }
  std::vector<std::string> seen_;
  std::vector<uint64_t> ids_;
};

using V = std::vector<std::string>;

TEST_F(MasterEventsTest, ALaunchAndItsEndAppearInOrder) {
  auto a = agent("agent-a", "cpus:2;mem:1024");
  auto s = scheduler("sched-1");
  EXPECT_EQ(take(), (V{"agent_added", "framework_subscribed", "offer_sent"}));
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")}, 0);
  settle();
  a->sendStatus(s->frameworkId, "t1", TaskState::RUNNING);
  a->sendStatus(s->frameworkId, "t1", TaskState::FINISHED);
  settle();
  EXPECT_EQ(take("task"), (V{"task_state_changed t1 TASK_STAGING",
                             "task_state_changed t1 TASK_RUNNING",
                             "task_state_changed t1 TASK_FINISHED"}));
  for (size_t i = 1; i < ids_.size(); ++i) EXPECT_EQ(ids_[i], ids_[i - 1] + 1);
}

TEST_F(MasterEventsTest, DeclinesRescindsAndQuotaAreNamed) {
  auto a = agent("agent-a", "cpus:2;mem:1024");
  auto s = scheduler("sched-1");
  take();
  s->decline({s->offers[0].id}, 0);
  settle();
  EXPECT_EQ(take("offer_removed"), (V{"offer_removed declined"}));
  ASSERT_TRUE(master_->setQuota("eng", std::nullopt, Resources::parse("cpus:1").value()));
  ASSERT_TRUE(master_->setWeight("eng", 2));
  EXPECT_EQ(take("quota"), (V{"quota_changed"}));
}

TEST_F(MasterEventsTest, AnUnreachableAgentTakesItsTasksWithIt) {
  auto a = agent("agent-a", "cpus:2;mem:1024");
  auto s = scheduler("sched-1");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1")}, 0);
  settle();
  take();
  a->autoPong = false;
  advance(5);
  auto seen = take();
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[0], "agent_unreachable");
  EXPECT_EQ(seen[1], "offer_removed agent_unreachable");  // its remaining resources
  EXPECT_EQ(seen[2], "task_state_changed t1 TASK_LOST");
}

}  // namespace
}  // namespace agora::master::testing
