// NetnsLink: a real namespace, veth pair and addresses; cut and restored;
// everything removed afterwards, including processes left inside.

#include "tests/support/netns_link.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

namespace agora::testing {
namespace {

using namespace std::chrono_literals;

int exitStatusOf(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return exitCodeOf(status);
}

// Connects from inside the namespace to address:port over TCP (bash's
// /dev/tcp, at most 1 s); 0 on success.
int connectFrom(const NetnsLink& link, const std::string& address, uint16_t port) {
  SpawnOptions options;
  options.argv = {"timeout", "1", "bash", "-c",
                  "exec 3<>/dev/tcp/" + address + "/" + std::to_string(port)};
  options.stdoutPath = "/dev/null";
  options.stderrPath = "/dev/null";
  auto pid = link.spawn(options);
  return pid ? exitStatusOf(*pid) : -1;
}

// A listening TCP socket on address (any port); closed on destruction.
class Listener {
 public:
  explicit Listener(const std::string& address) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &in.sin_addr);
    socklen_t len = sizeof(in);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&in), len) == 0 && listen(fd_, 16) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&in), &len) == 0) {
      port_ = ntohs(in.sin_port);
    }
  }
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

ino_t netnsInode(pid_t pid) {
  struct stat st {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class NetnsLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST_F(NetnsLinkTest, ConnectsCutsRestoresAndCleansUp) {
  auto created = NetnsLink::create();
  ASSERT_TRUE(created) << created.error().message;
  auto link = std::move(*created);
  EXPECT_EQ(link->hostAddress().rfind("10.254.", 0), 0u);
  EXPECT_EQ(link->nsAddress().rfind("10.254.", 0), 0u);
  EXPECT_LE(link->hostInterface().size(), 15u);

  Listener listener(link->hostAddress());
  ASSERT_NE(listener.port(), 0);
  EXPECT_EQ(connectFrom(*link, link->hostAddress(), listener.port()), 0);
  ASSERT_TRUE(link->setUp(false));
  EXPECT_NE(connectFrom(*link, link->hostAddress(), listener.port()), 0);
  ASSERT_TRUE(link->setUp(true));
  bool back = false;
  for (int i = 0; i < 50 && !back; ++i) {
    back = connectFrom(*link, link->hostAddress(), listener.port()) == 0;
  }
  EXPECT_TRUE(back);

  // A process left inside is killed with the namespace.
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "300"};
  auto pid = link->spawn(sleeper);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_NE(netnsInode(*pid), netnsInode(getpid()));
  auto inside = link->pids();
  EXPECT_NE(std::find(inside.begin(), inside.end(), *pid), inside.end());

  std::string name = link->name(), hostIf = link->hostInterface();
  link.reset();
  EXPECT_EQ(exitStatusOf(*pid), 128 + SIGKILL);
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + name));
  EXPECT_FALSE(std::filesystem::exists("/sys/class/net/" + hostIf));
}

TEST_F(NetnsLinkTest, TwoLinksGetDifferentSubnetsAndNames) {
  auto a = NetnsLink::create();
  auto b = NetnsLink::create();
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->name(), (*b)->name());
  EXPECT_NE((*a)->hostAddress(), (*b)->hostAddress());
  // Each namespace reaches only its own peer.
  Listener onA((*a)->hostAddress());
  Listener onB((*b)->hostAddress());
  EXPECT_EQ(connectFrom(**a, (*a)->hostAddress(), onA.port()), 0);
  EXPECT_NE(connectFrom(**a, (*b)->hostAddress(), onB.port()), 0);
}

// The chaos test's layout: servers on a link that is never cut, other
// links routed to it, each cut on its own.
TEST_F(NetnsLinkTest, RoutedLinksReachAServerOnAnotherLinkUntilCut) {
  auto services = NetnsLink::create();
  auto a = NetnsLink::create();
  auto b = NetnsLink::create();
  ASSERT_TRUE(services && a && b);
  Listener server((*services)->hostAddress());
  ASSERT_NE(server.port(), 0);
  std::string address = (*services)->hostAddress();
  EXPECT_NE(connectFrom(**a, address, server.port()), 0) << "reached before any route";
  ASSERT_TRUE((*a)->routeTo(address));
  ASSERT_TRUE((*b)->routeTo(address));
  EXPECT_EQ(connectFrom(**a, address, server.port()), 0);
  EXPECT_EQ(connectFrom(**b, address, server.port()), 0);
  ASSERT_TRUE((*a)->setUp(false));
  EXPECT_NE(connectFrom(**a, address, server.port()), 0);
  EXPECT_EQ(connectFrom(**b, address, server.port()), 0) << "cutting a cut b";
  EXPECT_EQ((*services)->namespacePath(), "/run/netns/" + (*services)->name());
}

}  // namespace
}  // namespace agora::testing
