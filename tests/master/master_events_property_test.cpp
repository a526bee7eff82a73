// Property: the cluster as the master's events describe it (ClusterView,
// folded from the bus alone) equals the master's own state, after every
// step of random operation sequences: agents joining, going silent and
// coming back, frameworks subscribing, launching, declining, killing,
// tearing down and losing their schedulers, tasks changing state.

#include <random>

#include "master/events/cluster_view.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class MasterEventsPropertyTest : public MasterTest {
 protected:
  MasterEventsPropertyTest() {
    master_->events().subscribe(
        [this](const std::shared_ptr<const events::Event>& e) { view_.apply(*e); });
  }

  // Where the view and the state disagree; empty when they agree.
  std::string difference() {
    MasterView state = master_->state();
    std::ostringstream out;
    if (state.agents.size() != view_.agents.size()) {
      out << state.agents.size() << " agents, the events say " << view_.agents.size() << "; ";
    }
    for (const auto& [id, agent] : state.agents) {
      auto it = view_.agents.find(id);
      if (it == view_.agents.end()) {
        out << "agent " << id << " missing; ";
      } else if (it->second.reachable != (agent.status == AgentStatus::kRegistered)) {
        out << "agent " << id << " is " << agentStatusName(agent.status) << "; ";
      }
    }
    if (state.frameworks.size() != view_.frameworks.size()) {
      out << state.frameworks.size() << " frameworks, the events say " << view_.frameworks.size()
          << "; ";
    }
    for (const auto& [id, framework] : state.frameworks) {
      auto it = view_.frameworks.find(id);
      if (it == view_.frameworks.end()) {
        out << "framework " << id << " missing; ";
      } else if (it->second.connected != framework.connected) {
        out << "framework " << id << " connected=" << framework.connected << "; ";
      }
    }
    size_t tasks = 0;
    state.tasks.forEach([&](const Task& task) {
      ++tasks;
      auto it = view_.tasks.find(task.key());
      if (it == view_.tasks.end()) {
        out << "task " << task.id << " missing; ";
      } else if (it->second.state != task.state || it->second.agentId != task.agentId.get()) {
        out << "task " << task.id << " is " << taskStateName(task.state) << " on "
            << task.agentId.get() << ", the events say " << taskStateName(it->second.state)
            << " on " << it->second.agentId << "; ";
      }
    });
    if (tasks != view_.tasks.size()) {
      out << tasks << " tasks, the events say " << view_.tasks.size() << "; ";
    }
    if (state.offers.size() != view_.offers.size()) {
      out << state.offers.size() << " offers, the events say " << view_.offers.size() << "; ";
    }
    for (const auto& [id, offer] : state.offers) {
      if (!view_.offers.count(id)) out << "offer " << id << " missing; ";
    }
    return out.str();
  }

  events::ClusterView view_;
};

TEST_F(MasterEventsPropertyTest, TheEventsDescribeTheMastersStateAfterEveryStep) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
    std::vector<std::unique_ptr<FakeAgent>> agents;
    std::vector<std::unique_ptr<FakeScheduler>> schedulers;
    std::vector<std::pair<FakeScheduler*, std::string>> launched;  // (scheduler, task)
    int next = 0;
    for (int step = 0; step < 60; ++step) {
      std::string name = "s" + std::to_string(seed) + "-" + std::to_string(next++);
      switch (pick(10)) {
        case 0:
          agents.push_back(agent("agent-" + name, "cpus:4;mem:4096"));
          break;
        case 1:
          schedulers.push_back(scheduler("sched-" + name, name, pick(2) ? 0 : 5));
          break;
        case 2:
        case 3: {  // launch on an outstanding offer (perhaps one no longer valid)
          if (schedulers.empty()) break;
          FakeScheduler& s = *schedulers[pick(schedulers.size())];
          if (s.offers.empty()) break;
          std::string offer = s.offers[pick(s.offers.size())].id;
          s.accept({offer}, {makeTask("t-" + name, "cpus:0.5;mem:64")}, 0);
          launched.emplace_back(&s, "t-" + name);
          settle();
          break;
        }
        case 4: {  // an agent reports on one of its tasks
          if (agents.empty()) break;
          FakeAgent& a = *agents[pick(agents.size())];
          if (a.runTasks.empty()) break;
          const auto& [frameworkId, task] = a.runTasks[pick(a.runTasks.size())];
          static const TaskState kStates[] = {TaskState::RUNNING, TaskState::FINISHED,
                                              TaskState::FAILED, TaskState::KILLED};
          a.sendStatus(frameworkId, task.taskId, kStates[pick(4)]);
          settle();
          break;
        }
        case 5:
          if (!schedulers.empty()) {
            FakeScheduler& s = *schedulers[pick(schedulers.size())];
            auto offers = s.outstandingOffers();
            if (!offers.empty()) s.decline({offers[pick(offers.size())]}, pick(2) ? 0 : 1);
            settle();
          }
          break;
        case 6:
          if (!launched.empty()) {
            auto& [s, task] = launched[pick(launched.size())];
            bool alive = false;
            for (const auto& held : schedulers) alive = alive || held.get() == s;
            if (alive) s->kill(task);
            settle();
          }
          break;
        case 7:  // an agent goes silent, or answers again
          if (!agents.empty()) {
            FakeAgent& a = *agents[pick(agents.size())];
            a.autoPong = !a.autoPong;
          }
          break;
        case 8:  // a scheduler goes away: torn down, or gone silent
          if (!schedulers.empty() && pick(3) == 0) {
            size_t i = pick(schedulers.size());
            if (pick(2)) {
              schedulers[i]->teardown();
            } else {
              schedulers[i]->autoHeartbeat = false;
            }
            settle();
          }
          break;
        default:
          advance(0.1 * static_cast<double>(1 + pick(20)));
          break;
      }
      std::string diff = difference();
      ASSERT_EQ(diff, "") << "after step " << step;
    }
  }
}

}  // namespace
}  // namespace agora::master::testing
