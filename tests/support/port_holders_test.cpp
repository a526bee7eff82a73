// describePortHolders / portSockets against real sockets: a listener of ours,
// a child that inherited it, and a listener inside another network namespace.

#include "tests/support/port_holders.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "tests/support/netns_link.hpp"

namespace agora::testing {
namespace {

// A listener on `address`:0 in the calling thread's network namespace.
int listenAny(const char* address, uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, address, &addr.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

bool holds(const PortSocket& s, pid_t pid) {
  return std::find(s.holders.begin(), s.holders.end(), pid) != s.holders.end();
}

TEST(PortHoldersTest, NamesTheListenerAndTheChildThatInheritedIt) {
  uint16_t port = 0;
  int fd = listenAny("127.0.0.1", &port);
  ASSERT_GE(fd, 0);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    ssize_t n = write(ready[1], "x", 1);
    (void)n;
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);

  auto sockets = portSockets(port);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].state, "LISTEN");
  EXPECT_EQ(sockets[0].local, "127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(holds(sockets[0], getpid()));
  EXPECT_TRUE(holds(sockets[0], child));
  std::string text = describePortHolders(port);
  EXPECT_NE(text.find("held by pid " + std::to_string(getpid())), std::string::npos) << text;

  close(fd);
  EXPECT_TRUE(portSockets(port).empty());
  EXPECT_NE(describePortHolders(port).find("no socket is bound"), std::string::npos);
}

TEST(PortHoldersTest, LooksInsideTheGivenNetworkNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  auto link = NetnsLink::create();
  if (!link) GTEST_SKIP() << link.error().message;
  uint16_t port = 0;
  int fd = -1;
  std::thread inside([&] {
    int ns = open((*link)->namespacePath().c_str(), O_RDONLY | O_CLOEXEC);
    if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0) fd = listenAny((*link)->nsAddress().c_str(), &port);
    if (ns >= 0) close(ns);
  });
  inside.join();
  ASSERT_GE(fd, 0);

  auto there = portSockets(port, (*link)->namespacePath());
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0].local, (*link)->nsAddress() + ":" + std::to_string(port));
  EXPECT_TRUE(holds(there[0], getpid()));
  for (const PortSocket& s : portSockets(port)) EXPECT_NE(s.local, there[0].local);
  close(fd);
}

}  // namespace
}  // namespace agora::testing
