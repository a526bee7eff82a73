// Reservations with real processes: an agent's static reservation reaches
// only frameworks of its role; `agora reserve` / `agora unreserve` through
// the operator API; a dynamic reservation survives a master SIGKILL; an agent
// with an invalid role in --resources refuses to start.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <memory>

#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

constexpr const char* kAgentResources =
    "cpus(eng):1;mem(eng):256;cpus:1;mem:512;disk:1024;ports:[31000-31100]";

class ReservationIntegrationTest : public ::testing::Test {
 protected:
  int agora(std::vector<std::string> args, std::string* out, std::string* err) {
    std::vector<std::string> argv = {binPath("agora"), "--master", cluster_.masterHttp()};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_.runCommand(argv, out, err);
  }
  std::unique_ptr<sdk::SchedulerDriver> subscribe(RecordingScheduler& scheduler,
                                                  const std::string& role) {
    sdk::DriverOptions options;
    options.framework.name = "it-" + role;
    options.framework.roles = {role};
    options.masterEndpoint = cluster_.masterEndpoint();
    options.curve = cluster_.schedulerKeys();
    auto driver = sdk::SchedulerDriver::create(scheduler, options);
    EXPECT_TRUE(driver.has_value());
    (*driver)->start();
    return std::move(*driver);
  }
  // The role's entry in GET /api/v1/roles (null if absent).
  nlohmann::json role(const std::string& name) {
    for (const auto& r : cluster_.masterGet("/api/v1/roles").value("roles", nlohmann::json())) {
      if (r["name"] == name) return r;
    }
    return nullptr;
  }
  std::string agentId() { return cluster_.masterGet("/api/v1/agents")["agents"][0]["id"]; }

  Cluster cluster_;
};

TEST_F(ReservationIntegrationTest, StaticReservationGoesOnlyToItsRoleAndRunsTasks) {
  cluster_.startMaster();
  cluster_.startAgent(kAgentResources);
  RecordingScheduler ads;
  auto adsDriver = subscribe(ads, "ads");
  ASSERT_TRUE(eventually([&] { return !ads.offers().empty(); }));
  RecordingScheduler eng;
  auto launched = std::make_shared<std::atomic<bool>>(false);
  eng.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (offer.resources.reservedFor("eng").empty() || launched->exchange(true)) return;
    TaskInfo task = shellTask("on-reserved", "sleep 30", "cpus(eng):0.5;mem(eng):64");
    task.agentId = offer.agentId;
    driver.accept({offer.id}, {sdk::Operation::launch({task})});
  });
  auto engDriver = subscribe(eng, "eng");
  ASSERT_TRUE(eng.waitForState("on-reserved", TaskState::RUNNING));
  for (const auto& offer : ads.offers()) {
    EXPECT_TRUE(offer.offer.resources.reservedPart().empty()) << offer.offer.resources.toString();
  }
  nlohmann::json engRole = role("eng");
  ASSERT_FALSE(engRole.is_null());
  EXPECT_EQ(engRole["reserved"]["cpus"], 1.0);
  EXPECT_EQ(engRole["quota"]["consumed"]["cpus"], 1.0);  // the whole reservation counts
  auto agents = cluster_.masterGet("/api/v1/agents");
  EXPECT_EQ(agents["agents"][0]["reserved"]["eng"]["mem"], 256.0) << agents.dump();
}

TEST_F(ReservationIntegrationTest, CliReservationSurvivesAMasterKillAndUnreserves) {
  cluster_.startMaster();
  cluster_.startAgent(kAgentResources);
  std::string out, err;
  std::string id = agentId();
  ASSERT_EQ(agora({"reserve", id, "cpus:0.5;mem:128", "--role", "web"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("reserved cpus:0.5;mem:128 of agent " + id + " for role web"),
            std::string::npos)
      << out;
  // Refusals: more than is unreserved, a static reservation, an unknown agent.
  EXPECT_EQ(agora({"reserve", id, "cpus:5", "--role", "web"}, &out, &err), 1);
  EXPECT_NE(err.find("unreserved"), std::string::npos) << err;
  EXPECT_EQ(agora({"unreserve", id, "cpus:1", "--role", "eng"}, &out, &err), 1);
  EXPECT_NE(err.find("static reservation"), std::string::npos) << err;
  EXPECT_EQ(agora({"reserve", "no-such-agent", "cpus:0.1", "--role", "web"}, &out, &err), 1);
  EXPECT_EQ(agora({"reserve", id, "cpus:0.1", "--role", "bad role"}, &out, &err), 2);
  ASSERT_EQ(agora({"roles"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("RESERVED"), std::string::npos) << out;
  EXPECT_EQ(role("web")["reserved_dynamic"]["cpus"], 0.5);

  // Applied from the registry when the agent re-registers, and offered as reserved.
  ASSERT_TRUE(cluster_.restartMasterAfterSigkill());
  EXPECT_EQ(role("web")["reserved"]["mem"], 128.0);
  RecordingScheduler web;
  auto driver = subscribe(web, "web");
  ASSERT_TRUE(eventually([&] {
    for (const auto& offer : web.offers()) {
      if (offer.offer.resources.reservedFor("web").scalar("cpus") == 0.5) return true;
    }
    return false;
  }));
  // The framework holds the reserved offer: unreserving rescinds it.
  ASSERT_EQ(agora({"unreserve", id, "cpus:0.5;mem:128", "--role", "web"}, &out, &err), 0) << err;
  EXPECT_TRUE(role("web").is_null() || role("web")["reserved"].empty());
}

// Reservations count toward quota once: a reserve beyond the limit is refused
// with the reason, and `agora run --role eng` runs on the role's reservation
// although the reservation alone fills the limit.
TEST_F(ReservationIntegrationTest, RoleRunsOnItsReservationWithinItsQuota) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:2;mem:1024;disk:1024;ports:[31000-31100]");
  std::string out, err;
  std::string id = agentId();
  ASSERT_EQ(agora({"quota", "set", "eng", "--limit", "cpus:1;mem:256"}, &out, &err), 0) << err;
  EXPECT_EQ(agora({"reserve", id, "cpus:1;mem:512", "--role", "eng"}, &out, &err), 1);
  EXPECT_NE(err.find("reserving mem 512 for role eng would take role eng to mem 512, over its "
                     "quota limit mem 256 (it consumes mem 0"),
            std::string::npos)
      << err;
  ASSERT_EQ(agora({"reserve", id, "cpus:1;mem:256", "--role", "eng"}, &out, &err), 0) << err;
  // A limit below what is reserved is refused too.
  EXPECT_EQ(agora({"quota", "set", "eng", "--limit", "cpus:0.5;mem:256"}, &out, &err), 1);
  EXPECT_NE(err.find("cpus 0.5 is below the 1 reserved for role eng"), std::string::npos) << err;

  ASSERT_EQ(agora({"run", "--role", "eng", "--cpus", "0.5", "--mem", "128", "--timeout", "20",
                   "--", "sh", "-c", "echo on-the-reservation"},
                  &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("on-the-reservation"), std::string::npos) << out << err;
  nlohmann::json tasks = cluster_.masterGet("/api/v1/tasks")["tasks"];
  ASSERT_EQ(tasks.size(), 1u) << tasks.dump();
  EXPECT_EQ(tasks[0]["state"], "TASK_FINISHED") << tasks.dump();
  nlohmann::json eng = role("eng");
  EXPECT_EQ(eng["quota"]["consumed"]["cpus"], 1.0) << eng.dump();  // charged once
}

TEST_F(ReservationIntegrationTest, AgentWithAnInvalidRoleRefusesToStart) {
  cluster_.startMaster();
  std::string out, err;
  int code = cluster_.runCommand(
      {binPath("agora-agent"), "--master", cluster_.masterEndpoint(), "--work-dir",
       cluster_.root() + "/bad-agent", "--http", "127.0.0.1:" + std::to_string(freePort()),
       "--resources", "cpus(eng/../x):1;cpus:1"},
      &out, &err, std::chrono::seconds(20));
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("invalid role 'eng/../x'"), std::string::npos) << err;
}

}  // namespace
}  // namespace agora::testing
