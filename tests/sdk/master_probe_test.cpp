// What listens at a master address, on real loopback sockets: nothing, a
// ZeroMQ ROUTER (a master's scheduler endpoint), an HTTP server (its API,
// which names the endpoint), or a peer that says nothing.

#include "frameworks/sdk/master_probe.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.hpp>

#include "common/http_server.hpp"

namespace agora::sdk {
namespace {

// A listening TCP socket that never answers; closed on destruction.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd, 4);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd); }
};

std::string closedPort() {
  SilentListener gone;
  std::string address = "127.0.0.1:" + std::to_string(gone.port);
  return address;  // closed when `gone` goes
}

TEST(MasterProbeTest, RefusedConnectionIsAnErrorNamingTheAddress) {
  std::string address = closedPort();
  auto kind = probePeer(address);
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(kind.error().message, "cannot connect to " + address + ": Connection refused");
  auto endpoint = resolveMasterEndpoint("tcp://" + address);
  ASSERT_FALSE(endpoint);
  EXPECT_NE(endpoint.error().message.find("expected a master there"), std::string::npos);
}

TEST(MasterProbeTest, ZeroMqPeerIsTakenAsTheSchedulerEndpoint) {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  auto kind = probePeer(endpoint);
  ASSERT_TRUE(kind) << kind.error().message;
  EXPECT_EQ(*kind, PeerKind::kZeroMq);
  auto resolved = resolveMasterEndpoint(endpoint.substr(6));  // HOST:PORT works too
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(*resolved, endpoint);
}

TEST(MasterProbeTest, HttpApiNamesTheSchedulerEndpoint) {
  auto server = http::HttpServer::create("127.0.0.1:0");
  ASSERT_TRUE(server);
  (*server)->route("GET", "/api/v1/master", [](const http::Request&) {
    return http::jsonResponse(200, {{"endpoint", "tcp://0.0.0.0:5055"}});
  });
  ASSERT_TRUE((*server)->start());
  std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  auto resolved = resolveMasterEndpoint(address);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(*resolved, "tcp://127.0.0.1:5055");  // the wildcard host becomes the one reached
  resolved = resolveMasterEndpoint("http://" + address);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(*resolved, "tcp://127.0.0.1:5055");
}

TEST(MasterProbeTest, SilentPeerIsNotAMaster) {
  SilentListener silent;
  std::string address = "127.0.0.1:" + std::to_string(silent.port);
  auto kind = probePeer(address, millis(200));
  ASSERT_TRUE(kind) << kind.error().message;
  EXPECT_EQ(*kind, PeerKind::kOther);
  auto resolved = resolveMasterEndpoint(address, millis(200));
  ASSERT_FALSE(resolved);
  EXPECT_NE(resolved.error().message.find(address + " is not an Agora master"), std::string::npos)
      << resolved.error().message;
}

TEST(MasterProbeTest, OtherSchemesPassThrough) {
  EXPECT_EQ(*resolveMasterEndpoint("zk://127.0.0.1:2181/agora"), "zk://127.0.0.1:2181/agora");
  EXPECT_EQ(*resolveMasterEndpoint("ipc:///tmp/x"), "ipc:///tmp/x");
  EXPECT_EQ(replaceWildcardHost("tcp://*:5055", "h"), "tcp://h:5055");
  EXPECT_EQ(replaceWildcardHost("tcp://10.0.0.1:5055", "h"), "tcp://10.0.0.1:5055");
}

}  // namespace
}  // namespace agora::sdk
