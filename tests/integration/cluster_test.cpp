// End-to-end tests with real agora-master, agora-agent and agora-executor
// processes on loopback, driven through the scheduler SDK.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/codec.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.startMaster();
    cluster_.startAgent();
  }

  std::unique_ptr<sdk::SchedulerDriver> startFramework(RecordingScheduler& scheduler,
                                                       const std::string& name,
                                                       std::vector<std::string> capabilities = {}) {
    sdk::DriverOptions options;
    options.framework.name = name;
    options.framework.roles = {"*"};
    options.framework.capabilities = std::move(capabilities);
    options.masterEndpoint = cluster_.masterEndpoint();
  options.curve = cluster_.schedulerKeys();
    options.curve = cluster_.schedulerKeys();
    auto driver = sdk::SchedulerDriver::create(scheduler, options);
    EXPECT_TRUE(driver.has_value());
    (*driver)->start();
    EXPECT_TRUE(eventually([&] { return !scheduler.frameworkId().empty(); }));
    return std::move(*driver);
  }

  // Launches one task on the first offer that arrives, declining the rest.
  static RecordingScheduler::OfferPolicy launchOnce(TaskInfo task, double refuseSeconds = 5) {
    auto launched = std::make_shared<std::atomic<bool>>(false);
    return [task, launched, refuseSeconds](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) {
        driver.launch(offer.id, {task}, refuseSeconds);
      } else {
        driver.decline({offer.id}, 60);
      }
    };
  }

  Cluster cluster_;
};

TEST_F(ClusterTest, TaskRunsToFinishedAndItsOutputIsInTheSandbox) {
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("hello", "echo hello from $AGORA_TASK_ID")));
  auto driver = startFramework(scheduler, "it-finished");
  ASSERT_TRUE(scheduler.waitForState("hello", TaskState::FINISHED));

  std::vector<TaskState> seen;
  for (const auto& u : scheduler.updates()) seen.push_back(u.state);
  EXPECT_EQ(seen, std::vector<TaskState>({TaskState::STARTING, TaskState::RUNNING,
                                          TaskState::FINISHED}));
  ASSERT_TRUE(eventually([&] {
    auto t = cluster_.task("hello");
    return t.is_object() && t.value("state", "") == "TASK_FINISHED";
  }));
  auto task = cluster_.task("hello");
  std::string sandbox = task.value("sandbox", "");
  std::string agentUrl = task.value("agent_url", "");
  ASSERT_FALSE(sandbox.empty());
  auto file = http::get(agentUrl + "/files/read?path=" + http::urlEncode(sandbox + "/stdout") +
                        "&offset=0");
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ(file->status, 200) << file->body;
  auto json = nlohmann::json::parse(file->body);
  EXPECT_EQ(json.value("data", ""), "hello from hello\n");
}

TEST_F(ClusterTest, FailingCommandReportsFailedWithExitCode) {
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("bad", "echo failing >&2; exit 3")));
  auto driver = startFramework(scheduler, "it-failed");
  ASSERT_TRUE(scheduler.waitForState("bad", TaskState::FAILED));
  auto status = *scheduler.latest("bad");
  ASSERT_TRUE(status.exitCode.has_value());
  EXPECT_EQ(*status.exitCode, 3);
  EXPECT_EQ(status.reason, TaskReason::COMMAND_EXITED);
  EXPECT_NE(status.message.find("3"), std::string::npos) << status.message;
}

TEST_F(ClusterTest, KillStopsARunningTask) {
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("sleeper", "sleep 60")));
  auto driver = startFramework(scheduler, "it-kill");
  ASSERT_TRUE(scheduler.waitForState("sleeper", TaskState::RUNNING));
  auto running = *scheduler.latest("sleeper");
  driver->kill("sleeper", running.agentId);
  ASSERT_TRUE(scheduler.waitForState("sleeper", TaskState::KILLED));
  // The resources come back: the master shows nothing used on the agent.
  EXPECT_TRUE(eventually([&] {
    auto agents = cluster_.masterGet("/api/v1/agents");
    return agents.is_object() && agents["agents"].size() == 1 &&
           agents["agents"][0].value("used", nlohmann::json::object()).value("cpus", 0.0) == 0.0;
  }));
}

TEST_F(ClusterTest, AgentKilledMakesTasksLostAndRescindsItsOffers) {
  RecordingScheduler scheduler;
  auto launched = std::make_shared<std::atomic<bool>>(false);
  // Launch one task and keep (hold) every later offer.
  scheduler.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (!launched->exchange(true)) driver.launch(offer.id, {shellTask("doomed", "sleep 60")}, 0);
  });
  auto driver = startFramework(scheduler, "it-agent-lost");
  ASSERT_TRUE(scheduler.waitForState("doomed", TaskState::RUNNING));
  ASSERT_TRUE(eventually([&] { return scheduler.offers().size() >= 2; }));
  std::string heldOffer = scheduler.offers().back().offer.id;

  cluster_.agent(0).signal(SIGKILL);
  ASSERT_TRUE(scheduler.waitForState("doomed", TaskState::LOST));
  EXPECT_EQ(scheduler.latest("doomed")->reason, TaskReason::AGENT_UNREACHABLE);
  ASSERT_TRUE(eventually([&] {
    auto r = scheduler.rescinded();
    return std::find(r.begin(), r.end(), heldOffer) != r.end();
  }));
}

TEST_F(ClusterTest, PartitionAwareFrameworkSeesUnreachable) {
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("part", "sleep 60")));
  auto driver = startFramework(scheduler, "it-partition", {"PARTITION_AWARE"});
  ASSERT_TRUE(scheduler.waitForState("part", TaskState::RUNNING));
  cluster_.agent(0).signal(SIGKILL);
  ASSERT_TRUE(scheduler.waitForState("part", TaskState::UNREACHABLE));
}

TEST_F(ClusterTest, DeclinedOfferGoesToAnotherFrameworkUntilTheFilterExpires) {
  constexpr double kRefuse = 2.0;
  RecordingScheduler a;
  auto declinedAt = std::make_shared<std::atomic<int64_t>>(0);
  a.setOfferPolicy([declinedAt](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (declinedAt->load() == 0) {
      declinedAt->store(std::chrono::steady_clock::now().time_since_epoch().count());
      driver.decline({offer.id}, kRefuse);
    }
    // Later offers are held.
  });
  auto driverA = startFramework(a, "it-decliner");
  ASSERT_TRUE(eventually([&] { return declinedAt->load() != 0; }));

  RecordingScheduler b;
  b.setOfferPolicy([](sdk::SchedulerDriver& driver, const Offer& offer) {
    driver.decline({offer.id}, 600);
  });
  auto driverB = startFramework(b, "it-other");
  // While A's filter holds, the agent's resources go to B.
  ASSERT_TRUE(eventually([&] { return !b.offers().empty(); }));
  ASSERT_TRUE(eventually([&] { return a.offers().size() >= 2; }, std::chrono::seconds(10)));
  auto declined = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(declinedAt->load()));
  double reofferedAfter = std::chrono::duration<double>(a.offers()[1].at - declined).count();
  EXPECT_GE(reofferedAfter, kRefuse - 0.05);
  EXPECT_LT(b.offers().front().at, a.offers()[1].at);
}

TEST_F(ClusterTest, AgoraRunStreamsOutputAndReturnsTheExitCode) {
  std::string out, err;
  int code = cluster_.runCommand(
      {binPath("agora"), "run", "--master", cluster_.masterHttp(), "--scheduler-endpoint",
       cluster_.masterEndpoint(), "--timeout", "20", "--", "echo line-one; echo line-two; exit 7"},
      &out, &err);
  EXPECT_EQ(code, 7) << out << err;
  EXPECT_NE(out.find("line-one\nline-two\n"), std::string::npos) << out;
}

TEST_F(ClusterTest, AgoraRunNeedsOnlyTheMastersHttpAddress) {
  // The master is not on the default ports: its scheduler endpoint comes
  // from GET /api/v1/master.
  std::string out, err;
  int code = cluster_.runCommand(
      {binPath("agora"), "run", "--master", cluster_.masterHttp(), "--timeout", "20", "--",
       "echo found-the-master"},
      &out, &err);
  EXPECT_EQ(code, 0) << out << err;
  EXPECT_NE(out.find("found-the-master"), std::string::npos) << out << err;
}

TEST_F(ClusterTest, AgoraRunExplainsWhyNothingFits) {
  std::string out, err;
  int code = cluster_.runCommand(
      {binPath("agora"), "run", "--master", cluster_.masterHttp(), "--scheduler-endpoint",
       cluster_.masterEndpoint(), "--timeout", "2", "--cpus", "64", "--", "true"},
      &out, &err);
  EXPECT_NE(code, 0);
  // Says what was asked and what the cluster had.
  EXPECT_NE(err.find("cpus:64"), std::string::npos) << err;
  EXPECT_NE(err.find("cpus:2"), std::string::npos) << err;
}

// The master's log (its stderr) contains `text`.
bool masterLogged(const Cluster& cluster, const std::string& text) {
  std::ifstream in(cluster.root() + "/master.err");
  std::stringstream log;
  log << in.rdbuf();
  return log.str().find(text) != std::string::npos;
}

TEST_F(ClusterTest, AKilledAgentsLateReregistrationLosesNoTask) {
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("survivor", "sleep 60")));
  sdk::DriverOptions options;
  options.framework.name = "it-late-reregistration";
  options.framework.roles = {"*"};
  options.framework.checkpoint = true;  // its task outlives an agent restart
  options.masterEndpoint = cluster_.masterEndpoint();
  options.curve = cluster_.schedulerKeys();
  auto driver = sdk::SchedulerDriver::create(scheduler, options);
  ASSERT_TRUE(driver.has_value());
  (*driver)->start();
  ASSERT_TRUE(scheduler.waitForState("survivor", TaskState::RUNNING));
  std::string agentId = scheduler.latest("survivor")->agentId;

  // Every re-registration of the agent's first process predates this.
  auto killedAt = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  cluster_.agent(0).signal(SIGKILL);
  cluster_.agent(0).wait(std::chrono::seconds(10));
  cluster_.restartAgent(0);
  ASSERT_TRUE(eventually([&] {
    auto health = http::get("http://" + cluster_.agentHttp(0) + "/health");
    return health && health->status == 200 &&
           nlohmann::json::parse(health->body).value("registered", false);
  }));
  ASSERT_EQ(cluster_.task("survivor").value("state", ""), "TASK_RUNNING");

  // The killed process's socket (its link was cut) delivers a re-registration
  // it queued, without the task, from its own connection.
  zmq::socket_t stale(zmqContext(), zmq::socket_type::dealer);
  stale.set(zmq::sockopt::linger, 0);
  stale.set(zmq::sockopt::routing_id, "agent-stale");  // as every agent names itself
  cluster_.secureSocket(stale, /*asAgent=*/true);  // the agent's own key
  stale.connect(cluster_.masterEndpoint());
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  auto reregister = envelope.initReregisterAgent();
  reregister.setAgentId(agentId);
  reregister.setAttemptSeq(static_cast<uint64_t>(killedAt.count()));
  reregister.setHostname("stale");
  Resources total = *Resources::parse("cpus:2;mem:1024;disk:1024;ports:[31000-31100]");
  total.toCapnp(reregister.initResources(total.count()));
  std::string payload = encodePacked(message);
  std::array<zmq::const_buffer, 2> parts = {zmq::buffer(kAgentProtocol), zmq::buffer(payload)};
  zmq::send_multipart(stale, parts);

  ASSERT_TRUE(eventually([&] { return masterLogged(cluster_, "ignoring re-registration #"); }))
      << "see " << cluster_.root() << "/master.err";
  EXPECT_EQ(cluster_.task("survivor").value("state", ""), "TASK_RUNNING");
  EXPECT_EQ(scheduler.latest("survivor")->state, TaskState::RUNNING);
  (*driver)->kill("survivor", agentId);
  EXPECT_TRUE(scheduler.waitForState("survivor", TaskState::KILLED));
}

TEST_F(ClusterTest, GarbageOnTheMasterSocketLeavesItServing) {
  zmq::socket_t raw(zmqContext(), zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  cluster_.secureSocket(raw);
  raw.connect(cluster_.masterEndpoint());
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    switch (i % 4) {
      case 0: raw.send(zmq::buffer(junk), zmq::send_flags::none); break;
      case 1: {
        std::array<zmq::const_buffer, 2> parts = {zmq::str_buffer("agora.agent.v1"), zmq::buffer(junk)};
        zmq::send_multipart(raw, parts);
        break;
      }
      case 2: {
        std::array<zmq::const_buffer, 2> parts = {zmq::str_buffer("agora.scheduler.v1"), zmq::buffer(junk)};
        zmq::send_multipart(raw, parts);
        break;
      }
      default: {
        std::array<zmq::const_buffer, 2> parts = {zmq::buffer(junk), zmq::buffer(junk)};
        zmq::send_multipart(raw, parts);
      }
    }
  }
  // Still serving: a framework can run a task end to end.
  RecordingScheduler scheduler;
  scheduler.setOfferPolicy(launchOnce(shellTask("after-garbage", "true")));
  auto driver = startFramework(scheduler, "it-after-garbage");
  ASSERT_TRUE(scheduler.waitForState("after-garbage", TaskState::FINISHED));
  auto metrics = http::get("http://" + cluster_.masterHttp() + "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("rejected"), std::string::npos);
}

TEST_F(ClusterTest, AnAgentRefusesAnUnknownWritableLayer) {
  const std::string err = cluster_.root() + "/bad-agent.err";
  SpawnOptions spawned;
  spawned.argv = {std::string(AGORA_BIN_DIR) + "/agora-agent", "--master",
                  cluster_.masterEndpoint(), "--work-dir", cluster_.root() + "/bad-agent",
                  "--writable-layer=ssd"};
  spawned.stderrPath = err;
  auto pid = spawn(spawned);
  ASSERT_TRUE(pid) << pid.error().message;
  auto status = waitForExit(*pid, std::chrono::seconds(10));
  ASSERT_TRUE(status) << "still running with --writable-layer=ssd";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("--writable-layer='ssd': expected disk or memory"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace agora::testing
