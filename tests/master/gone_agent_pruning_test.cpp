// Master: the remembered removed ("gone") agents are bounded by age and
// count, their removal times persist across restarts, and a pruned agent that
// returns is admitted again like any agent the master does not know.

#include <set>

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class GoneAgentPruningTest : public WithRegistry<> {
 protected:
  static constexpr double kUnreachableSec = 20;
  static constexpr double kMaxAgeSec = 100;
  static constexpr size_t kMaxCount = 2;

  GoneAgentPruningTest() {
    options_.agentUnreachableTimeout = seconds(kUnreachableSec);
    options_.registryMaxAgentAge = seconds(kMaxAgeSec);
    options_.registryMaxAgentCount = kMaxCount;
  }
  // The agent stops answering: unreachable after 3 missed pings, removed
  // kUnreachableSec later.
  void silence(FakeAgent& agent, const std::string& identity) {
    agent.autoPong = false;
    network_.cutOff(identity);
  }
  std::set<std::string> gone() {
    std::set<std::string> ids;
    for (const auto& [id, time] : master_->state().goneAgents) ids.insert(id);
    return ids;
  }
};

TEST_F(GoneAgentPruningTest, OldestGoPastTheCountTheRestPastTheAgeAcrossRestarts) {
  auto a = agent("agent-a", "cpus:1;mem:64");
  auto b = agent("agent-b", "cpus:1;mem:64");
  auto c = agent("agent-c", "cpus:1;mem:64");
  std::string idA = a->agentId, idB = b->agentId, idC = c->agentId;
  silence(*a, "agent-a");
  advance(10);
  silence(*b, "agent-b");
  advance(10);
  silence(*c, "agent-c");
  advance(20);  // a and b removed (at about 24 s and 34 s), c not yet (44 s)
  ASSERT_EQ(gone(), (std::set<std::string>{idA, idB}));
  double removedB = master_->state().goneAgents.at(idB);
  EXPECT_NEAR(removedB, clock_.wallSeconds() - 6, 1.5);

  advance(10);  // c removed: three past a count of two, the oldest (a) goes
  EXPECT_EQ(gone(), (std::set<std::string>{idB, idC}));

  // Durable: the pruned record is deleted, the others keep their removal time.
  restart();
  EXPECT_EQ(gone(), (std::set<std::string>{idB, idC}));
  EXPECT_DOUBLE_EQ(master_->state().goneAgents.at(idB), removedB);
  EXPECT_EQ(master_->state().agents.count(idA), 0u);

  // Past the age, b goes; c (removed 10 s later) stays until its turn.
  double ageOfB = clock_.wallSeconds() - removedB;
  advance(kMaxAgeSec - ageOfB + 1.5);
  EXPECT_EQ(gone(), (std::set<std::string>{idC}));
  restart();
  EXPECT_EQ(gone(), (std::set<std::string>{idC}));

  // c returns: still remembered, so told to shut down. b returns: forgotten,
  // so admitted again with its ID like an agent this master never knew.
  network_.restore("agent-c");
  c->autoPong = true;
  c->reregister(idC, "cpus:1;mem:64", {});
  settle();
  EXPECT_EQ(c->shutdownAgents.size(), 1u);
  network_.restore("agent-b");
  b->autoPong = true;
  b->reregister(idB, "cpus:1;mem:64", {});
  settle();
  EXPECT_TRUE(b->shutdownAgents.empty());
  ASSERT_EQ(master_->state().agents.count(idB), 1u);
  EXPECT_EQ(master_->state().agents.at(idB).status, AgentStatus::kRegistered);

  advance(kMaxAgeSec);
  EXPECT_TRUE(gone().empty());
}

TEST_F(GoneAgentPruningTest, NothingIsPrunedWithinTheBounds) {
  auto a = agent("agent-a", "cpus:1;mem:64");
  std::string id = a->agentId;
  silence(*a, "agent-a");
  advance(kUnreachableSec + 5);
  ASSERT_EQ(gone(), std::set<std::string>{id});
  advance(kMaxAgeSec - 10);
  EXPECT_EQ(gone(), std::set<std::string>{id});
  restart();
  EXPECT_EQ(gone(), std::set<std::string>{id});
}

}  // namespace
}  // namespace agora::master::testing
