// A master with CurveZMQ credentials (--curve-key, --credentials): only
// agents whose keys it knows register; a rogue key, a plain client and an
// agent pinning another master's key get nothing.

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <zmq.hpp>

#include "common/codec.hpp"
#include "common/curve.hpp"
#include "common/http_client.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

class CurveClusterTest : public ::testing::Test {
 protected:
  CurveClusterTest() : keys_(cluster_.root() + "/keys") {
    std::filesystem::create_directories(keys_ + "/agents");
    std::filesystem::create_directories(keys_ + "/frameworks");
    for (const std::string& prefix : {keys_ + "/master", keys_ + "/agents/rack1-07",
                                      keys_ + "/frameworks/ops", keys_ + "/rogue",
                                      keys_ + "/other"}) {
      EXPECT_TRUE(writeCurveKeyPair(prefix, *generateCurveKeyPair()));
    }
    cluster_.startMaster({"--curve-key", keys_ + "/master.key", "--credentials", keys_});
  }
  std::vector<std::string> agentKeys(const std::string& key, const std::string& master) {
    return {"--curve-key", key, "--master-public-key", master};
  }
  // The value of the /metrics line matching `pattern` (a regex before the
  // value), -1 if none.
  long metric(const std::string& pattern) {
    auto metrics = http::get(cluster_.masterHttp() + "/metrics", std::chrono::seconds(5));
    std::smatch match;
    if (!metrics || !std::regex_search(metrics->body, match, std::regex(pattern + " ([0-9]+)"))) {
      return -1;
    }
    return std::stol(match[1]);
  }
  long refusedHandshakes() { return metric("agora_master_refused_handshakes_total"); }
  size_t agents() {
    return cluster_.masterGet("/api/v1/agents").value("agents", nlohmann::json::array()).size();
  }

  Cluster cluster_;
  std::string keys_;
};

TEST_F(CurveClusterTest, OnlyAnAgentWithAKnownKeyRegisters) {
  // Never heard: a known key that pins another master's public key, a plain
  // client, and an unknown key (refused by the master, which counts it).
  cluster_.startAgent("cpus:1;mem:256", agentKeys(keys_ + "/agents/rack1-07.key",
                                                  keys_ + "/other.pub"),
                      false);
  zmq::socket_t plain(zmqContext(), zmq::socket_type::dealer);
  plain.set(zmq::sockopt::linger, 0);
  plain.set(zmq::sockopt::routing_id, "plain-agent");
  plain.connect(cluster_.masterEndpoint());
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  envelope.initRegisterAgent().setHostname("plain");
  std::string payload = encodePacked(message);
  std::array<zmq::const_buffer, 2> frame = {zmq::buffer(kAgentProtocol), zmq::buffer(payload)};
  (void)plain.send(frame[0], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  (void)plain.send(frame[1], zmq::send_flags::dontwait);
  cluster_.startAgent("cpus:1;mem:256", agentKeys(keys_ + "/rogue.key", keys_ + "/master.pub"),
                      false);
  EXPECT_TRUE(eventually([&] { return refusedHandshakes() >= 1; }));

  // The known agent registers; by then the others have had their chances.
  cluster_.startAgent("cpus:2;mem:1024", agentKeys(keys_ + "/agents/rack1-07.key",
                                                   keys_ + "/master.pub"));
  auto listed = cluster_.masterGet("/api/v1/agents")["agents"];
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["resources"]["cpus"], 2);
  // Nothing the others sent reached the master's handlers: one registration in all.
  EXPECT_EQ(metric("type=\"registerAgent\"\\}"), 1);
  EXPECT_EQ(agents(), 1u);
}

TEST_F(CurveClusterTest, AFrameworkWithAKnownKeyRunsATaskAndOneWithoutIsNeverHeard) {
  cluster_.startAgent("cpus:2;mem:1024", agentKeys(keys_ + "/agents/rack1-07.key",
                                                   keys_ + "/master.pub"));
  auto run = [&](std::vector<std::string> extra, const std::string& timeout, std::string* err) {
    std::vector<std::string> argv = {binPath("agora"), "--master", cluster_.masterHttp(),
                                     "--scheduler-endpoint", cluster_.masterEndpoint(), "run",
                                     "--timeout", timeout};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--", "echo over curve"});
    std::string out;
    int code = cluster_.runCommand(argv, &out, err);
    return code == 0 ? out : "exit " + std::to_string(code);
  };
  std::string err;
  EXPECT_EQ(run({"--curve-key", keys_ + "/frameworks/ops.key", "--master-public-key",
                 keys_ + "/master.pub"},
                "30s", &err),
            "over curve\n")
      << err;
  // 125: no offer came (kExitRunFailed); the master never heard these two.
  EXPECT_EQ(run({}, "2s", &err), "exit 125") << err;
  EXPECT_NE(err.find("did not answer"), std::string::npos) << err;
  EXPECT_EQ(run({"--curve-key", keys_ + "/rogue.key", "--master-public-key",
                 keys_ + "/master.pub"},
                "2s", &err),
            "exit 125")
      << err;
  EXPECT_TRUE(eventually([&] { return refusedHandshakes() >= 1; }));
}

TEST_F(CurveClusterTest, TheMasterRefusesToStartWithHalfItsCredentials) {
  std::string out, err;
  int code = cluster_.runCommand({binPath("agora-master"), "--work-dir", cluster_.root() + "/m2",
                                  "--curve-key", keys_ + "/master.key"},
                                 &out, &err, std::chrono::seconds(20));
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("--curve-key and --credentials go together"), std::string::npos) << err;
}

}  // namespace
}  // namespace agora::testing
