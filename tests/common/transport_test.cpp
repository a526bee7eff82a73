#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/fake_transport.hpp"
#include "common/zmq_transport.hpp"

namespace agora {
namespace {

class FakeTransportTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
};

TEST_F(FakeTransportTest, DeliversBothWaysAsynchronously) {
  auto server = network_.bind("master");
  auto client = network_.connect("master", "agent-1");
  std::vector<std::string> atServer, atClient;
  server->setHandler([&](const std::string& peer, std::string_view protocol, std::string_view payload) {
    atServer.push_back(peer + "|" + std::string(protocol) + "|" + std::string(payload));
    server->send(peer, protocol, "pong");
  });
  client->setHandler([&](std::string_view, std::string_view payload) {
    atClient.emplace_back(payload);
  });
  client->send(kAgentProtocol, "ping");
  EXPECT_TRUE(atServer.empty());  // asynchronous, like sockets
  loop_.runUntilIdle();
  EXPECT_EQ(atServer, std::vector<std::string>({"agent-1|agora.agent.v1|ping"}));
  EXPECT_EQ(atClient, std::vector<std::string>({"pong"}));
}

TEST_F(FakeTransportTest, CutOffPeerLosesMessages) {
  auto server = network_.bind("master");
  auto client = network_.connect("master", "agent-1");
  int received = 0;
  server->setHandler([&](const std::string&, std::string_view, std::string_view) { ++received; });
  network_.cutOff("agent-1");
  client->send(kAgentProtocol, "x");
  loop_.runUntilIdle();
  EXPECT_EQ(received, 0);
  EXPECT_FALSE(server->send("agent-1", kAgentProtocol, "y"));
  network_.restore("agent-1");
  client->send(kAgentProtocol, "x");
  loop_.runUntilIdle();
  EXPECT_EQ(received, 1);
}

// Real sockets: ZeroMQ hands out unaligned buffers and garbage must be dropped.
TEST(ZmqTransportTest, ServerSurvivesMalformedFramesAndServesClients) {
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  std::string endpoint = (*server)->endpoint();
  std::vector<std::string> received;
  (*server)->setHandler([&](const std::string& peer, std::string_view protocol, std::string_view payload) {
    received.push_back(std::string(protocol) + ":" + std::string(payload));
    (*server)->send(peer, protocol, "reply");
  });

  zmq::socket_t raw(zmqContext(), zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(endpoint);
  raw.send(zmq::str_buffer("only-one-part"), zmq::send_flags::none);
  std::array<zmq::const_buffer, 4> four = {zmq::str_buffer("a"), zmq::str_buffer("b"),
                                           zmq::str_buffer("c"), zmq::str_buffer("d")};
  zmq::send_multipart(raw, four);

  auto client = ZmqClient::create(loop, endpoint, "client-1");
  ASSERT_TRUE(client.has_value());
  std::string reply;
  (*client)->setHandler([&](std::string_view, std::string_view payload) {
    reply = payload;
    loop.stop();
  });
  (*client)->send(kAgentProtocol, "hello");
  auto guard = loop.addTimer(seconds(10), [&] { loop.stop(); });
  loop.run();
  loop.cancelTimer(guard);
  EXPECT_EQ(reply, "reply");
  EXPECT_EQ(received, std::vector<std::string>({"agora.agent.v1:hello"}));
  EXPECT_EQ((*server)->stats().malformedFrames.load(), 2u);
}

TEST(ZmqTransportTest, PeersWhoseIdentityIsNotPrintableAreNotServed) {
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value());
  std::string endpoint = (*server)->endpoint();
  std::vector<std::string> peers;
  (*server)->setHandler([&](const std::string& peer, std::string_view protocol, std::string_view) {
    peers.push_back(peer);
    (*server)->send(peer, protocol, "reply");
  });
  // An identity that would write a line of its own into the log, and none
  // at all (ZeroMQ then makes one up: a zero byte and four random ones).
  std::vector<zmq::socket_t> raws;
  for (const char* identity : {"agent-x\nE1207 00:00:00 forged line", ""}) {
    raws.emplace_back(zmqContext(), zmq::socket_type::dealer);
    raws.back().set(zmq::sockopt::linger, 0);
    if (*identity != '\0') raws.back().set(zmq::sockopt::routing_id, identity);
    raws.back().connect(endpoint);
    std::array<zmq::const_buffer, 2> frame = {zmq::buffer(std::string_view(kAgentProtocol)),
                                              zmq::str_buffer("hello")};
    zmq::send_multipart(raws.back(), frame);
  }
  auto client = ZmqClient::create(loop, endpoint, "client-1");
  ASSERT_TRUE(client.has_value());
  bool replied = false;
  (*client)->setHandler([&](std::string_view, std::string_view) { replied = true; });
  (*client)->send(kAgentProtocol, "hello");
  // Until the reply and both dropped frames are in, or 10 s.
  std::function<void()> poll = [&] {
    if (replied && (*server)->stats().malformedFrames.load() >= 2) return loop.stop();
    loop.addTimer(millis(10), poll);
  };
  poll();
  auto deadline = loop.addTimer(seconds(10), [&] { loop.stop(); });
  loop.run();
  loop.cancelTimer(deadline);
  EXPECT_EQ(peers, std::vector<std::string>{"client-1"});
  EXPECT_EQ((*server)->stats().malformedFrames.load(), 2u);
  EXPECT_TRUE(printableIdentity("agent-3f2a"));
  EXPECT_FALSE(printableIdentity("a b"));
  EXPECT_FALSE(printableIdentity(std::string("\0abcd", 5)));
}

TEST(ZmqTransportTest, SendToUnknownPeerFails) {
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value());
  EXPECT_FALSE((*server)->send("nobody", kAgentProtocol, "x"));
  EXPECT_EQ((*server)->stats().sendFailures.load(), 1u);
}

// The accept-queue limit the kernel applied to the listening TCP socket on
// `port` (what `ss -lnt` shows as Send-Q), through sock_diag; -1 if not found.
int listenBacklog(uint16_t port) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } query{};
  query.header.nlmsg_len = sizeof(query);
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  query.request.sdiag_family = AF_INET;
  query.request.sdiag_protocol = IPPROTO_TCP;
  query.request.idiag_states = 1u << 10;  // TCP_LISTEN
  int backlog = -1;
  bool done = send(fd, &query, sizeof(query), 0) != static_cast<ssize_t>(sizeof(query));
  alignas(nlmsghdr) char buffer[16384];
  while (!done) {
    ssize_t length = recv(fd, buffer, sizeof(buffer), 0);
    if (length <= 0) break;
    int remaining = static_cast<int>(length);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, remaining);
         header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_type == NLMSG_DONE || header->nlmsg_type == NLMSG_ERROR) {
        done = true;
        break;
      }
      auto* socketInfo = static_cast<inet_diag_msg*>(NLMSG_DATA(header));
      // For a listening socket the write queue field holds its backlog.
      if (ntohs(socketInfo->id.idiag_sport) == port) backlog = static_cast<int>(socketInfo->idiag_wqueue);
    }
  }
  close(fd);
  return backlog;
}

// Thousands of agents reconnect at once after a master restart: the server
// must not keep libzmq's default accept queue of 100.
TEST(ZmqTransportTest, ServerListensWithALongAcceptQueue) {
  int somaxconn = 0;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  if (somaxconn <= 100) GTEST_SKIP() << "net.core.somaxconn is " << somaxconn;
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  std::string endpoint = (*server)->endpoint();
  auto port = static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  EXPECT_EQ(listenBacklog(port), std::min(somaxconn, 4096));
}

TEST(ZmqTransportTest, BindingAnInvalidEndpointIsAnError) {
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://256.1.1.1:99999");
  EXPECT_FALSE(server.has_value());
}

}  // namespace
}  // namespace agora

// The context's socket limit follows limitZmqSockets() when it comes first,
// else the descriptor limit. The first half runs in a fresh copy of this
// test binary (this process's context exists already).
TEST(ZmqTransportTest, AProcessCanCapItsSocketsBeforeTheContextStarts) {
  if (getenv("AGORA_TEST_ZMQ_LIMIT_CHILD") != nullptr) {
    agora::limitZmqSockets(16);
    bool capped = agora::zmqContext().get(zmq::ctxopt::max_sockets) == 16;
    agora::limitZmqSockets(64);  // too late: no effect
    _exit(capped && agora::zmqContext().get(zmq::ctxopt::max_sockets) == 16 ? 0 : 1);
  }
  pid_t pid = fork();
  if (pid == 0) {
    setenv("AGORA_TEST_ZMQ_LIMIT_CHILD", "1", 1);
    execl("/proc/self/exe", "transport_test",
          "--gtest_filter=ZmqTransportTest.AProcessCanCapItsSocketsBeforeTheContextStarts",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur > 1024 && files.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(agora::zmqContext().get(zmq::ctxopt::max_sockets),
              static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20)));
  }
}
