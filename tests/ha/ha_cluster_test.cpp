// Highly available masters as processes: three agora-master candidates on a
// real ZooKeeper, an agent and a scheduler that find the leader through it.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/event_loop.hpp"
#include "common/http_client.hpp"
#include "common/zk/zk_session.hpp"
#include "common/subprocess.hpp"
#include "frameworks/sdk/cluster_events.hpp"
#include "frameworks/sdk/scheduler_driver.hpp"
#include "tests/support/zookeeper_server.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kMasters = 3;

class HaClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ZooKeeperServer::available(&why)) GTEST_SKIP() << why;
    zookeeper_ = std::make_unique<ZooKeeperServer>(cluster_.root() + "/zk");
    url_ = zookeeper_->url("/agora/masters");
    for (int i = 0; i < kMasters; ++i) startMaster(i);
    ASSERT_TRUE(eventually([&] { return leader() >= 0; }, 20s)) << "no single leader";
  }
  void TearDown() override {
    driver_.reset();
    agent_.reset();
    masters_.clear();
    zookeeper_.reset();
  }

  void startMaster(int i) {
    http_.push_back("127.0.0.1:" + std::to_string(freePort()));
    endpoints_.push_back("tcp://127.0.0.1:" + std::to_string(freePort()));
    masters_.push_back(start("master" + std::to_string(i),
                             {binPath("agora-master"), "--work-dir",
                              cluster_.root() + "/master" + std::to_string(i), "--http", http_[i],
                              "--listen", endpoints_[i], "--zk", url_, "--zk-session-timeout", "2s",
                              "--agent-ping-interval", "0.2", "--framework-heartbeat-interval",
                              "0.5",
                              // The candidates share one server key: agents and
                              // schedulers pin it, whichever leads.
                              "--curve-key", cluster_.credentials().masterKey, "--credentials",
                              cluster_.credentials().credentialsDir, "--tokens",
                              cluster_.credentials().tokensFile}));
  }
  std::unique_ptr<Child> start(const std::string& name, std::vector<std::string> argv) {
    SpawnOptions options;
    options.argv = std::move(argv);
    options.stdoutPath = options.stderrPath = cluster_.root() + "/" + name + ".log";
    options.dieWithParent = true;
    auto pid = spawn(options);
    EXPECT_TRUE(pid) << pid.error().message;
    return std::make_unique<Child>(name, pid ? *pid : -1);
  }
  nlohmann::json get(const std::string& address, const std::string& path) {
    auto response = http::get("http://" + address + path, 2s);
    if (!response || response->status != 200) return nullptr;
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    return json.is_discarded() ? nlohmann::json() : json;
  }
  // The index of the one master that says it leads and that every live
  // standby names as leader; -1 otherwise.
  int leader() {
    int found = -1;
    for (int i = 0; i < kMasters; ++i) {
      if (!masters_[i]->running()) continue;
      auto health = get(http_[i], "/health");
      if (health.is_null()) return -1;
      if (health.value("role", "") == "leader") {
        if (found >= 0) return -1;
        found = i;
      }
    }
    if (found < 0) return -1;
    for (int i = 0; i < kMasters; ++i) {
      if (!masters_[i]->running()) continue;
      auto health = get(http_[i], "/health");
      if (health.is_null() || !health.contains("leader") ||
          health["leader"].value("http", "") != http_[found]) {
        return -1;
      }
    }
    return found;
  }
  std::string logOf(int i) {
    std::ifstream log(cluster_.root() + "/master" + std::to_string(i) + ".log");
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  }
  std::string masterId(int i) {
    auto health = get(http_[i], "/health");
    return health.contains("leader") ? health["leader"].value("id", "") : "";
  }
  bool listsAgent(int master, const std::string& agentId) {
    auto agents = get(http_[master], "/api/v1/agents");
    if (agents.is_null()) return false;
    for (const auto& a : agents.value("agents", nlohmann::json::array())) {
      if (a.value("id", "") == agentId) return true;
    }
    return false;
  }
  std::string onlyAgentId(int master) {
    auto agents = get(http_[master], "/api/v1/agents");
    if (agents.is_null() || agents["agents"].size() != 1) return "";
    return agents["agents"][0].value("id", "");
  }
  // Both find the master through `master` (the ZooKeeper URL by default).
  // Its HTTP API (sandboxes, for `agora run`'s output) on a free port.
  void startAgent(const std::string& master) {
    agent_ = start("agent", {binPath("agora-agent"), "--master", master, "--work-dir",
                             cluster_.root() + "/agent", "--resources", "cpus:2;mem:1024",
                             "--isolation", "posix", "--http",
                             "127.0.0.1:" + std::to_string(freePort()), "--curve-key",
                             cluster_.credentials().agentKey, "--master-public-key",
                             cluster_.credentials().masterPublicKey, "--tokens",
                             cluster_.credentials().tokensFile});
  }
  void startAgentAndScheduler(std::string master = "") {
    if (master.empty()) master = url_;
    startAgent(master);
    sdk::DriverOptions options;
    options.framework.name = "ha-test";
    options.framework.roles = {"*"};
    options.framework.failoverTimeoutSec = 60;
    options.masterEndpoint = master;
    options.curve = cluster_.schedulerKeys();
    auto driver = sdk::SchedulerDriver::create(scheduler_, options);
    ASSERT_TRUE(driver) << driver.error().message;
    driver_ = std::move(*driver);
    driver_->start();
  }
  // The task's entry in master i's /api/v1/tasks, or null.
  nlohmann::json taskOn(int master, const std::string& taskId) {
    auto tasks = get(http_[master], "/api/v1/tasks");
    if (tasks.is_null()) return nullptr;
    for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
      if (t.value("id", "") == taskId) return t;
    }
    return nullptr;
  }
  std::string taskStateOn(int master, const std::string& taskId) {
    auto task = taskOn(master, taskId);
    return task.is_null() ? "" : task.value("state", "");
  }
  // Launches `task` on the first offer; declines the rest.
  void launchOnce(TaskInfo task) {
    auto launched = std::make_shared<std::atomic<bool>>(false);
    scheduler_.setOfferPolicy([task, launched](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) return driver.launch(offer.id, {task}, 5);
      driver.decline({offer.id}, 60);
    });
  }
  // Offers whose ID the given master made (offer IDs start with the master's ID).
  size_t offersFrom(const std::string& id) {
    size_t n = 0;
    for (const auto& o : scheduler_.offers()) n += o.offer.id.rfind(id + "-", 0) == 0;
    return n;
  }

  Cluster cluster_;  // first: its teardown kills whatever still runs under its root
  std::unique_ptr<ZooKeeperServer> zookeeper_;
  std::string url_;
  std::vector<std::string> http_;
  std::vector<std::string> endpoints_;  // ZeroMQ
  std::vector<std::unique_ptr<Child>> masters_;
  std::unique_ptr<Child> agent_;
  RecordingScheduler scheduler_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
};

TEST_F(HaClusterTest, StandbysRedirectToTheLeaderAndTheCliFindsIt) {
  int lead = leader();
  for (int i = 0; i < kMasters; ++i) {
    if (i == lead) continue;
    auto response = http::get("http://" + http_[i] + "/api/v1/tasks?state=RUNNING", 2s);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 307);
    EXPECT_EQ(response->headers["location"], "http://" + http_[lead] + "/api/v1/tasks?state=RUNNING");
    auto posted = http::request("POST", "http://" + http_[i] + "/api/v1/weights",
                                R"({"role":"eng","weight":2})", 2s);
    ASSERT_TRUE(posted);
    EXPECT_EQ(posted->status, 307);
    auto metrics = http::get("http://" + http_[i] + "/metrics", 2s);  // answered locally
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
  }
  EXPECT_FALSE(get(http_[lead], "/api/v1/agents").is_null());

  // The CLI follows a standby's redirect from a list of masters, and finds
  // the leader through ZooKeeper.
  std::string out, err;
  std::string list = http_[(lead + 1) % kMasters] + "," + http_[lead];
  EXPECT_EQ(cluster_.runCommand({binPath("agora"), "--master", list, "agents", "-o", "json"}, &out, &err), 0)
      << err;
  EXPECT_NE(out.find("\"agents\""), std::string::npos) << out;
  EXPECT_EQ(cluster_.runCommand({binPath("agora"), "--master", url_, "frameworks", "-o", "json"}, &out, &err), 0)
      << err;
  EXPECT_NE(out.find("\"frameworks\""), std::string::npos) << out;
}

TEST_F(HaClusterTest, AgentAndSchedulerFollowANewLeaderAfterTheLeaderIsKilled) {
  int first = leader();
  std::string firstId = masterId(first);
  startAgentAndScheduler();
  ASSERT_TRUE(eventually([&] { return !onlyAgentId(first).empty(); }, 20s));
  std::string agentId = onlyAgentId(first);
  ASSERT_TRUE(eventually([&] { return offersFrom(firstId) > 0; }, 20s));
  std::string frameworkId = scheduler_.frameworkId();
  ASSERT_FALSE(frameworkId.empty());
  for (int i = 0; i < kMasters; ++i) {
    if (i != first) {
      EXPECT_TRUE(get(http_[i], "/api/v1/agents").is_null()) << "a standby served the API";
    }
  }

  masters_[first]->signal(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return leader() >= 0; }, 20s)) << "no new leader";
  auto elected = std::chrono::steady_clock::now() - killed;
  int second = leader();
  ASSERT_NE(second, first);
  // ZooKeeper expires the dead leader's session after 2 s; allow scheduling slack.
  EXPECT_LE(elected, 6s);
  std::string secondId = masterId(second);

  // The agent re-registers with its ID; the scheduler re-subscribes with its
  // framework ID and gets offers from the new leader.
  ASSERT_TRUE(eventually([&] { return listsAgent(second, agentId); }, 20s))
      << get(http_[second], "/api/v1/agents").dump();
  ASSERT_TRUE(eventually([&] { return offersFrom(secondId) > 0; }, 20s));
  EXPECT_EQ(scheduler_.frameworkId(), frameworkId);
  auto frameworks = get(http_[second], "/api/v1/frameworks");
  ASSERT_FALSE(frameworks.is_null());
  ASSERT_EQ(frameworks["frameworks"].size(), 1u);
  EXPECT_EQ(frameworks["frameworks"][0].value("id", ""), frameworkId);
}

TEST_F(HaClusterTest, TheEventStreamStartsOverWithTheNewLeadersSnapshot) {
  int first = leader();
  std::mutex mutex;
  std::vector<std::string> streams;  // of the snapshots received
  sdk::ClusterEvents::Options options;
  options.master = http_[0] + "," + http_[1] + "," + http_[2];
  options.reconnectDelay = millis(200);
  auto follower = sdk::ClusterEvents::start(options, [&](const nlohmann::json& e) {
    if (e.value("type", "") != "snapshot") return;
    std::lock_guard<std::mutex> lock(mutex);
    streams.push_back(e.value("stream", ""));
  });
  ASSERT_TRUE(follower.has_value()) << follower.error().message;
  auto snapshots = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return streams;
  };
  // Standbys send it to the leader.
  ASSERT_TRUE(eventually([&] { return snapshots().size() == 1; }, 20s))
      << (*follower)->lastError();

  masters_[first]->signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return leader() >= 0 && leader() != first; }, 20s));
  ASSERT_TRUE(eventually([&] { return snapshots().size() == 2; }, 20s))
      << (*follower)->lastError();
  EXPECT_NE(snapshots()[0], snapshots()[1]) << "the new leader's events are a stream of their own";
}

// Clients given the fixed ZeroMQ endpoint of a standby (no ZooKeeper) are
// answered notLeader with the leader's endpoint, follow it and work there.
TEST_F(HaClusterTest, AgentAndSchedulerGivenAStandbyEndpointAreSentToTheLeader) {
  int lead = leader();
  int standby = (lead + 1) % kMasters;
  std::string leaderId = masterId(lead);
  launchOnce(shellTask("follow", "sleep 60"));
  startAgentAndScheduler(endpoints_[standby]);
  ASSERT_TRUE(eventually([&] { return !onlyAgentId(lead).empty(); }, 20s)) << logOf(standby);
  ASSERT_TRUE(scheduler_.waitForState("follow", TaskState::RUNNING));
  auto running = *scheduler_.latest("follow");
  EXPECT_EQ(running.agentId, onlyAgentId(lead));
  EXPECT_GT(offersFrom(leaderId), 0u);
  EXPECT_EQ(taskStateOn(lead, "follow"), "TASK_RUNNING");
  // The standby's HTTP API sends the same reader to the leader.
  auto redirected = http::get("http://" + http_[standby] + "/api/v1/tasks", 2s);
  ASSERT_TRUE(redirected);
  EXPECT_EQ(redirected->status, 307);
  EXPECT_EQ(redirected->headers["location"], "http://" + http_[lead] + "/api/v1/tasks");
  driver_->kill("follow", running.agentId);
  EXPECT_TRUE(scheduler_.waitForState("follow", TaskState::KILLED));
}

// Tasks are not in the registry: the new leader learns them from the agent's
// re-registration, and the framework manages them through it.
TEST_F(HaClusterTest, TheNewLeaderRebuildsTasksFromReregisteringAgents) {
  int first = leader();
  launchOnce(shellTask("survivor", "sleep 60"));
  startAgentAndScheduler();
  ASSERT_TRUE(scheduler_.waitForState("survivor", TaskState::RUNNING));
  std::string agentId = scheduler_.latest("survivor")->agentId;
  ASSERT_EQ(taskStateOn(first, "survivor"), "TASK_RUNNING");

  masters_[first]->signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return leader() >= 0 && leader() != first; }, 20s));
  int second = leader();
  ASSERT_TRUE(eventually([&] { return taskStateOn(second, "survivor") == "TASK_RUNNING"; }, 20s))
      << get(http_[second], "/api/v1/tasks").dump() << logOf(second);
  auto task = taskOn(second, "survivor");
  EXPECT_EQ(task.value("agent_id", ""), agentId);
  EXPECT_EQ(task.value("framework_id", ""), scheduler_.frameworkId());

  // The framework kills it through the new leader.
  ASSERT_TRUE(eventually([&] { return offersFrom(masterId(second)) > 0; }, 20s));
  driver_->kill("survivor", agentId);
  ASSERT_TRUE(scheduler_.waitForState("survivor", TaskState::KILLED));
  EXPECT_TRUE(eventually([&] { return taskStateOn(second, "survivor") == "TASK_KILLED"; }, 20s))
      << get(http_[second], "/api/v1/tasks").dump();
}

std::string slurp(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

// A leader change is not the scheduler failing: `agora run` (failover
// timeout 0) follows the new leader, keeps its task and its output, and
// exits with the task's code.
TEST_F(HaClusterTest, AgoraRunKeepsItsTaskWhenTheLeaderIsKilled) {
  int first = leader();
  startAgent(url_);
  ASSERT_TRUE(eventually([&] { return !onlyAgentId(first).empty(); }, 20s));
  std::string release = cluster_.root() + "/release";
  std::string out = cluster_.root() + "/run.out", err = cluster_.root() + "/run.err";
  SpawnOptions options;
  options.argv = {binPath("agora"), "run", "--master", url_, "--timeout", "20", "--",
                  "echo start; while [ ! -e " + release + " ]; do sleep 0.1; done; echo end; exit 3"};
  options.stdoutPath = out;
  options.stderrPath = err;
  options.dieWithParent = true;
  auto pid = spawn(options);
  ASSERT_TRUE(pid) << pid.error().message;
  Child run("agora run", *pid);
  ASSERT_TRUE(eventually([&] { return slurp(out).find("start\n") != std::string::npos; }, 30s))
      << slurp(out) << slurp(err);
  auto frameworks = get(http_[first], "/api/v1/frameworks");
  ASSERT_EQ(frameworks.value("frameworks", nlohmann::json::array()).size(), 1u);
  std::string frameworkId = frameworks["frameworks"][0].value("id", "");

  masters_[first]->signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return leader() >= 0 && leader() != first; }, 20s));
  int second = leader();
  ASSERT_TRUE(eventually(
      [&] {
        auto now = get(http_[second], "/api/v1/frameworks");
        if (now.is_null() || now["frameworks"].size() != 1) return false;
        return now["frameworks"][0].value("id", "") == frameworkId &&
               now["frameworks"][0].value("connected", false);
      },
      20s))
      << get(http_[second], "/api/v1/frameworks").dump() << slurp(err) << logOf(second);
  ASSERT_TRUE(run.running()) << slurp(err);

  std::ofstream(release) << "go\n";
  EXPECT_EQ(run.wait(30s), 3) << slurp(out) << slurp(err);
  EXPECT_EQ(slurp(out), "start\nend\n") << slurp(err);
  EXPECT_EQ(slurp(err).find("refused"), std::string::npos) << slurp(err);
}

// A role's entry in /api/v1/roles of master i (null when absent).
nlohmann::json roleOf(const nlohmann::json& roles, const std::string& name) {
  for (const auto& role : roles.value("roles", nlohmann::json::array())) {
    if (role.value("name", "") == name) return role;
  }
  return nullptr;
}

TEST_F(HaClusterTest, TheNewLeaderRecoversTheRegistryFromZooKeeper) {
  int first = leader();
  startAgentAndScheduler();
  ASSERT_TRUE(eventually([&] { return !onlyAgentId(first).empty(); }, 20s));
  std::string agentId = onlyAgentId(first);
  ASSERT_TRUE(eventually([&] { return !scheduler_.frameworkId().empty(); }, 20s));
  std::string frameworkId = scheduler_.frameworkId();
  auto weight = http::request("POST", "http://" + http_[first] + "/api/v1/weights",
                              R"({"role":"eng","weight":3})", 2s);
  ASSERT_TRUE(weight && weight->status == 200);
  auto quota = http::request("POST", "http://" + http_[first] + "/api/v1/quota",
                             R"({"role":"eng","guarantee":"cpus:1"})", 2s);
  ASSERT_TRUE(quota && quota->status == 200) << (quota ? quota->body : "");
  // The scheduler goes away: its failover deadline is set and persisted.
  driver_.reset();
  double deadline = 0;
  ASSERT_TRUE(eventually([&] {
    auto frameworks = get(http_[first], "/api/v1/frameworks");
    if (frameworks.is_null() || frameworks["frameworks"].size() != 1) return false;
    deadline = frameworks["frameworks"][0].value("failover_deadline", 0.0);
    return deadline > 0;
  }, 20s));

  masters_[first]->signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return leader() >= 0 && leader() != first; }, 20s));
  int second = leader();
  // Known from the registry before anything reconnects to the new leader.
  auto frameworks = get(http_[second], "/api/v1/frameworks");
  ASSERT_FALSE(frameworks.is_null());
  ASSERT_EQ(frameworks["frameworks"].size(), 1u) << frameworks.dump() << logOf(second);
  EXPECT_EQ(frameworks["frameworks"][0].value("id", ""), frameworkId);
  // The failover timeout keeps counting from the old leader's deadline.
  EXPECT_NEAR(frameworks["frameworks"][0].value("failover_deadline", 0.0), deadline, 0.01);
  auto roles = get(http_[second], "/api/v1/roles");
  auto eng = roleOf(roles, "eng");
  ASSERT_FALSE(eng.is_null()) << roles.dump();
  EXPECT_EQ(eng.value("weight", 0.0), 3.0);
  EXPECT_EQ(eng["quota"]["guarantee"].value("cpus", 0.0), 1.0);
  // The agent re-registers with its ID.
  ASSERT_TRUE(eventually([&] { return listsAgent(second, agentId); }, 20s));
}

// Runs ZooKeeper operations from the test on a loop of their own.
class ZkClient {
 public:
  explicit ZkClient(const std::string& servers) {
    session_ = std::move(*zk::ZkSession::create(loop_, {servers, seconds(5)}));
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~ZkClient() {
    loop_.post([this] {
      session_.reset();
      loop_.stop();
    });
    thread_.join();
  }
  Result<std::string> get(const std::string& path) {
    std::promise<Result<std::string>> got;
    loop_.post([&] { session_->get(path, [&](Result<std::string> r) { got.set_value(r); }); });
    return got.get_future().get();
  }
  Status set(const std::string& path, const std::string& data) {
    std::promise<Status> done;
    loop_.post([&] {
      session_->multi({{zk::ZkSession::Op::Kind::kSet, path, data, -1}},
                      [&](Status s) { done.set_value(s); });
    });
    return done.get_future().get();
  }

 private:
  EventLoop loop_;
  std::unique_ptr<zk::ZkSession> session_;
  std::thread thread_;
};

TEST_F(HaClusterTest, MastersRefuseToLeadOverACorruptZnodeAndNameIt) {
  int first = leader();
  auto weight = http::request("POST", "http://" + http_[first] + "/api/v1/weights",
                              R"({"role":"eng","weight":2})", 2s);
  ASSERT_TRUE(weight && weight->status == 200);
  std::string path = "/agora/masters/registry/weights/eng";
  {
    ZkClient client(zookeeper_->address());
    auto data = client.get(path);
    ASSERT_TRUE(data) << data.error().message;
    std::string damaged = *data;
    damaged.back() ^= 0x20;
    ASSERT_TRUE(client.set(path, damaged));
  }
  masters_[first]->signal(SIGKILL);
  masters_[first]->wait(5s);
  // Each standby in turn is elected, reads the registry and refuses.
  for (int i = 0; i < kMasters; ++i) {
    if (i == first) continue;
    EXPECT_EQ(masters_[i]->wait(20s), 1) << "master " << i;
    std::ifstream log(cluster_.root() + "/master" + std::to_string(i) + ".log");
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_NE(text.str().find("registry znode " + path + " is corrupt"), std::string::npos)
        << text.str();
  }
}

TEST_F(HaClusterTest, LeaderStepsDownWhenZooKeeperIsGone) {
  int lead = leader();
  zookeeper_->kill();
  auto killed = std::chrono::steady_clock::now();
  // The leader cannot know whether it still leads once its session may have
  // expired: it exits (non-zero) and leaves the restart to its supervisor.
  int code = masters_[lead]->wait(15s);
  auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_EQ(code, 3);
  EXPECT_LE(took, 8s);
  for (int i = 0; i < kMasters; ++i) {
    if (i != lead) {
      EXPECT_TRUE(masters_[i]->running()) << "a standby has nothing to give up";
    }
  }
}

}  // namespace
}  // namespace agora::testing
