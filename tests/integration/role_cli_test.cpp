// Roles end to end with real processes: `agora weight|quota|roles` against a
// real master, `agora run --role` explaining a quota that cannot fit, and
// --offer-timeout rescinding an offer a real scheduler holds.

#include <gtest/gtest.h>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

class RoleCliTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> masterFlags = {}) {
    cluster_.startMaster(std::move(masterFlags));
    cluster_.startAgent();
  }
  // Runs `agora --master M ARGS...`; returns the exit code.
  int agora(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    std::vector<std::string> argv = {binPath("agora"), "--master", cluster_.masterHttp()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string o, e;
    int code = cluster_.runCommand(argv, out ? out : &o, err ? err : &e);
    return code;
  }
  nlohmann::json roleFromCli(const std::string& name) {
    std::string out;
    EXPECT_EQ(agora({"roles", "-o", "json"}, &out), 0);
    auto body = nlohmann::json::parse(out, nullptr, false);
    if (!body.is_object()) return nullptr;
    for (const auto& role : body["roles"]) {
      if (role["name"] == name) return role;
    }
    return nullptr;
  }

  Cluster cluster_;
};

TEST_F(RoleCliTest, QuotaAndWeightSetThroughTheCliShowInRoles) {
  start();
  std::string out, err;
  ASSERT_EQ(agora({"weight", "set", "eng", "3"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("weight set to 3"), std::string::npos) << out;
  ASSERT_EQ(agora({"quota", "set", "eng", "--guarantee", "cpus:0.25;mem:64", "--limit",
                   "cpus:0.5;mem:256"},
                  &out, &err),
            0)
      << err;
  nlohmann::json eng = roleFromCli("eng");
  ASSERT_FALSE(eng.is_null());
  EXPECT_EQ(eng["weight"], 3.0);
  EXPECT_EQ(eng["quota"]["guarantee"]["cpus"], 0.25);
  EXPECT_EQ(eng["quota"]["limit"]["cpus"], 0.5);
  EXPECT_EQ(eng["quota"]["limit"]["mem"], 256.0);

  ASSERT_EQ(agora({"roles"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("ROLE"), std::string::npos) << out;
  EXPECT_NE(out.find("cpus:0.5 mem:256"), std::string::npos) << out;

  // A task bigger than the limit cannot be placed, and the CLI says why.
  int code = agora({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--role", "eng",
                    "--cpus", "1", "--timeout", "2", "--", "true"},
                   &out, &err);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("role eng: quota limit cpus 0.5 < requested 1"), std::string::npos) << err;

  // Without quota the explanation names the largest offer the role got.
  code = agora({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--role", "ops",
                "--cpus", "64", "--timeout", "2", "--", "true"},
               &out, &err);
  EXPECT_NE(code, 0);
  // (eng's guarantee holds back cpus:0.25 of the agent's cpus:2 for eng.)
  EXPECT_NE(err.find("role ops has no quota; largest offer to ops had cpus:1.75;mem:"),
            std::string::npos)
      << err;

  ASSERT_EQ(agora({"quota", "rm", "eng"}, &out, &err), 0) << err;
  eng = roleFromCli("eng");
  ASSERT_FALSE(eng.is_null());  // kept for its weight
  EXPECT_TRUE(eng["quota"]["limit"].is_null());
}

TEST_F(RoleCliTest, ApiErrorsAreShownVerbatimAndUsageErrorsExit2) {
  start();
  std::string out, err;
  EXPECT_EQ(agora({"weight", "set", "eng", "0"}, &out, &err), 1);
  EXPECT_EQ(err, "agora: weight: must be a number in (0, 1e6]\n");
  EXPECT_EQ(agora({"quota", "rm", "nothing"}, &out, &err), 1);
  EXPECT_EQ(err, "agora: role 'nothing' has no quota\n");
  EXPECT_EQ(agora({"quota", "set", "eng/../x", "--limit", "cpus:1"}, &out, &err), 1);
  EXPECT_EQ(err.rfind("agora: role: ", 0), 0u) << err;

  EXPECT_EQ(agora({"quota", "set", "eng"}, &out, &err), 2);
  EXPECT_NE(err.find("give --guarantee, --limit or both"), std::string::npos) << err;
  EXPECT_EQ(agora({"weight", "set", "eng", "heavy"}, &out, &err), 2);
  EXPECT_EQ(agora({"roles", "-o", "yaml"}, &out, &err), 2);
  // Nothing changed.
  EXPECT_TRUE(roleFromCli("eng").is_null());
}

TEST_F(RoleCliTest, OfferTimeoutRescindsAHeldOfferAndCountsIt) {
  start({"--offer-timeout", "500ms"});
  RecordingScheduler hoarder;  // holds every offer
  sdk::DriverOptions options;
  options.framework.name = "it-hoarder";
  options.masterEndpoint = cluster_.masterEndpoint();
  options.curve = cluster_.schedulerKeys();
  auto driver = sdk::SchedulerDriver::create(hoarder, options);
  ASSERT_TRUE(driver.has_value());
  (*driver)->start();
  ASSERT_TRUE(eventually([&] { return !hoarder.offers().empty(); }));
  ASSERT_TRUE(eventually([&] { return !hoarder.rescinded().empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(hoarder.rescinded().front(), hoarder.offers().front().offer.id);
  double held = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              hoarder.offers().front().at)
                    .count();
  EXPECT_GE(held, 0.45);

  auto allocation = cluster_.masterGet("/api/v1/allocation");
  EXPECT_EQ(allocation["offer_timeout_sec"], 0.5);
  auto metrics = http::get("http://" + cluster_.masterHttp() + "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("agora_master_offers_rescinded_total{reason=\"timeout\"}"),
            std::string::npos);
  // Re-offered after the holder's short filter: the resources were not lost.
  EXPECT_TRUE(eventually([&] { return hoarder.offers().size() >= 2; }, std::chrono::seconds(5)));
}

TEST_F(RoleCliTest, RunWithAConstraintLandsOnlyOnMatchingAgents) {
  cluster_.startMaster();
  const std::string resources = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]";
  cluster_.startAgent(resources, {"--attributes", "rack:r1"});
  cluster_.startAgent(resources, {"--attributes", "rack:r2;zone:z9"});
  std::string r2;
  ASSERT_TRUE(eventually([&] {  // the API serves a snapshot that may lag a render
    nlohmann::json agents = cluster_.masterGet("/api/v1/agents");
    for (const auto& a : agents["agents"]) {
      if (a["attributes"].value("rack", "") == "r2") r2 = a["id"].get<std::string>();
    }
    return !r2.empty();
  })) << cluster_.masterGet("/api/v1/agents").dump();
  for (int i = 0; i < 3; ++i) {
    std::string out, err;
    ASSERT_EQ(agora({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--timeout", "20",
                     "--constraint", "rack=r2", "--constraint", "zone~z[0-9]", "--", "true"},
                    &out, &err),
              0)
        << out << err;
  }
  auto tasks = cluster_.masterGet("/api/v1/tasks")["tasks"];
  ASSERT_EQ(tasks.size(), 3u) << tasks.dump();
  for (const auto& t : tasks) EXPECT_EQ(t["agent_id"], r2) << t.dump();

  std::string out, err;
  EXPECT_NE(agora({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--timeout", "2",
                   "--constraint", "rack=r3", "--", "true"},
                  &out, &err),
            0);
  EXPECT_NE(agora({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--timeout", "5",
                   "--constraint", "rack~(", "--", "true"},
                  &out, &err),
            0);
  EXPECT_NE(err.find("invalid regex"), std::string::npos) << err;
}

}  // namespace
}  // namespace agora::testing
