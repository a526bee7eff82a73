// Autoscaling on real processes: an app whose instances burn CPU is scaled
// up to its max from the usage the real agent measures, and back down to its
// min once they idle for the scale-down window.

#include <gtest/gtest.h>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TEST(ServiceAutoscaleTest, BusyInstancesScaleUpAndIdleOnesScaleDownAfterTheWindow) {
  Cluster cluster;
  cluster.startMaster();
  cluster.startAgent("cpus:4;mem:2048;disk:1024;ports:[31000-31100]");
  std::string api = "127.0.0.1:" + std::to_string(freePort());
  auto service = cluster.startService("service", api);
  auto get = [&](const std::string& path) {
    auto r = http::request("GET", "http://" + api + path, "", seconds(5));
    json body = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json::object();
    return body.is_object() ? body : json::object();
  };
  ASSERT_TRUE(eventually([&] { return get("/v1/apps").contains("apps"); }, seconds(20)));

  // Each instance is busy for its first 8 s (a full CPU against 0.1 asked),
  // then idle.
  auto applied = http::request(
      "POST", "http://" + api + "/v1/apps",
      "id: /burn\ninstances: 1\ncpus: 0.1\nmem: 128\n"
      "cmd: \"timeout 8 sh -c 'while :; do :; done'; exec sleep 1000\"\n"
      "autoscale: {min: 1, max: 3, target_cpu: 0.5, interval: 1s, scale_down_window: 4s}\n",
      seconds(5));
  ASSERT_TRUE(applied && applied->status == 200) << (applied ? applied->body : "");
  ASSERT_TRUE(
      eventually([&] { return get("/v1/apps/burn").value("instances", 0) == 3; }, seconds(40)))
      << get("/v1/apps/burn").dump();
  EXPECT_EQ(get("/v1/apps/burn").value("version", 0), 1);
  ASSERT_TRUE(eventually(
      [&] {
        json app = get("/v1/apps/burn");
        return app.value("instances", 0) == 1 && app.value("running", 0) == 1;
      },
      seconds(60)))
      << get("/v1/apps/burn").dump();
  std::string why = get("/v1/apps/burn/why").dump();
  EXPECT_NE(why.find("autoscaler: cpu"), std::string::npos) << why;
  // The two extra instances end killed (their kills may still be under way).
  auto killed = [&] {
    int n = 0;
    for (const auto& t : cluster.masterGet("/api/v1/tasks").value("tasks", json::array())) {
      n += t.value("name", "") == "/burn" && t.value("state", "") == "TASK_KILLED";
    }
    return n;
  };
  EXPECT_TRUE(eventually([&] { return killed() == 2; }, seconds(20))) << killed();
  ASSERT_TRUE(http::request("DELETE", "http://" + api + "/v1/apps/burn", "", seconds(5)));
}

}  // namespace
}  // namespace agora::testing
