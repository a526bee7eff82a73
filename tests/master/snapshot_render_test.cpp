// The rendered views of the master's state: tasks rendered once and reused by
// /api/v1/state and filtered /api/v1/tasks.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "master/http_api.hpp"
#include "master/snapshot.hpp"
#include "tests/master/view_data.hpp"

namespace agora::master::testing {
namespace {

class SnapshotRenderTest : public ::testing::Test {
 protected:
  void launch(const std::string& frameworkId, const std::string& taskId, TaskState state) {
    state_.frameworks[frameworkId].info.id = frameworkId;
    Agent& agent = state_.agents["a1"];
    agent.id = "a1";
    agent.url = "http://a1:5051";
    TaskInfo info;
    info.taskId = taskId;
    info.resources = *Resources::parse("cpus:1");
    Task& task = state_.addTask(frameworkId, "a1", "*", info);
    TaskStatus status = task.status();
    status.state = state;
    status.message = "say \"hi\"";
    state_.tasks.setStatus(task, status);
    if (isTerminal(state)) state_.completeTask(task.key());
  }
  static TaskFilter filter(const std::string& frameworkId, const std::string& states,
                           const std::string& taskId = "") {
    TaskFilter out{frameworkId, taskId, 0};
    auto parsed = parseTaskStates(states);
    EXPECT_TRUE(parsed) << parsed.error().message;
    out.states = parsed ? *parsed : 0;
    return out;
  }
  static std::vector<std::string> ids(const std::string& body) {
    std::vector<std::string> out;
    nlohmann::json parsed = nlohmann::json::parse(body);
    for (const auto& task : parsed.at("tasks")) out.push_back(task.at("id"));
    return out;
  }

  ViewData state_;
};

TEST_F(SnapshotRenderTest, FiltersTasksAndAssemblesTheStateFromOneRendering) {
  state_.masterId = "M";
  launch("f1", "a", TaskState::RUNNING);
  launch("f2", "b", TaskState::RUNNING);
  launch("f1", "c", TaskState::FINISHED);
  launch("f1", "d", TaskState::STAGING);
  auto snapshot = renderSnapshot(SnapshotInputs{state_.view(), "test"});

  EXPECT_EQ(ids(snapshot->tasksBody), (std::vector<std::string>{"a", "d", "b", "c"}));
  EXPECT_EQ(ids(snapshot->tasksMatching(filter("f1", ""))), (std::vector<std::string>{"a", "d", "c"}));
  EXPECT_EQ(ids(snapshot->tasksMatching(filter("", "TASK_RUNNING"))), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(snapshot->tasksMatching(filter("f1", "TASK_RUNNING"))), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(ids(snapshot->tasksMatching(filter("f3", ""))).empty());

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
  auto snapshot = renderSnapshot(SnapshotInputs{state_.view(), "test"});
  EXPECT_EQ(nlohmann::json::parse(snapshot->tasksBody).at("tasks"), nlohmann::json::array());
  EXPECT_EQ(nlohmann::json::parse(snapshot->stateBody()).at("tasks"), nlohmann::json::array());
  EXPECT_EQ(snapshot->tasksMatching(filter("f1", "TASK_RUNNING")), R"({"tasks":[]})");
}


TEST_F(SnapshotRenderTest, FiltersBySeveralStatesInAnyCaseAndByGroup) {
  launch("f1", "a", TaskState::RUNNING);
  launch("f1", "b", TaskState::FINISHED);
  launch("f1", "c", TaskState::KILLED);
  launch("f2", "d", TaskState::STAGING);
  launch("f2", "e", TaskState::FAILED);
  auto snapshot = renderSnapshot(SnapshotInputs{state_.view(), "test"});
  auto matching = [&](const std::string& states) {
    return ids(snapshot->tasksMatching(filter("", states)));
  };
  EXPECT_EQ(matching("running"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(matching("Killed,task_FAILED"), (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(matching("finished"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(matching("active"), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(matching("terminal"), (std::vector<std::string>{"b", "c", "e"}));
  EXPECT_EQ(matching("staging, finished"), (std::vector<std::string>{"d", "b"}));
  EXPECT_EQ(ids(snapshot->tasksMatching(filter("", "", "c"))), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ids(snapshot->tasksMatching(filter("f2", "", "c"))), std::vector<std::string>{});
}

TEST_F(SnapshotRenderTest, AnUnknownStateIsAnErrorNamingTheValidOnes) {
  auto parsed = parseTaskStates("running,bogus");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("'bogus'"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("TASK_RUNNING, TASK_KILLING, TASK_FINISHED"),
            std::string::npos)
      << parsed.error().message;

  SnapshotCell cell;
  cell.publish(renderSnapshot(SnapshotInputs{state_.view(), "test"}), cell.generation());
  HttpApi api(cell);
  http::Request request;
  request.query = {{"state", "bogus"}};
  http::Response response = api.tasks(request);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("unknown task state 'bogus'"), std::string::npos) << response.body;
  request.query = {{"state", "RUNNING"}};
  EXPECT_EQ(api.tasks(request).status, 200);
}

TEST_F(SnapshotRenderTest, EachTaskShowsItsStatusHistory) {
  launch("f1", "a", TaskState::RUNNING);
  Task* task = state_.findLive({"f1", "a"});
  ASSERT_NE(task, nullptr);
  TaskStatus killed = task->status();
  killed.state = TaskState::KILLED;
  killed.reason = TaskReason::COMMAND_EXITED;
  killed.message = "Task killed";
  killed.exitCode = 143;
  killed.timestamp = 1.7e9;
  state_.tasks.setStatus(*task, killed);
  state_.completeTask({"f1", "a"});
  auto snapshot = renderSnapshot(SnapshotInputs{state_.view(), "test"});
  auto tasks = nlohmann::json::parse(snapshot->tasksBody).at("tasks");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].at("exit_code"), 143);
  const auto& statuses = tasks[0].at("statuses");
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].at("state"), "TASK_RUNNING");
  EXPECT_EQ(statuses[1].at("state"), "TASK_KILLED");
  EXPECT_EQ(statuses[1].at("reason"), "REASON_COMMAND_EXITED");
  EXPECT_EQ(statuses[1].at("message"), "Task killed");
  EXPECT_EQ(statuses[1].at("timestamp"), 1.7e9);
}

}  // namespace
}  // namespace agora::master::testing
