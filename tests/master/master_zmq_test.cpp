// The master behind a real ZmqServer: garbage from a raw DEALER (unaligned
// buffers, wrong part counts) is dropped and a valid registration still works.

#include <gtest/gtest.h>

#include <chrono>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/codec.hpp"
#include "common/zmq_transport.hpp"
#include "master/master.hpp"
#include "tests/master/fake_peers.hpp"

namespace agora::master {
namespace {

TEST(MasterZmqTest, SurvivesGarbageFramesAndStillRegistersAgents) {
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  Master master(loop, **server, MasterOptions{});

  zmq::socket_t dealer(zmqContext(), zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::routing_id, "agent-raw");
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect((*server)->endpoint());
  auto sendParts = [&](std::vector<std::string> parts) {
    std::vector<zmq::const_buffer> buffers;
    for (const auto& p : parts) buffers.push_back(zmq::buffer(p));
    ASSERT_TRUE(zmq::send_multipart(dealer, buffers).has_value());
  };
  sendParts({"only-one-part"});
  sendParts({std::string(kAgentProtocol), "x", "three parts"});
  sendParts({std::string(kAgentProtocol), std::string("\0\0\0\0\xff\xff\xff\x7f garbage", 17)});
  sendParts({std::string(kAgentProtocol), ""});
  sendParts({"agora.nope.v1", "payload"});
  // A valid frame at an odd offset inside ZeroMQ's buffer.
  Resources total = *Resources::parse("cpus:2;mem:512");
  sendParts(
      {std::string(kAgentProtocol), testing::agentFrame([&](schema::AgentEnvelope::Builder e) {
         auto reg = e.initRegisterAgent();
         reg.setHostname("raw");
         total.toCapnp(reg.initResources(total.count()));
       })});

  std::string agentId;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (agentId.empty() && std::chrono::steady_clock::now() < deadline) {
    loop.runUntilIdle();
    zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(10));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> reply;
    ASSERT_TRUE(zmq::recv_multipart(dealer, std::back_inserter(reply)).has_value());
    ASSERT_EQ(reply.size(), 2u);
    auto decoded = Decoded::parse(reply[1].to_string_view());
    ASSERT_TRUE(decoded.has_value());
    auto env = decoded->root<schema::AgentEnvelope>();
    if (env.isAgentRegistered()) agentId = env.getAgentRegistered().getAgentId();
  }
  EXPECT_EQ(agentId, master.id() + "-S1");
  EXPECT_GE((*server)->stats().malformedFrames, 2u);
  EXPECT_GE(master.metrics().rejectedTotal(), 3u);
  EXPECT_EQ(master.state().agents.size(), 1u);
}

}  // namespace
}  // namespace agora::master
