// Pure logic of high availability: zk:// URLs, the election order, the
// MasterInfo payload, a standby's HTTP answers and the leader's gate.

#include <gtest/gtest.h>

#include "common/fake_transport.hpp"
#include "common/zk/election.hpp"
#include "common/zk/zk_url.hpp"
#include "master/leadership.hpp"

namespace agora {
namespace {

using zk::MasterInfo;

TEST(ZkUrlTest, ParsesServersAndPath) {
  auto url = zk::parseZkUrl("zk://10.0.0.1:2181,10.0.0.2:2182/agora/masters");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->servers, "10.0.0.1:2181,10.0.0.2:2182");
  EXPECT_EQ(url->path, "/agora/masters");
  EXPECT_EQ(url->toString(), "zk://10.0.0.1:2181,10.0.0.2:2182/agora/masters");
  EXPECT_TRUE(zk::isZkUrl("zk://h:1/p"));
  EXPECT_FALSE(zk::isZkUrl("tcp://127.0.0.1:5055"));
}

TEST(ZkUrlTest, RejectsMalformedUrlsNamingTheProblem) {
  struct Case {
    const char* url;
    const char* why;
  } cases[] = {
      {"tcp://h:2181/agora", "must start with zk://"},
      {"zk://h:2181", "missing the path"},
      {"zk:///agora", "no servers"},
      {"zk://h/agora", "is not HOST:PORT"},
      {"zk://h:0/agora", "port must be 1-65535"},
      {"zk://h:70000/agora", "port must be 1-65535"},
      {"zk://h:21x/agora", "port must be 1-65535"},
      {"zk://h:2181,/agora", "is not HOST:PORT"},
      {"zk://h:2181/", "below the root"},
      {"zk://h:2181/agora/", "must not end with '/'"},
      {"zk://h:2181/a//b", "empty component"},
  };
  for (const auto& c : cases) {
    auto url = zk::parseZkUrl(c.url);
    ASSERT_FALSE(url) << c.url;
    EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(url.error().message.find(c.why), std::string::npos) << url.error().message;
  }
}

TEST(ZkUrlTest, ParsesTimeouts) {
  EXPECT_EQ(*zk::parseTimeout("2s"), seconds(2));
  EXPECT_EQ(*zk::parseTimeout("1.5"), seconds(1.5));
  EXPECT_EQ(*zk::parseTimeout("500ms"), millis(500));
  EXPECT_FALSE(zk::parseTimeout("0s"));
  EXPECT_FALSE(zk::parseTimeout("-1s"));
  EXPECT_FALSE(zk::parseTimeout("ten seconds"));
  EXPECT_FALSE(zk::parseTimeout(""));
  EXPECT_FALSE(zk::parseTimeout("2h"));
}

TEST(ElectionTest, OrdersCandidatesBySequenceNotByName) {
  std::vector<std::string> children = {"info_ff-0000000012", "info_01-0000000010",
                                       "lock-0000000001", "info_aa-0000000011",
                                       "info_bad-00000000x9"};
  EXPECT_EQ(zk::candidateSequence("info_ff-0000000012"), 12u);
  EXPECT_EQ(zk::candidateSequence("lock-0000000001"), std::nullopt);
  EXPECT_EQ(zk::candidateSequence("info_bad-00000000x9"), std::nullopt);
  EXPECT_EQ(zk::leaderOf(children), "info_01-0000000010");
  EXPECT_EQ(zk::leaderOf({"lock-0000000001"}), std::nullopt);
  EXPECT_EQ(zk::leaderOf({}), std::nullopt);
}

TEST(ElectionTest, EachCandidateWatchesOnlyItsPredecessor) {
  std::vector<std::string> children = {"info_c-0000000007", "info_a-0000000003",
                                       "info_b-0000000005"};
  EXPECT_EQ(zk::predecessorOf(children, "info_a-0000000003"), std::nullopt);  // the leader
  EXPECT_EQ(zk::predecessorOf(children, "info_b-0000000005"), "info_a-0000000003");
  EXPECT_EQ(zk::predecessorOf(children, "info_c-0000000007"), "info_b-0000000005");
  EXPECT_EQ(zk::predecessorOf(children, "info_x-0000000001"), std::nullopt);  // not a candidate
}

TEST(ElectionTest, FindsTheNodeASessionAlreadyCreated) {
  std::vector<std::string> children = {"info_1a-0000000003", "info_2b-0000000004",
                                       "info_1a-0000000006"};
  EXPECT_EQ(zk::candidatePrefix("1a"), "info_1a-");
  EXPECT_EQ(zk::ownedBy(children, "1a"), "info_1a-0000000006");
  EXPECT_EQ(zk::ownedBy(children, "1"), std::nullopt);
}

TEST(ElectionTest, MasterInfoRoundTripsAndRejectsGarbage) {
  MasterInfo info{"m1", "tcp://10.0.0.1:5055", "10.0.0.1:5050", "host-a", "0.1.0"};
  auto decoded = zk::decodeMasterInfo(zk::encodeMasterInfo(info));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, info);
  EXPECT_FALSE(zk::decodeMasterInfo("not a capnp message"));
  EXPECT_FALSE(zk::decodeMasterInfo(zk::encodeMasterInfo(MasterInfo{"m2", "", "", "", ""})));
}

TEST(StandbyResponseTest, RedirectsToTheLeaderKeepingPathAndQuery) {
  master::Leadership::View standby{false, "m1", "10.0.0.1:5050"};
  http::Request request;
  request.method = "GET";
  request.path = "/api/v1/tasks";
  request.target = "/api/v1/tasks?framework_id=f%201&state=RUNNING";
  auto response = master::standbyResponse(standby, request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 307);
  ASSERT_EQ(response->headers.size(), 1u);
  EXPECT_EQ(response->headers[0].first, "Location");
  EXPECT_EQ(response->headers[0].second,
            "http://10.0.0.1:5050/api/v1/tasks?framework_id=f%201&state=RUNNING");
}

TEST(StandbyResponseTest, AnHttpsLeaderIsRedirectedToOverHttps) {
  http::Request request;
  request.method = "GET";
  request.path = request.target = "/api/v1/state";
  auto response = master::standbyResponse({false, "m1", "https://10.0.0.1:5050"}, request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers[0].second, "https://10.0.0.1:5050/api/v1/state");
}

TEST(StandbyResponseTest, AnswersHealthAndMetricsLocallyAnd503WithoutALeader) {
  http::Request request;
  request.method = "GET";
  request.path = request.target = "/metrics";
  EXPECT_FALSE(master::standbyResponse({false, "m1", "10.0.0.1:5050"}, request));
  request.path = request.target = "/api/v1/state";
  EXPECT_FALSE(master::standbyResponse({true, "m1", "10.0.0.1:5050"}, request));  // leading
  auto none = master::standbyResponse({false, "", ""}, request);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 503);
}

// Frames to the gated transport: a standby answers them, a master taking
// over holds them and delivers them in order once it opens.
class GatedTransportTest : public ::testing::Test {
 protected:
  GatedTransportTest() {
    gate_.setHandler([this](const std::string& peer, std::string_view, std::string_view payload) {
      delivered_.push_back(peer + ":" + std::string(payload));
    });
    gate_.setClosedHandler(
        [this](const std::string& peer, std::string_view) { answered_.push_back(peer); });
    client_->setHandler([this](std::string_view, std::string_view payload) {
      replies_.push_back(std::string(payload));
    });
  }
  void send(const std::string& payload) {
    client_->send("agent", payload);
    loop_.runUntilIdle();
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  std::unique_ptr<FakeServer> server_ = network_.bind("inproc://master");
  std::unique_ptr<FakeClient> client_ = network_.connect("inproc://master", "a1");
  master::GatedTransport gate_{*server_};
  std::vector<std::string> delivered_, answered_, replies_;
};

TEST_F(GatedTransportTest, StandbyAnswersFramesAndDeliversNothing) {
  send("register");
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(answered_, std::vector<std::string>{"a1"});
  EXPECT_FALSE(gate_.send("a1", "agent", "offer"));  // nothing leaves a closed gate
  EXPECT_TRUE(gate_.sendDirect("a1", "agent", "notLeader"));
  loop_.runUntilIdle();
  EXPECT_EQ(replies_, std::vector<std::string>{"notLeader"});
}

TEST_F(GatedTransportTest, HoldsFramesDuringTakeoverAndDeliversThemInOrderWhenOpened) {
  gate_.hold();
  send("register");
  send("subscribe");
  EXPECT_TRUE(delivered_.empty());
  EXPECT_TRUE(answered_.empty()) << "a master taking over does not redirect";
  EXPECT_EQ(gate_.held(), 2u);
  gate_.open();
  EXPECT_EQ(delivered_, (std::vector<std::string>{"a1:register", "a1:subscribe"}));
  EXPECT_EQ(gate_.held(), 0u);
  send("ping");
  EXPECT_EQ(delivered_.back(), "a1:ping");
  EXPECT_TRUE(gate_.send("a1", "agent", "registered"));
}

TEST_F(GatedTransportTest, AHeldFrameIsDeliveredWithItsSendersPrincipal) {
  std::vector<std::string> principals;
  gate_.setHandler([&](const std::string&, std::string_view, std::string_view) {
    principals.push_back(gate_.principal());
  });
  server_->setPrincipal("a1", "framework:billing");
  gate_.hold();
  send("subscribe");
  gate_.open();
  send("call");
  EXPECT_EQ(principals, (std::vector<std::string>{"framework:billing", "framework:billing"}));
}

TEST_F(GatedTransportTest, HoldsAtMostABoundedNumberOfFrames) {
  gate_.hold();
  for (size_t i = 0; i < master::GatedTransport::kMaxHeld + 5; ++i) client_->send("agent", "x");
  loop_.runUntilIdle();
  EXPECT_EQ(gate_.held(), master::GatedTransport::kMaxHeld);
  gate_.open();
  EXPECT_EQ(delivered_.size(), master::GatedTransport::kMaxHeld);
}

}  // namespace
}  // namespace agora
