// Network partitions with real processes: agora-master on the host side of a
// veth pair, a real agora-agent inside a network namespace on the other side
// (tests/support/netns_link.hpp), two real schedulers (one PARTITION_AWARE)
// running a task each on it. The link is cut (veth down) and restored.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/client_config.hpp"
#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"
#include "tests/support/netns_link.hpp"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUnreachableTimeout = "5s";

// The children (by /proc/PID/task/PID/children) of `pid`, recursively.
void descendants(pid_t pid, std::set<pid_t>& out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = 0;
  while (in >> child) {
    if (out.insert(child).second) descendants(child, out);
  }
}

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    NetnsLink::removeStale();
    auto link = NetnsLink::create();
    ASSERT_TRUE(link) << link.error().message;
    link_ = std::move(*link);
    char tmpl[] = "/tmp/agora-partition-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    masterHttp_ = "127.0.0.1:" + std::to_string(freePort());
    endpoint_ = "tcp://" + link_->hostAddress() + ":" + std::to_string(freePort());
    agentHttp_ = link_->nsAddress() + ":" + std::to_string(freePort());
    auto keys = ensureLocalCredentials(root_ + "/security", masterHttp_);
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = *keys;
    http::setDefaultCredentials({{}, keys_.operatorToken});
    master_ = start("master",
                    {binPath("agora-master"), "--work-dir", root_ + "/master", "--http",
                     masterHttp_, "--listen", endpoint_, "--agent-ping-interval", "0.2",
                     "--agent-max-missed-pings", "5", "--framework-heartbeat-interval", "0.5",
                     "--agent-unreachable-timeout", kUnreachableTimeout, "--curve-key",
                     keys_.masterKey, "--credentials", keys_.credentialsDir, "--tokens",
                     keys_.tokensFile},
                    false);
    ASSERT_TRUE(eventually([&] { return !get("/health").is_null(); }));
    agent_ = start("agent",
                   {binPath("agora-agent"), "--master", endpoint_, "--work-dir", root_ + "/agent",
                    "--http", agentHttp_, "--resources", "cpus:2;mem:1024",
                    "--status-update-retry-min", "0.5", "--status-update-retry-max", "2",
                    "--curve-key", keys_.agentKey, "--master-public-key", keys_.masterPublicKey,
                    "--tokens", keys_.tokensFile,
                    // The veth link is this test's own, between two namespaces.
                    "--insecure-http"},
                   true);
    ASSERT_TRUE(eventually([&] { return !agentWith("REGISTERED").empty(); }));
    agentId_ = agentWith("REGISTERED");
    plainDriver_ = startFramework(plain_, "plain", false, "tp");
    awareDriver_ = startFramework(aware_, "aware", true, "ta");
  }

  void TearDown() override {
    for (auto* driver : {&plainDriver_, &awareDriver_}) {
      if (*driver) (*driver)->stop();
      driver->reset();
    }
    // SIGTERM first: an agent that exits removes its cgroup root when empty
    // (SIGKILL would leave it behind).
    if (agent_) {
      agent_->signal(SIGTERM);
      if (agent_->wait(std::chrono::seconds(5)) < 0) agent_->signal(SIGKILL);
    }
    agent_.reset();
    master_.reset();
    if (!root_.empty()) {
      killProcessesUnder(root_);
      removeContainerCgroups(root_);
    }
    link_.reset();  // kills whatever is left in the namespace
    if (!root_.empty() && !HasFailure()) std::filesystem::remove_all(root_);
  }

  std::unique_ptr<Child> start(const std::string& name, std::vector<std::string> argv,
                               bool inside) {
    SpawnOptions options;
    options.argv = std::move(argv);
    options.stdoutPath = root_ + "/" + name + ".out";
    options.stderrPath = root_ + "/" + name + ".err";
    options.dieWithParent = true;
    auto pid = inside ? link_->spawn(options) : spawn(options);
    if (!pid) {
      ADD_FAILURE() << "cannot start " << name << ": " << pid.error().message;
      return nullptr;
    }
    return std::make_unique<Child>(name, *pid);
  }
  nlohmann::json get(const std::string& path) {
    auto response = http::get("http://" + masterHttp_ + path, 5s);
    if (!response || response->status != 200) return nullptr;
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    return json.is_discarded() ? nlohmann::json() : json;
  }
  // The ID of an agent the master lists with `status` ("" if none), other than `except`.
  std::string agentWith(const std::string& status, const std::string& except = "") {
    auto agents = get("/api/v1/agents");
    if (!agents.is_object()) return "";
    for (const auto& a : agents.value("agents", nlohmann::json::array())) {
      if (a.value("status", "") == status && a.value("id", "") != except) return a.value("id", "");
    }
    return "";
  }
  bool agentListed(const std::string& id) {
    auto agents = get("/api/v1/agents");
    for (const auto& a : agents.value("agents", nlohmann::json::array())) {
      if (a.value("id", "") == id) return true;
    }
    return false;
  }
  std::unique_ptr<sdk::SchedulerDriver> startFramework(RecordingScheduler& scheduler,
                                                       const std::string& name, bool aware,
                                                       const std::string& taskId) {
    auto launched = std::make_shared<std::atomic<bool>>(false);
    scheduler.setOfferPolicy([launched, taskId](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) {
        driver.launch(offer.id, {shellTask(taskId, "sleep 300")}, 0.2);
      } else {
        driver.decline({offer.id}, 0.2);
      }
    });
    sdk::DriverOptions options;
    options.framework.name = name;
    options.framework.roles = {"*"};
    options.framework.failoverTimeoutSec = 600;
    if (aware) options.framework.capabilities = {"PARTITION_AWARE"};
    options.masterEndpoint = endpoint_;
    options.curve = *loadCurveClientKeys(keys_.frameworkKey, keys_.masterPublicKey);
    auto driver = sdk::SchedulerDriver::create(scheduler, options);
    EXPECT_TRUE(driver.has_value());
    if (!driver) return nullptr;
    (*driver)->start();
    EXPECT_TRUE(scheduler.waitForState(taskId, TaskState::RUNNING, 30s)) << taskId;
    return std::move(*driver);
  }
  // Executor and task processes of the agent's containers.
  std::set<pid_t> containerPids() {
    std::set<pid_t> pids;
    auto response = http::get("http://" + agentHttp_ + "/api/v1/containers", 5s);
    if (!response || response->status != 200) return pids;
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    for (const auto& c : json.value("containers", nlohmann::json::array())) {
      pid_t executor = c.value("executor_pid", 0);
      if (executor <= 0) continue;
      pids.insert(executor);
      descendants(executor, pids);
    }
    return pids;
  }
  // The containers' processes once their trees stopped changing: a task reported RUNNING
  // may still be forking its command (its shell, its init in a PID namespace).
  std::set<pid_t> settledContainerPids() {
    std::set<pid_t> last = containerPids();
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(200ms);
      std::set<pid_t> now = containerPids();
      if (now == last) return now;
      last = std::move(now);
    }
    return last;
  }
  bool updatedTo(RecordingScheduler& s, const std::string& taskId, TaskState state,
                 std::chrono::milliseconds timeout) {
    return s.waitForState(taskId, state, timeout);
  }

  std::unique_ptr<NetnsLink> link_;
  std::string root_, masterHttp_, endpoint_, agentHttp_, agentId_;
  LocalCredentials keys_;
  std::unique_ptr<Child> master_, agent_;
  RecordingScheduler plain_, aware_;
  std::unique_ptr<sdk::SchedulerDriver> plainDriver_, awareDriver_;
};

TEST_F(PartitionTest, AgentBackWithinTheTimeoutIsReadmittedAndItsTasksRunAgain) {
  std::set<pid_t> before = settledContainerPids();
  ASSERT_GE(before.size(), 4u);  // two executors and their tasks
  ASSERT_TRUE(link_->setUp(false));
  EXPECT_TRUE(updatedTo(aware_, "ta", TaskState::UNREACHABLE, 10s));
  EXPECT_TRUE(updatedTo(plain_, "tp", TaskState::LOST, 10s));
  EXPECT_EQ(aware_.latest("ta")->reason, TaskReason::AGENT_UNREACHABLE);
  EXPECT_FALSE(agentWith("UNREACHABLE").empty());
  size_t offersBefore = aware_.offers().size() + plain_.offers().size();

  ASSERT_TRUE(link_->setUp(true));
  EXPECT_TRUE(updatedTo(aware_, "ta", TaskState::RUNNING, 20s));
  EXPECT_TRUE(updatedTo(plain_, "tp", TaskState::RUNNING, 20s));
  EXPECT_EQ(agentWith("REGISTERED"), agentId_);
  // Offers of its remaining resources resume.
  EXPECT_TRUE(eventually(
      [&] { return aware_.offers().size() + plain_.offers().size() > offersBefore; }, 10s));
  EXPECT_EQ(containerPids(), before);  // the same processes kept running
}

TEST_F(PartitionTest, AgentBackAfterTheTimeoutIsToldToKillItsTasksAndRegistersAnew) {
  std::set<pid_t> before = settledContainerPids();
  ASSERT_GE(before.size(), 4u);
  ASSERT_TRUE(link_->setUp(false));
  EXPECT_TRUE(updatedTo(plain_, "tp", TaskState::LOST, 10s));
  ASSERT_TRUE(updatedTo(aware_, "ta", TaskState::GONE, 20s));
  EXPECT_EQ(aware_.latest("ta")->reason, TaskReason::AGENT_REMOVED);
  EXPECT_FALSE(agentListed(agentId_));
  for (pid_t pid : before) EXPECT_TRUE(alive(pid)) << pid;  // cut off, still running

  ASSERT_TRUE(link_->setUp(true));
  // Told to shut down: every process of the old tasks dies.
  EXPECT_TRUE(eventually(
      [&] {
        for (pid_t pid : before) {
          if (alive(pid)) return false;
        }
        return true;
      },
      30s));
  // It registers anew with a new ID and reports nothing of the old tasks.
  std::string newId;
  ASSERT_TRUE(
      eventually([&] { return !(newId = agentWith("REGISTERED", agentId_)).empty(); }, 30s));
  EXPECT_NE(newId, agentId_);
  EXPECT_FALSE(agentListed(agentId_));
  EXPECT_EQ(aware_.latest("ta")->state, TaskState::GONE);
  EXPECT_EQ(plain_.latest("tp")->state, TaskState::LOST);
  auto tasks = get("/api/v1/tasks");
  for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
    EXPECT_NE(t.value("agent_id", ""), newId) << t.dump();
  }
}

}  // namespace
}  // namespace agora::testing
