// CurveZMQ: key files, and a CURVE server that serves only allowed keys and
// whose bytes on the wire carry nothing in plain text.

#include "common/curve.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "common/zmq_transport.hpp"

namespace agora {
namespace {

namespace fs = std::filesystem;

class CurveKeyFilesTest : public ::testing::Test {
 protected:
  CurveKeyFilesTest() {
    char pattern[] = "/tmp/agora-curve-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  ~CurveKeyFilesTest() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CurveKeyFilesTest, WritesAndReadsBackAPairWithTheSecretOwnerOnly) {
  auto pair = generateCurveKeyPair();
  ASSERT_TRUE(pair) << pair.error().message;
  EXPECT_TRUE(validCurveKey(pair->publicKey));
  ASSERT_TRUE(writeCurveKeyPair(dir_ + "/master", *pair));
  struct stat info {};
  ASSERT_EQ(stat((dir_ + "/master.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto read = readCurveKeyPair(dir_ + "/master.key");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->secretKey, pair->secretKey);
  EXPECT_EQ(*readCurvePublicKey(dir_ + "/master.pub"), pair->publicKey);
  // Never overwritten.
  EXPECT_EQ(writeCurveKeyPair(dir_ + "/master", *generateCurveKeyPair()).error().code,
            ErrorCode::kAlreadyExists);
  // A secret others can read is refused.
  chmod((dir_ + "/master.key").c_str(), 0644);
  auto exposed = readCurveKeyPair(dir_ + "/master.key");
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().message.find("chmod 600"), std::string::npos);
}

TEST_F(CurveKeyFilesTest, AnAllowListIsEveryPublicKeyOfADirectoryOrNothing) {
  fs::create_directories(dir_ + "/agents");
  auto a = *generateCurveKeyPair(), b = *generateCurveKeyPair();
  ASSERT_TRUE(writeCurveKeyPair(dir_ + "/agents/rack1-07", a));
  ASSERT_TRUE(writeCurveKeyPair(dir_ + "/agents/rack2-01", b));
  auto list = readCurveAllowList(dir_ + "/agents");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(a.publicKey), "rack1-07");
  { std::ofstream(dir_ + "/agents/broken.pub") << "public-key = not-a-key\n"; }
  auto broken = readCurveAllowList(dir_ + "/agents");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("broken.pub"), std::string::npos);
}

// Forwards one TCP connection to `target`, keeping every byte it carries;
// with `flipAt`, it flips one bit of the client's byte at that offset (an
// attacker on the path tampering with the stream).
class CapturingProxy {
 public:
  explicit CapturingProxy(uint16_t target, std::optional<size_t> flipAt = std::nullopt)
      : target_(target), flipAt_(flipAt) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t size = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    listen(listener_, 1);
    thread_ = std::thread([this] { run(); });
  }
  ~CapturingProxy() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string captured() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bytes_;
  }
  // Bytes the client sent.
  size_t clientBytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return clientBytes_;
  }

 private:
  void run() {
    int client = accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(target_);
    if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    auto pump = [this](int from, int to, bool fromClient) {
      char buffer[4096];
      ssize_t n;
      while (!stop_ && (n = read(from, buffer, sizeof(buffer))) > 0) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          bytes_.append(buffer, static_cast<size_t>(n));
          if (fromClient) {
            size_t at = clientBytes_;
            clientBytes_ += static_cast<size_t>(n);
            if (flipAt_ && *flipAt_ >= at && *flipAt_ < clientBytes_) buffer[*flipAt_ - at] ^= 0x01;
          }
        }
        if (write(to, buffer, static_cast<size_t>(n)) != n) break;
      }
      shutdown(to, SHUT_WR);
    };
    std::thread back(pump, server, client, false);
    pump(client, server, true);
    back.join();
    close(client);
    close(server);
  }

  uint16_t target_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::string bytes_;
  std::optional<size_t> flipAt_;
  size_t clientBytes_ = 0;
};

uint16_t portOf(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

class CurveServerTest : public ::testing::Test {
 protected:
  CurveServerTest() {
    serverKeys_.keys = *generateCurveKeyPair();
    known_ = *generateCurveKeyPair();
    serverKeys_.allowed[known_.publicKey] = "agent-rack1-07";
    auto server = ZmqServer::create(loop_, "tcp://127.0.0.1:0", &serverKeys_);
    EXPECT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    server_->setHandler(
        [this](const std::string& peer, std::string_view protocol, std::string_view payload) {
          received_.push_back(std::string(payload));
          server_->send(peer, protocol, "reply to " + std::string(payload));
        });
  }
  // Sends `payload` from a client with `curve` (none: plain) through a
  // capturing proxy; the reply, or "" when none came within `wait`.
  std::string exchange(const CurveClientKeys* curve, const std::string& payload,
                       Duration wait = seconds(5), std::optional<size_t> flipAt = std::nullopt) {
    proxy_ = std::make_unique<CapturingProxy>(portOf(server_->endpoint()), flipAt);
    auto client = ZmqClient::create(loop_, "tcp://127.0.0.1:" + std::to_string(proxy_->port()),
                                    "client-" + std::to_string(++clients_), curve);
    EXPECT_TRUE(client) << client.error().message;
    std::string reply;
    (*client)->setHandler([&](std::string_view, std::string_view body) {
      reply = body;
      loop_.stop();
    });
    (*client)->send(kAgentProtocol, payload);
    auto guard = loop_.addTimer(wait, [&] { loop_.stop(); });
    loop_.run();
    loop_.cancelTimer(guard);
    return reply;
  }

  EventLoop loop_;
  CurveServerKeys serverKeys_;
  CurveKeyPair known_;
  std::unique_ptr<ZmqServer> server_;
  std::vector<std::string> received_;
  std::unique_ptr<CapturingProxy> proxy_;
  int clients_ = 0;
};

TEST_F(CurveServerTest, AnAllowedKeyIsServedAndNothingCrossesInPlainText) {
  CurveClientKeys keys{known_, serverKeys_.keys.publicKey};
  EXPECT_EQ(exchange(&keys, "run DB_PASSWORD=hunter2"), "reply to run DB_PASSWORD=hunter2");
  std::string wire = proxy_->captured();
  EXPECT_GT(wire.size(), 100u);
  EXPECT_EQ(wire.find("hunter2"), std::string::npos);
  EXPECT_EQ(wire.find("client-1"), std::string::npos);  // the identity travels encrypted too
  EXPECT_EQ(server_->refusedHandshakes(), 0u);
}

TEST_F(CurveServerTest, UnknownKeysPlainClientsAndAWrongServerKeyGetNothing) {
  CurveClientKeys stranger{*generateCurveKeyPair(), serverKeys_.keys.publicKey};
  EXPECT_EQ(exchange(&stranger, "let me in", seconds(1)), "");
  EXPECT_EQ(exchange(nullptr, "plain hello", seconds(1)), "");
  CurveClientKeys pinnedElsewhere{known_, generateCurveKeyPair()->publicKey};
  EXPECT_EQ(exchange(&pinnedElsewhere, "wrong server", seconds(1)), "");
  EXPECT_TRUE(received_.empty());
  EXPECT_GE(server_->refusedHandshakes(), 1u);  // the stranger (the others fail before ZAP)
  // The stranger's key, once allowed, is served.
  server_->allow({{stranger.keys.publicKey, "agent-new"}});
  EXPECT_EQ(exchange(&stranger, "now?"), "reply to now?");
}

TEST_F(CurveServerTest, TamperedTrafficIsDroppedAndTheServerServesOthers) {
  CurveClientKeys keys{known_, serverKeys_.keys.publicKey};
  const std::string message = "run DB_PASSWORD=hunter2";
  ASSERT_EQ(exchange(&keys, message), "reply to " + message);
  const size_t streamBytes = proxy_->clientBytes();
  received_.clear();
  // One bit flipped in the handshake (HELLO's transient key at 160; past
  // HELLO's unauthenticated padding) or in the message's box: the server
  // delivers nothing from that connection.
  for (size_t at : {size_t{160}, size_t{300}, streamBytes - 3}) {
    EXPECT_EQ(exchange(&keys, message, seconds(1), at), "") << "bit flipped at byte " << at;
  }
  EXPECT_TRUE(received_.empty());
  EXPECT_EQ(exchange(&keys, message), "reply to " + message);  // still serving
}

}  // namespace
}  // namespace agora
