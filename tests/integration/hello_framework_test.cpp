// The hello example on the framework toolkit, against real processes: killed
// -9 at random points and started again until it is done, it ends with
// exactly N finished tasks; two instances sharing ZooKeeper, the leader
// killed, the standby takes over and finishes the same N.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/zookeeper_server.hpp"

namespace agora::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

class HelloFrameworkTest : public ::testing::Test {
 protected:
  std::vector<std::string> helloArgv(int tasks, const std::string& cmd,
                                     std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {binPath("agora-hello"),
                                     "--master",
                                     cluster_.masterEndpoint(),
                                     "--tasks",
                                     std::to_string(tasks),
                                     "--cmd",
                                     cmd};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  // The master's tasks of frameworks named hello: task ID -> state.
  std::map<std::string, std::string> helloTasks() {
    std::set<std::string> hello;
    auto frameworks = cluster_.masterGet("/api/v1/frameworks");
    for (const char* list : {"frameworks", "completed_frameworks"}) {
      for (const auto& f : frameworks.value(list, nlohmann::json::array())) {
        if (f.value("name", "") == "hello") hello.insert(f.value("id", ""));
      }
    }
    std::map<std::string, std::string> out;
    auto tasks = cluster_.masterGet("/api/v1/tasks");
    for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
      if (t.value("name", "") == "hello" || hello.count(t.value("framework_id", ""))) {
        out[t.value("id", "")] = t.value("state", "");
      }
    }
    return out;
  }
  static int count(const std::map<std::string, std::string>& tasks, const std::string& state) {
    int n = 0;
    for (const auto& [id, s] : tasks) n += s == state;
    return n;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  Cluster cluster_;
};

TEST_F(HelloFrameworkTest, KilledAtRandomPointsItEndsWithExactlyNFinishedTasks) {
  cluster_.startMaster();
  cluster_.startAgent();
  constexpr int kTasks = 8, kSequences = 5;
  unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  int kills = 0, launched = 0;
  for (int sequence = 0; sequence < kSequences; ++sequence) {
    auto before = helloTasks();
    std::string workDir = cluster_.root() + "/hello-state-" + std::to_string(sequence);
    int exitCode = -1;
    for (int round = 0; round < 30 && exitCode < 0; ++round) {
      std::string name = "hello" + std::to_string(sequence) + "-" + std::to_string(round);
      auto hello = cluster_.startProcess(
          name, helloArgv(kTasks, "sleep 1.$((RANDOM % 5))", {"--work-dir", workDir}));
      // Early rounds die soon (subscribing, placing, launching, waiting for
      // updates; the first always before its tasks could end); later ones
      // get the time to finish.
      int most = round == 0 ? 900 : round < 6 ? 1500 : 8000;
      exitCode = hello->wait(milliseconds(std::uniform_int_distribution<int>(50, most)(random)));
      if (exitCode >= 0) break;
      hello->signal(SIGKILL);
      hello->wait(milliseconds(5000));
      kills++;
    }
    ASSERT_EQ(exitCode, 0) << slurp(cluster_.root() + "/hello" + std::to_string(sequence) +
                                    "-0.err");
    std::map<std::string, std::string> tasks;
    for (const auto& [id, state] : helloTasks()) {
      if (before.count(id) == 0) tasks[id] = state;
    }
    EXPECT_EQ(count(tasks, "TASK_FINISHED"), kTasks) << nlohmann::json(tasks).dump();
    for (const auto& [id, state] : tasks) {
      EXPECT_TRUE(state == "TASK_FINISHED" || state == "TASK_LOST" || state == "TASK_KILLED")
          << id << " " << state;
    }
    launched += static_cast<int>(tasks.size());
  }
  EXPECT_GE(kills, kSequences);
  std::cout << "hello: " << kSequences << " x " << kTasks << " tasks finished exactly, across "
            << kills << " kill -9s; " << launched << " launched" << std::endl;
}

TEST_F(HelloFrameworkTest, TwoInstancesShareZooKeeperAndTheStandbyFinishesWhenTheLeaderDies) {
  std::string why;
  if (!ZooKeeperServer::available(&why)) GTEST_SKIP() << why;
  ZooKeeperServer zookeeper(cluster_.root() + "/zookeeper");
  cluster_.startMaster();
  cluster_.startAgent();
  constexpr int kTasks = 4;
  std::string zk = zookeeper.url("/frameworks/hello");
  std::string apiA = "127.0.0.1:" + std::to_string(freePort());
  std::string apiB = "127.0.0.1:" + std::to_string(freePort());
  auto a = cluster_.startProcess(
      "hello-a",
      helloArgv(kTasks, "sleep 3", {"--zk", zk, "--http", apiA, "--zk-session-timeout", "3s"}));
  ASSERT_TRUE(
      eventually([&] { return count(helloTasks(), "TASK_RUNNING") == kTasks; }, seconds(30)));
  // The leader's API is advertised through the master.
  auto frameworks = cluster_.masterGet("/api/v1/frameworks")["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0].value("webui_url", ""), "http://" + apiA);
  auto tasks = http::get("http://" + apiA + "/api/v1/tasks", seconds(5));
  ASSERT_TRUE(tasks && tasks->status == 200);
  EXPECT_EQ(nlohmann::json::parse(tasks->body)["tasks"].size(), static_cast<size_t>(kTasks));

  auto b = cluster_.startProcess(
      "hello-b",
      helloArgv(kTasks, "sleep 3", {"--zk", zk, "--http", apiB, "--zk-session-timeout", "3s"}));
  // The standby sends callers to the leader.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = http::get("http://" + apiB + "/api/v1/tasks?x=1", seconds(2));
        return r && r->status == 307;
      },
      seconds(10)));
  auto redirect = http::get("http://" + apiB + "/api/v1/tasks?x=1", seconds(2));
  EXPECT_EQ(redirect->headers["location"], "http://" + apiA + "/api/v1/tasks?x=1");
  a->signal(SIGKILL);  // the leader, mid-way
  a->wait(milliseconds(5000));
  auto killed = steady_clock::now();
  ASSERT_EQ(b->wait(milliseconds(60000)), 0) << slurp(cluster_.root() + "/hello-b.err");
  double took = std::chrono::duration<double>(steady_clock::now() - killed).count();
  std::string err = slurp(cluster_.root() + "/hello-b.err");
  EXPECT_NE(err.find("leads framework 'hello'"), std::string::npos) << err;
  auto ended = helloTasks();
  EXPECT_EQ(count(ended, "TASK_FINISHED"), kTasks) << nlohmann::json(ended).dump();
  EXPECT_EQ(ended.size(), static_cast<size_t>(kTasks));  // the standby launched nothing again
  std::cout << "hello HA: the standby finished " << took << " s after the leader's kill -9"
            << std::endl;
}

}  // namespace
}  // namespace agora::testing
