// Two agora-service instances on ZooKeeper: the standby redirects callers to
// the leader; the leader is killed -9 in the middle of a rolling update and
// the standby, elected, finishes it from the shared store — with the apps,
// versions, secrets and instances the leader left, and no extra instance.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/zookeeper_server.hpp"

namespace agora::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

json getJson(const std::string& api, const std::string& path) {
  auto r = http::request("GET", "http://" + api + path, "", seconds(3));
  json body = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json::object();
  return body.is_object() ? body : json::object();
}

std::string appSpec(const std::string& sleep) {
  return "id: /web\ninstances: 2\ncpus: 0.1\nmem: 64\ncmd: 'exec sleep " + sleep +
         "'\nupgrade: {min_health: 0.5, max_surge: 1}\n"
         "secrets: {token: {env: TOKEN}}\n";
}

TEST(ServiceHaTest, TheStandbyTakesOverAndFinishesTheDeploymentTheLeaderStarted) {
  std::string why;
  if (!ZooKeeperServer::available(&why)) GTEST_SKIP() << why;
  Cluster cluster;
  ZooKeeperServer zookeeper(cluster.root() + "/zookeeper");
  cluster.startMaster();
  cluster.startAgent("cpus:4;mem:2048;disk:1024;ports:[31000-31100]");
  std::string zk = zookeeper.url("/frameworks/service");
  std::string apiA = "127.0.0.1:" + std::to_string(freePort());
  std::string apiB = "127.0.0.1:" + std::to_string(freePort());
  auto start = [&](const std::string& name, const std::string& api) {
    return cluster.startService(
        name, api,
        {"--work-dir", cluster.root() + "/" + name, "--zk", zk, "--zk-session-timeout", "3s"});
  };
  auto a = start("service-a", apiA);
  ASSERT_TRUE(eventually([&] { return getJson(apiA, "/v1/apps").contains("apps"); }, seconds(30)));
  ASSERT_TRUE(
      http::request("PUT", "http://" + apiA + "/api/v1/secrets/token", "t0k3n", seconds(5)));
  auto v1 = http::request("POST", "http://" + apiA + "/v1/apps", appSpec("1001"), seconds(5));
  ASSERT_TRUE(v1 && v1->status == 200) << (v1 ? v1->body : "");
  ASSERT_TRUE(eventually([&] { return getJson(apiA, "/v1/apps/web").value("running", 0) == 2; },
                         seconds(30)))
      << getJson(apiA, "/v1/apps/web").dump();

  auto b = start("service-b", apiB);
  ASSERT_TRUE(eventually(
      [&] {
        auto r = http::request("GET", "http://" + apiB + "/v1/apps", "", seconds(2));
        return r && r->status == 307;
      },
      seconds(20)));

  // v2, and the leader dies as its deployment starts.
  auto v2 = http::request("POST", "http://" + apiA + "/v1/apps", appSpec("1002"), seconds(5));
  ASSERT_TRUE(v2 && v2->status == 200) << (v2 ? v2->body : "");
  a->signal(SIGKILL);
  a->wait(milliseconds(5000));
  auto killed = steady_clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        json app = getJson(apiB, "/v1/apps/web");
        return app.value("version", 0) == 2 && app["deployment"].is_object() &&
               app["deployment"].value("outcome", "") == "succeeded" &&
               app.value("running", 0) == 2;
      },
      seconds(60)))
      << getJson(apiB, "/v1/apps/web").dump();
  double took = std::chrono::duration<double>(steady_clock::now() - killed).count();
  EXPECT_EQ(cluster.masterGet("/api/v1/frameworks")["frameworks"][0].value("webui_url", ""),
            "http://" + apiB);
  // What the leader stored is the new leader's: the secret too.
  EXPECT_EQ(getJson(apiB, "/api/v1/secrets")["secrets"][0].value("name", ""), "token");
  // Two of v1 and two of v2, nothing launched twice.
  int launched = 0, running = 0;
  for (const auto& t : cluster.masterGet("/api/v1/tasks").value("tasks", json::array())) {
    if (t.value("name", "") != "/web") continue;
    ++launched;
    running += t.value("state", "") == "TASK_RUNNING";
  }
  EXPECT_EQ(launched, 4);
  EXPECT_EQ(running, 2);
  std::cout << "service HA: the standby finished the deployment " << took
            << " s after the leader's kill -9" << std::endl;
  ASSERT_TRUE(http::request("DELETE", "http://" + apiB + "/v1/apps/web", "", seconds(5)));
}

}  // namespace
}  // namespace agora::testing
