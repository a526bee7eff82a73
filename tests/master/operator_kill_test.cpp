// POST /api/v1/tasks/ID/kill: an operator kills a task of any framework.

#include <future>
#include <thread>

#include "master/http_api.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class OperatorKillTest : public MasterTest {
 protected:
  // Calls the handler on another thread (it waits for the loop) while this
  // thread runs the loop, as the master's real loop would.
  http::Response kill(const std::string& path, std::string body = "") {
    http::Request request;
    request.method = "POST";
    request.path = path;
    request.body = std::move(body);
    auto result = std::async(std::launch::async, [&] { return api_.killTask(request); });
    while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      loop_.runUntilIdle();
      std::this_thread::yield();
    }
    settle();
    return result.get();
  }
  // A scheduler that launched `taskId` on agent `a`.
  std::unique_ptr<FakeScheduler> launch(const std::string& identity, const std::string& taskId) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->subscribe(identity);
    settle();
    EXPECT_FALSE(s->offers.empty());
    if (s->offers.empty()) return s;
    s->accept({s->offers.back().id}, {makeTask(taskId, "cpus:0.5;mem:64")});
    settle();
    return s;
  }
  std::string error(const http::Response& response) {
    return nlohmann::json::parse(response.body).value("error", "");
  }

  HttpApi api_{master_->snapshotCell(), loop_, *master_};
};

TEST_F(OperatorKillTest, SendsTheKillToTheTasksAgent) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  auto s = launch("sched-1", "t1");
  std::string frameworkId = s->offers.back().frameworkId;
  ASSERT_NE(task(frameworkId, "t1"), nullptr);

  http::Response response = kill("/api/v1/tasks/t1/kill", R"({"reason":"test"})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["framework_id"], frameworkId);
  EXPECT_EQ(body["agent_id"], a->agentId);
  EXPECT_EQ(body["state"], "TASK_STAGING");
  EXPECT_EQ(a->kills, std::vector<std::string>{"t1"});

  // Once it has ended, a kill is refused and nothing is sent.
  a->sendStatus(frameworkId, "t1", TaskState::KILLED);
  settle();
  response = kill("/api/v1/tasks/t1/kill");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(error(response), "task 't1' has already ended (TASK_KILLED)");
  EXPECT_EQ(a->kills.size(), 1u);
}

TEST_F(OperatorKillTest, RefusesUnknownAndAmbiguousIds) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  http::Response response = kill("/api/v1/tasks/nope/kill");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(error(response), "no task 'nope' is known to the master (GET /api/v1/tasks lists them)");
  EXPECT_EQ(kill("/api/v1/tasks//kill").status, 404);
  EXPECT_EQ(kill("/api/v1/tasks/x/stop").status, 404);
  EXPECT_EQ(kill("/api/v1/tasks/x/kill", "[1]").status, 400);

  auto s1 = launch("sched-1", "same");
  auto s2 = launch("sched-2", "same");
  response = kill("/api/v1/tasks/same/kill");
  EXPECT_EQ(response.status, 409);
  EXPECT_NE(error(response).find("several frameworks have a task 'same'"), std::string::npos);
  EXPECT_TRUE(a->kills.empty());
  std::string second = s2->offers.back().frameworkId;
  response = kill("/api/v1/tasks/same/kill", nlohmann::json{{"framework_id", second}}.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(nlohmann::json::parse(response.body)["framework_id"], second);
  EXPECT_EQ(a->kills, std::vector<std::string>{"same"});
}

}  // namespace
}  // namespace agora::master::testing
