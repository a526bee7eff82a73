// The start socket between an executor (StartLink) and its agent
// (StartSockets), over a real socket pair.

#include "agent/executor/start_link.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "agent/start_sockets.hpp"
#include "common/fake_transport.hpp"

namespace agora::agent {
namespace {

// Reads every message waiting on fd.
std::vector<std::string> drain(int fd) {
  std::vector<std::string> out;
  char buffer[1024];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0;) {
    out.emplace_back(buffer, static_cast<size_t>(n));
  }
  return out;
}

struct Pair {
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0); }
  ~Pair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  int fds[2] = {-1, -1};
};

TEST(StartLinkTest, WritesFramesAtOnceThenSendsEverythingOnTheAttachedLink) {
  Pair pair;
  StartLink link(pair.fds[1], "c1");
  pair.fds[1] = -1;  // the link's now
  EXPECT_EQ(link.identity(), "c1");
  std::vector<std::string> received;
  link.setHandler(
      [&](std::string_view, std::string_view payload) { received.emplace_back(payload); });
  EXPECT_TRUE(link.send(kExecutorProtocol, "register"));
  EXPECT_TRUE(link.send(kExecutorProtocol, "running"));
  EXPECT_TRUE(link.send("other.v1", "not for the start socket"));
  EXPECT_EQ(drain(pair.fds[0]), (std::vector<std::string>{"register", "running"}));

  EventLoop loop;
  FakeNetwork net(loop);
  auto server = net.bind("agent");
  std::vector<std::string> atServer;
  server->setHandler([&](const std::string& peer, std::string_view, std::string_view payload) {
    EXPECT_EQ(peer, "c1");
    atServer.emplace_back(payload);
  });
  auto client = net.connect("agent", "c1");
  link.attach(*client);
  EXPECT_TRUE(link.attached());
  EXPECT_TRUE(link.send(kExecutorProtocol, "finished"));
  loop.runUntilIdle();
  EXPECT_EQ(atServer, (std::vector<std::string>{"finished"})) << "the link resends nothing itself";
  EXPECT_EQ(recv(pair.fds[0], nullptr, 0, MSG_DONTWAIT), 0) << "the start socket is still open";
  server->send("c1", kExecutorProtocol, "ack");
  loop.runUntilIdle();
  EXPECT_EQ(received, (std::vector<std::string>{"ack"})) << "the handler did not move to the link";
}

TEST(StartLinkTest, NeverBlocksAndSurvivesAnAgentThatClosedItsEnd) {
  Pair pair;
  int small = 4096;
  setsockopt(pair.fds[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  StartLink link(pair.fds[1], "c1");
  pair.fds[1] = -1;
  std::string big(2000, 'x');
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(link.send(kExecutorProtocol, big));  // would block
  close(pair.fds[0]);
  pair.fds[0] = -1;
  EXPECT_TRUE(link.send(kExecutorProtocol, "after the agent left"));
  EXPECT_EQ(link.stats().framesOut, 201u);
}

TEST(StartSocketsTest, HandsFramesToTheHandlerAndClosesAtEndOfFile) {
  EventLoop loop;
  std::vector<std::pair<std::string, std::string>> frames;
  StartSockets sockets(
      loop, [&](const std::string& id, std::string_view frame) { frames.emplace_back(id, frame); });
  auto fd = sockets.open("c1");
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_FALSE(sockets.open("c1")) << "a second socket for the same container";
  EXPECT_NE(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
  for (std::string frame : {"one", "two"}) send(*fd, frame.data(), frame.size(), 0);
  std::string huge(StartSockets::kMaxFrameBytes + 1, 'x');
  ASSERT_EQ(send(*fd, huge.data(), huge.size(), 0), static_cast<ssize_t>(huge.size()));
  send(*fd, "three", 5, 0);
  loop.runUntilIdle();
  EXPECT_EQ(frames, (std::vector<std::pair<std::string, std::string>>{
                        {"c1", "one"}, {"c1", "two"}, {"c1", "three"}}));
  EXPECT_EQ(sockets.oversized(), 1u);
  EXPECT_EQ(sockets.size(), 1u);
  close(*fd);
  loop.runUntilIdle();
  EXPECT_EQ(sockets.size(), 0u) << "end-of-file did not close ours";
  sockets.close("c1");  // no longer there: nothing happens
}

TEST(StartSocketsTest, TheHandlerMayCloseTheSocketItReads) {
  EventLoop loop;
  int calls = 0;
  StartSockets* self = nullptr;
  StartSockets sockets(loop, [&](const std::string& id, std::string_view) {
    ++calls;
    self->close(id);
  });
  self = &sockets;
  auto fd = sockets.open("c1");
  ASSERT_TRUE(fd);
  for (int i = 0; i < 3; ++i) send(*fd, "x", 1, 0);
  loop.runUntilIdle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(sockets.size(), 0u);
  close(*fd);
}

}  // namespace
}  // namespace agora::agent
