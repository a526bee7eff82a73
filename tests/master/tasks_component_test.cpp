// The tasks component alone: launches, status updates from agents, the
// master's own updates, readmission from a re-registering agent, kills and
// reconciliation, with what it sends and publishes.

#include "master/tasks/tasks.hpp"

#include <gmock/gmock.h>

#include <capnp/message.h>

#include "tests/master/component_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::ElementsAre;

class TasksTest : public ComponentTest {
 protected:
  TasksTest() {
    addAgent("agent-a", "cpus:4;mem:1024");
    addAgent("agent-b", "cpus:4;mem:1024");
    addFramework("f1", "sched-1");
  }
  const Task& launch(const std::string& taskId, const std::string& agentId = "agent-a") {
    return tasks_.launch("f1", agentId, "*", makeTask(taskId, "cpus:1"));
  }
  // A STATUS_UPDATE from `agentId` as its agent sends it.
  void update(const std::string& agentId, const std::string& taskId, TaskState state) {
    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<schema::StatusUpdate>();
    out.setFrameworkId("f1");
    TaskStatus status;
    status.taskId = taskId;
    status.state = state;
    status.uuid = std::string(16, static_cast<char>('0' + static_cast<int>(state)));
    toCapnp(status, out.initStatus());
    tasks_.onStatusUpdate(directory_.agents.at(agentId), out.asReader());
  }
  std::vector<std::string> states() {
    settle();
    std::vector<std::string> out;
    for (const TaskStatus& s : scheduler_.updates) out.push_back(taskStateName(s.state));
    scheduler_.updates.clear();
    return out;
  }

  FakeScheduler scheduler_{network_, "sched-1"};
  FakeAgent agentA_{network_, "agent-a"};
  Tasks tasks_{ctx_, TaskOptions{}};
};

TEST_F(TasksTest, LaunchedTasksAreIndexedOnTheirAgentAndFrameworkUntilTheyEnd) {
  launch("t1");
  launch("t2", "agent-b");
  EXPECT_EQ(tasks_.onAgent("agent-a").size(), 1u);
  EXPECT_EQ(tasks_.ofFramework("f1").size(), 2u);
  EXPECT_EQ(tasks_.findLive({"f1", "t1"})->state, TaskState::STAGING);
  update("agent-a", "t1", TaskState::RUNNING);
  update("agent-a", "t1", TaskState::FINISHED);
  EXPECT_THAT(states(), ElementsAre("TASK_RUNNING", "TASK_FINISHED"));
  EXPECT_EQ(tasks_.findLive({"f1", "t1"}), nullptr);
  EXPECT_EQ(tasks_.find({"f1", "t1"})->state, TaskState::FINISHED);
  EXPECT_TRUE(tasks_.onAgent("agent-a").empty());
  EXPECT_EQ(tasks_.ofFramework("f1").size(), 1u);
  EXPECT_THAT(published(), ElementsAre("task_state_changed", "task_state_changed",
                                       "task_state_changed", "task_state_changed"));
}

TEST_F(TasksTest, OnlyTheAgentRunningATaskSpeaksForIt) {
  launch("t1");
  update("agent-b", "t1", TaskState::FAILED);
  EXPECT_TRUE(states().empty());
  EXPECT_EQ(tasks_.findLive({"f1", "t1"})->state, TaskState::STAGING);
  EXPECT_EQ(metrics_.rejectedCount("forged_update"), 1u);
}

TEST_F(TasksTest, TheMastersOwnUpdatesFollowTheFrameworksPartitionAwareness) {
  addFramework("f2", "sched-2", /*partitionAware=*/true);
  FakeScheduler aware{network_, "sched-2"};
  launch("t1");
  tasks_.launch("f2", "agent-a", "*", makeTask("t2", "cpus:1"));
  tasks_.failAllOnAgent("agent-a", TaskState::UNREACHABLE, TaskState::LOST,
                        TaskReason::AGENT_UNREACHABLE, "agent-a is unreachable");
  settle();
  EXPECT_THAT(states(), ElementsAre("TASK_LOST"));  // terminal: t1 is completed
  ASSERT_EQ(aware.updates.size(), 1u);
  EXPECT_EQ(aware.updates[0].state, TaskState::UNREACHABLE);  // still live
  EXPECT_EQ(tasks_.findLive({"f1", "t1"}), nullptr);
  EXPECT_NE(tasks_.findLive({"f2", "t2"}), nullptr);
}

TEST_F(TasksTest, AReregisteringAgentTakesItsTasksBackAndTheFrameworkHearsOfIt) {
  launch("t1");
  tasks_.fail({"f1", "t1"}, TaskState::UNREACHABLE, TaskState::UNREACHABLE,
              TaskReason::AGENT_UNREACHABLE, "gone for a while");
  states();
  TaskStatus running;
  running.taskId = "t1";
  running.state = TaskState::RUNNING;
  // Reported by agent-b now (it moved, as far as the master can tell).
  tasks_.readmit("agent-b", "f1", "*", makeTask("t1", "cpus:1"), running, "/sandbox/t1");
  EXPECT_THAT(states(), ElementsAre("TASK_RUNNING"));
  EXPECT_TRUE(tasks_.onAgent("agent-a").empty());
  EXPECT_EQ(tasks_.onAgent("agent-b").size(), 1u);
  EXPECT_EQ(tasks_.findLive({"f1", "t1"})->sandbox(), "/sandbox/t1");
  EXPECT_EQ(tasks_.usedOnAgent("agent-b").at({"f1", "*"}).toString(), "cpus:1");
}

TEST_F(TasksTest, KillsGoToTheTasksAgentAndUnknownTasksAreAnswered) {
  launch("t1");
  capnp::MallocMessageBuilder message;
  auto ref = message.initRoot<schema::TaskRef>();
  ref.setTaskId("t1");
  tasks_.onKill(directory_.frameworks.at("f1"), ref.asReader());
  settle();
  EXPECT_THAT(agentA_.kills, ElementsAre("t1"));
  ref.setTaskId("nope");
  tasks_.onKill(directory_.frameworks.at("f1"), ref.asReader());
  EXPECT_THAT(states(), ElementsAre("TASK_LOST"));
  auto killed = tasks_.killByOperator("t1", "", "maintenance");
  ASSERT_TRUE(killed) << killed.error().message;
  EXPECT_EQ(killed->agentId, "agent-a");
  directory_.agents.at("agent-a").status = AgentStatus::kUnreachable;
  EXPECT_EQ(tasks_.killByOperator("t1", "f1", "again").error().code, ErrorCode::kUnavailable);
}

TEST_F(TasksTest, ReconciliationSaysWhereAnUnknownTaskWas) {
  addFramework("f2", "sched-2", /*partitionAware=*/true);
  FakeScheduler aware{network_, "sched-2"};
  directory_.gone.insert("agent-z");
  capnp::MallocMessageBuilder message;
  auto refs = message.initRoot<schema::Call>().initReconcile(2);
  refs[0].setTaskId("t9");
  refs[0].setAgentId("agent-z");
  refs[1].setTaskId("t8");
  tasks_.onReconcile(directory_.frameworks.at("f2"), refs.asReader());
  settle();
  ASSERT_EQ(aware.updates.size(), 2u);
  EXPECT_EQ(aware.updates[0].state, TaskState::GONE);
  EXPECT_EQ(aware.updates[1].state, TaskState::UNKNOWN);
}

}  // namespace
}  // namespace agora::master::testing
