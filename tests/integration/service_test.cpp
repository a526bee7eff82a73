// agora-service against real processes: apps applied over its API run on a
// real agent; killed -9 and restarted it keeps them without launching twice;
// bad specs are refused with where and why; a deleted app's tasks end.

#include <gtest/gtest.h>
#include <signal.h>

#include <map>

#include "common/http_client.hpp"
#include "tests/kit/sse_follower.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<Child> startService() {
    return cluster_.startService("service" + std::to_string(starts_++), api_);
  }
  Result<http::ClientResponse> call(const std::string& method, const std::string& path,
                                    const std::string& body = "") {
    return http::request(method, "http://" + api_ + path, body, seconds(5));
  }
  // The master's tasks of the app: ID -> state.
  std::map<std::string, std::string> appTasks(const std::string& app) {
    std::map<std::string, std::string> out;
    auto tasks = cluster_.masterGet("/api/v1/tasks");
    for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
      if (t.value("name", "") == app) out[t.value("id", "")] = t.value("state", "");
    }
    return out;
  }
  int count(const std::map<std::string, std::string>& tasks, const std::string& state) {
    int n = 0;
    for (const auto& [id, s] : tasks) n += s == state;
    return n;
  }

  Cluster cluster_;
  std::string api_ = "127.0.0.1:" + std::to_string(freePort());
  int starts_ = 0;
};

TEST_F(ServiceTest, AppsRunSurviveAKilledFrameworkAndGoWhenDeleted) {
  cluster_.startMaster();
  cluster_.startAgent();
  auto service = startService();
  ASSERT_TRUE(eventually(
      [&] {
        auto r = call("GET", "/v1/apps");
        return r && r->status == 200;
      },
      seconds(20)));

  kit::testing::Follower events("http://" + api_ + "/v1/events");
  auto applied = call("POST", "/v1/apps",
                      "id: /shop/web\ninstances: 3\ncmd: 'sleep 1000'\nports: [{name: http}]\n");
  ASSERT_TRUE(applied && applied->status == 200) << (applied ? applied->body : "");
  ASSERT_TRUE(
      eventually([&] { return count(appTasks("/shop/web"), "TASK_RUNNING") == 3; }, seconds(30)));
  // The app's progress as `app` events on the framework's stream.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& m : events.messages()) {
          auto data = nlohmann::json::parse(m.data, nullptr, false);
          if (m.event == "app" && data.value("id", "") == "/shop/web" &&
              data.value("running", 0) == 3) {
            return true;
          }
        }
        return false;
      },
      seconds(10)))
      << events.raw();
  events.stop();
  auto frameworks = cluster_.masterGet("/api/v1/frameworks")["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0].value("webui_url", ""), "http://" + api_);

  service->signal(SIGKILL);
  service->wait(milliseconds(5000));
  service = startService();
  ASSERT_TRUE(eventually(
      [&] {
        auto r = call("GET", "/v1/apps");
        return r && r->status == 200 &&
               nlohmann::json::parse(r->body)["apps"][0].value("running", 0) == 3;
      },
      seconds(30)));
  EXPECT_EQ(appTasks("/shop/web").size(), 3u);  // adopted, nothing launched twice

  auto bad = call("POST", "/v1/apps", "id: /x\ncmd: y\ninstanses: 2\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("request body:3:1: instanses: unknown field"), std::string::npos)
      << bad->body;
  auto unknown = call("GET", "/v1/apps/nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  auto removed = call("DELETE", "/v1/apps/shop/web");
  ASSERT_TRUE(removed && removed->status == 200) << (removed ? removed->body : "");
  EXPECT_TRUE(
      eventually([&] { return count(appTasks("/shop/web"), "TASK_KILLED") == 3; }, seconds(30)));
}

}  // namespace
}  // namespace agora::testing
