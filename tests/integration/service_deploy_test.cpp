// agora-service deploying real busybox httpd instances on a real master and
// agent: health checks run by the executors, a killed instance replaced, a
// rolling update that never has fewer than 3 healthy instances (polled
// every 100 ms), a version that fails its health check rolled back by
// itself, and the framework SIGKILLed mid-deployment finishing it after a
// restart without an extra instance.

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <thread>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// `marker` made unique to this test process: instances of another run
// still being torn down are not counted.
std::string tagged(const std::string& marker) { return marker + "." + std::to_string(getpid()); }

// Serves its sandbox, where /health exists; `marker` tells versions apart
// (and lets the test find the processes).
std::string webSpec(const std::string& marker, const std::string& healthPath = "/health") {
  return "id: /web\ninstances: 3\ncpus: 0.1\nmem: 128\n"
         "cmd: 'echo ok > health && exec busybox httpd -f -p $PORT_HTTP -h . -r " +
         tagged(marker) +
         "'\n"
         "ports: [{name: http}]\n"
         "health_checks: [{http: {port: http, path: " +
         healthPath +
         "}, grace: 2s, interval: 500ms, timeout: 400ms, max_failures: 2}]\n"
         "upgrade: {min_health: 1.0, max_surge: 1, max_failures: 2, progress_deadline: 60s}\n"
         "backoff: {initial: 200ms, factor: 1.5, max: 2s}\n";
}

// The command line of a process ("" when gone), NULs as spaces.
std::string cmdlineOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : cmdline) c = c == '\0' ? ' ' : c;
  return cmdline;
}

pid_t parentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  return close == std::string::npos ? 0 : atoi(stat.c_str() + close + 4);
}

// Host pids of the httpd processes whose command line has `marker` (not the
// short-lived children httpd forks for each request, health checks' too).
std::vector<pid_t> processesWith(const std::string& marker) {
  auto matches = [&](pid_t pid) {
    std::string cmdline = cmdlineOf(pid);
    return cmdline.find("httpd") != std::string::npos &&
           cmdline.find(tagged(marker)) != std::string::npos;
  };
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  while (dirent* e = readdir(proc)) {
    pid_t pid = atoi(e->d_name);
    if (pid > 0 && matches(pid) && !matches(parentOf(pid))) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

class ServiceDeployTest : public ::testing::Test {
 protected:
  std::unique_ptr<Child> startService() {
    return cluster_.startService("service" + std::to_string(starts_++), api_);
  }
  // The JSON object of a 200 answer; an empty object otherwise.
  json get(const std::string& path) {
    auto r = http::request("GET", "http://" + api_ + path, "", seconds(5));
    if (!r || r->status != 200) return json::object();
    json body = json::parse(r->body, nullptr, false);
    return body.is_object() ? body : json::object();
  }
  Result<http::ClientResponse> post(const std::string& path, const std::string& body) {
    return http::request("POST", "http://" + api_ + path, body, seconds(5));
  }
  // The app's live tasks, their versions and health as the framework sees them.
  json tasks() { return get("/v1/apps/web").value("tasks", json::array()); }
  int healthy(const std::string& version = "") {
    int n = 0;
    for (const auto& t : tasks()) {
      n += t["healthy"] == true && t.value("state", "") == "TASK_RUNNING" &&
           (version.empty() || t.value("version", "") == version);
    }
    return n;
  }
  json deployment() { return get("/v1/apps/web").value("deployment", json()); }
  bool deployed(int64_t version) {
    json d = deployment();
    return d.is_object() && d.value("to_version", 0) == version &&
           d.value("outcome", "") == "succeeded";
  }
  // Master tasks of the app ever launched.
  size_t launched() {
    size_t n = 0;
    auto all = cluster_.masterGet("/api/v1/tasks");
    for (const auto& t : all.value("tasks", json::array())) n += t.value("name", "") == "/web";
    return n;
  }

  Cluster cluster_;
  std::string api_ = "127.0.0.1:" + std::to_string(freePort());
  int starts_ = 0;
};

TEST_F(ServiceDeployTest, HealthChecksRollingUpdatesRollbacksAndAKilledFramework) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:4;mem:2048;disk:1024;ports:[31000-31100]");
  auto service = startService();
  ASSERT_TRUE(eventually([&] { return get("/v1/apps").contains("apps"); }, seconds(20)));

  // v1: three instances become healthy by the executors' checks.
  auto applied = post("/v1/apps", webSpec("/v1"));
  ASSERT_TRUE(applied && applied->status == 200) << (applied ? applied->body : "");
  ASSERT_TRUE(eventually([&] { return deployed(1) && healthy() == 3; }, seconds(60)))
      << get("/v1/apps/web").dump();

  // An instance's process killed: replaced, three healthy again.
  auto v1 = processesWith("/v1");
  ASSERT_EQ(v1.size(), 3u);
  kill(v1[0], SIGKILL);
  ASSERT_TRUE(eventually(
      [&] {
        auto now = processesWith("/v1");
        return now.size() == 3 && std::find(now.begin(), now.end(), v1[0]) == now.end() &&
               healthy() == 3;
      },
      seconds(60)));

  // v2: a rolling update never below three healthy, never above four live.
  applied = post("/v1/apps", webSpec("/v2"));
  ASSERT_TRUE(applied && applied->status == 200);
  int minHealthy = 3;
  size_t maxLive = 0;
  auto deadline = std::chrono::steady_clock::now() + seconds(90);
  while (!deployed(2) && std::chrono::steady_clock::now() < deadline) {
    minHealthy = std::min(minHealthy, healthy());
    maxLive = std::max(maxLive, tasks().size());
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(deployed(2)) << get("/v1/apps/web").dump();
  EXPECT_EQ(minHealthy, 3);
  EXPECT_LE(maxLive, 4u);
  EXPECT_EQ(healthy("2"), 3);
  EXPECT_TRUE(processesWith("/v1").empty());

  // v3 fails its health check (404): rolled back to v2's spec as v4.
  applied = post("/v1/apps", webSpec("/v3", "/missing"));
  ASSERT_TRUE(applied && applied->status == 200);
  ASSERT_TRUE(eventually(
      [&] {
        json d = deployment();
        return d.is_object() && d.value("rollback", false) && d.value("to_version", 0) == 4 &&
               d.value("outcome", "") == "succeeded";
      },
      seconds(90)))
      << get("/v1/apps/web").dump();
  EXPECT_EQ(healthy(), 3);
  EXPECT_TRUE(processesWith("/v3").empty());
  EXPECT_EQ(processesWith("/v2").size(), 3u);

  // v5, and the framework SIGKILLed once the first new instance runs.
  size_t before = launched();
  applied = post("/v1/apps", webSpec("/v5"));
  ASSERT_TRUE(applied && applied->status == 200);
  ASSERT_TRUE(eventually([&] { return processesWith("/v5").size() == 1; }, seconds(30)));
  service->signal(SIGKILL);
  service->wait(milliseconds(5000));
  service = startService();
  ASSERT_TRUE(eventually([&] { return deployed(5); }, seconds(90))) << get("/v1/apps/web").dump();
  EXPECT_EQ(healthy("5"), 3);
  EXPECT_EQ(processesWith("/v5").size(), 3u);
  EXPECT_TRUE(processesWith("/v2").empty());
  // What started before the kill was kept: three v5 instances launched in all.
  EXPECT_EQ(launched(), before + 3);
}

// `agora service` as a person uses it: the framework found through the
// master, apply showing the deployment and exiting 0, a broken version's
// apply exiting 1 once rolled back, scale, status, why, history.
TEST_F(ServiceDeployTest, TheCliAppliesFollowsAndExplains) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:4;mem:2048;disk:1024;ports:[31000-31100]");
  auto service = startService();
  ASSERT_TRUE(eventually([&] { return get("/v1/apps").contains("apps"); }, seconds(20)));
  // The master lists it once it subscribed: the CLI finds it there.
  ASSERT_TRUE(eventually(
      [&] {
        auto f = cluster_.masterGet("/api/v1/frameworks")["frameworks"];
        return f.is_array() && f.size() == 1 && f[0].value("active", false);
      },
      seconds(20)));
  std::string file = cluster_.root() + "/web.yaml";
  auto agora = [&](std::vector<std::string> args, std::string* out, std::string* err) {
    args.insert(args.begin(), {binPath("agora"), "--master", cluster_.masterHttp(), "service"});
    return cluster_.runCommand(args, out, err, seconds(120));
  };
  std::ofstream(file) << webSpec("/c1");
  std::string out, err;
  ASSERT_EQ(agora({"apply", "-f", file}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("/web: version 1"), std::string::npos) << out;
  EXPECT_NE(out.find("succeeded: 3 of 3 instances healthy"), std::string::npos) << out;

  ASSERT_EQ(agora({"status", "/web"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("3 wanted, 3 healthy"), std::string::npos) << out;
  ASSERT_EQ(agora({"scale", "web", "4"}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("succeeded: 4 of 4 instances healthy"), std::string::npos) << out;
  EXPECT_EQ(processesWith("/c1").size(), 4u) << "scaling restarted nothing";

  // A version that cannot start: rolled back; the CLI says so and exits 1.
  std::ofstream(file, std::ios::trunc) << webSpec("/c2", "/missing");
  EXPECT_EQ(agora({"apply", "-f", file}, &out, &err), 1) << out << err;
  EXPECT_NE(err.find("rolled back"), std::string::npos) << err;
  EXPECT_EQ(processesWith("/c1").size(), 4u);

  ASSERT_EQ(agora({"history", "/web"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("-r /c2"), std::string::npos)
      << "history lists the failed version too: " << out;
  ASSERT_EQ(agora({"why", "/web"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("4 of 4 instances live"), std::string::npos) << out;

  // An app that cannot fit: why says what it needs and what was offered.
  std::ofstream(file, std::ios::trunc)
      << "id: /big\ninstances: 1\ncpus: 64\nmem: 16\ncmd: 'sleep 1000'\n";
  ASSERT_EQ(agora({"apply", "-f", file, "--detach"}, &out, &err), 0) << err;
  ASSERT_TRUE(eventually(
      [&] {
        agora({"why", "/big"}, &out, &err);
        return out.find("needs cpus 64 mem 16") != std::string::npos;
      },
      seconds(30)))
      << out;
  EXPECT_NE(out.find("cpus"), std::string::npos) << out;
  EXPECT_EQ(agora({"status", "/nope"}, &out, &err), 1);
  EXPECT_NE(err.find("no app /nope"), std::string::npos) << err;
}

}  // namespace
}  // namespace agora::testing
