// The rendered views of the master's state: tasks rendered once and reused by
// /api/v1/state and filtered /api/v1/tasks.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "master/snapshot.hpp"

namespace agora::master::testing {
namespace {

class SnapshotRenderTest : public ::testing::Test {
 protected:
  void launch(const std::string& frameworkId, const std::string& taskId, TaskState state) {
    Framework& framework = state_.frameworks[frameworkId];
    framework.info.id = frameworkId;
    Agent& agent = state_.agents["a1"];
    agent.id = "a1";
    agent.url = "http://a1:5051";
    TaskInfo info;
    info.taskId = taskId;
    info.resources = *Resources::parse("cpus:1");
    Task& task = state_.addTask(framework, agent, "*", info);
    TaskStatus status = task.status();
    status.state = state;
    status.message = "say \"hi\"";
    state_.tasks.setStatus(task, status);
    if (isTerminal(state)) state_.completeTask(task.key());
  }
  static std::vector<std::string> ids(const std::string& body) {
    std::vector<std::string> out;
    nlohmann::json parsed = nlohmann::json::parse(body);
    for (const auto& task : parsed.at("tasks")) out.push_back(task.at("id"));
    return out;
  }

  MasterState state_;
};

TEST_F(SnapshotRenderTest, FiltersTasksAndAssemblesTheStateFromOneRendering) {
  state_.masterId = "M";
  launch("f1", "a", TaskState::RUNNING);
  launch("f2", "b", TaskState::RUNNING);
  launch("f1", "c", TaskState::FINISHED);
  launch("f1", "d", TaskState::STAGING);
  auto snapshot = renderSnapshot(SnapshotInputs{state_, "test"});

  EXPECT_EQ(ids(snapshot->tasksBody), (std::vector<std::string>{"a", "d", "b", "c"}));
  EXPECT_EQ(ids(snapshot->tasksMatching("f1", "")), (std::vector<std::string>{"a", "d", "c"}));
  EXPECT_EQ(ids(snapshot->tasksMatching("", "TASK_RUNNING")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(snapshot->tasksMatching("f1", "TASK_RUNNING")), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(ids(snapshot->tasksMatching("f3", "")).empty());

  auto state = nlohmann::json::parse(snapshot->stateBody());
  EXPECT_EQ(state.at("master").at("id"), "M");
  EXPECT_EQ(state.at("agents").size(), 1u);
  EXPECT_EQ(state.at("frameworks").size(), 2u);
  ASSERT_EQ(state.at("tasks").size(), 4u);
  EXPECT_EQ(state.at("tasks")[0].at("message"), "say \"hi\"");
  EXPECT_EQ(state.at("tasks")[0].at("agent_url"), "http://a1:5051");
  EXPECT_EQ(state.at("tasks"), nlohmann::json::parse(snapshot->tasksBody).at("tasks"));
}

TEST_F(SnapshotRenderTest, AMasterWithoutTasksRendersEmptyArrays) {
  auto snapshot = renderSnapshot(SnapshotInputs{state_, "test"});
  EXPECT_EQ(nlohmann::json::parse(snapshot->tasksBody).at("tasks"), nlohmann::json::array());
  EXPECT_EQ(nlohmann::json::parse(snapshot->stateBody()).at("tasks"), nlohmann::json::array());
  EXPECT_EQ(snapshot->tasksMatching("f1", "TASK_RUNNING"), R"({"tasks":[]})");
}

}  // namespace
}  // namespace agora::master::testing
