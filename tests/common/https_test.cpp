// HTTPS: HttpServer with TlsOptions and the client's ClientTls, over real
// sockets on 127.0.0.1, with certificates from common/tls_files.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/tls_files.hpp"
#include "tests/common/raw_connection.hpp"

namespace agora::http {
namespace {

using namespace std::chrono_literals;
using tls::CertificateFiles;

// Waits for a value another thread sets; fails the test after 10 s.
template <class T>
T await(std::future<T>& future) {
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-https-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directory(dir_ + "/other");
    ca_ = must(tls::createCertificateAuthority(dir_));
    serverCert_ =
        must(tls::issueCertificate(ca_, dir_, {"server", "agora", {"127.0.0.1", "localhost"}}));
    alice_ = must(tls::issueCertificate(ca_, dir_, {"alice", "alice", {}}));
    otherCa_ = must(tls::createCertificateAuthority(dir_ + "/other", "Other CA"));
    // Claims to be alice, signed by a CA the server does not trust.
    mallory_ = must(tls::issueCertificate(otherCa_, dir_ + "/other", {"mallory", "alice", {}}));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  CertificateFiles must(Result<CertificateFiles> files) {
    EXPECT_TRUE(files.has_value()) << files.error().toString();
    return files.value_or(CertificateFiles{});
  }

  TlsOptions serverTls(const std::string& clientCaFile = "") const {
    return {serverCert_.certificateFile, serverCert_.privateKeyFile, clientCaFile};
  }
  ClientTls trustingCa() const { return {ca_.certificateFile, "", ""}; }
  ClientTls as(const CertificateFiles& certificate) const {
    return {ca_.certificateFile, certificate.certificateFile, certificate.privateKeyFile};
  }

  void startServer(std::optional<TlsOptions> tls) {
    auto server = HttpServer::create("127.0.0.1:0", 2, std::move(tls));
    ASSERT_TRUE(server.has_value()) << server.error().toString();
    server_ = std::move(*server);
    server_->route("GET", "/whoami", [](const Request& r) {
      return jsonResponse(200, {{"name", r.clientCertificateName}});
    });
    server_->route("POST", "/echo", [](const Request& r) {
      Response response;
      response.contentType = "text/plain";
      response.body = r.body;
      return response;
    });
    server_->routeStream("GET", "/events",
                         [this](const Request&, std::shared_ptr<StreamWriter> writer) {
                           std::lock_guard<std::mutex> lock(writersMutex_);
                           writers_.set_value(std::move(writer));
                           return std::optional<Response>();
                         });
    StreamOptions small;
    small.maxQueuedBytes = 64 * 1024;
    small.socketSendBuffer = 4096;
    server_->routeStream(
        "GET", "/slow",
        [this](const Request&, std::shared_ptr<StreamWriter> writer) {
          std::lock_guard<std::mutex> lock(writersMutex_);
          writers_.set_value(std::move(writer));
          return std::optional<Response>();
        },
        small);
    ASSERT_TRUE(server_->start().has_value());
  }
  std::string url(const std::string& target) const { return server_->url() + target; }

  std::string whoami(const ClientTls& tls) {
    auto response = get(tls, url("/whoami"));
    EXPECT_TRUE(response.has_value()) << response.error().toString();
    if (!response) return "<error>";
    EXPECT_EQ(response->status, 200) << response->body;
    return nlohmann::json::parse(response->body).value("name", "<missing>");
  }

  std::string dir_;
  CertificateFiles ca_, serverCert_, alice_, otherCa_, mallory_;
  std::unique_ptr<HttpServer> server_;
  std::mutex writersMutex_;
  std::promise<std::shared_ptr<StreamWriter>> writers_;  // the /events stream's writer
};

TEST_F(HttpsTest, RoundTripsGetAndPostWithVerifiedServer) {
  startServer(serverTls());
  EXPECT_TRUE(url("/").starts_with("https://127.0.0.1:"));
  EXPECT_EQ(whoami(trustingCa()), "");

  auto echoed = request(trustingCa(), "POST", url("/echo"), "{\"x\":1}");
  ASSERT_TRUE(echoed.has_value()) << echoed.error().toString();
  EXPECT_EQ(echoed->status, 200);
  EXPECT_EQ(echoed->body, "{\"x\":1}");

  // The certificate's DNS name works as well as its IP address.
  auto byName =
      get(trustingCa(), "https://localhost:" + std::to_string(server_->port()) + "/whoami");
  ASSERT_TRUE(byName.has_value()) << byName.error().toString();
  EXPECT_EQ(byName->status, 200);

  auto saved = requestToFile(trustingCa(), "GET", url("/whoami"), {}, dir_ + "/saved");
  ASSERT_TRUE(saved.has_value()) << saved.error().toString();
  EXPECT_EQ(saved->status, 200);
  std::ifstream in(dir_ + "/saved");
  EXPECT_EQ(nlohmann::json::parse(in), (nlohmann::json{{"name", ""}}));
}

TEST_F(HttpsTest, ClientRefusesServerItCannotVerify) {
  startServer(serverTls());
  auto untrusted = get(ClientTls{otherCa_.certificateFile, "", ""}, url("/whoami"));
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_EQ(untrusted.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(untrusted.error().message.find("certificate did not verify"), std::string::npos)
      << untrusted.error().toString();

  // The system's trust store knows nothing of the test CA either.
  auto systemStore = get(url("/whoami"));
  ASSERT_FALSE(systemStore.has_value());
  EXPECT_EQ(systemStore.error().code, ErrorCode::kPermissionDenied)
      << systemStore.error().toString();

  auto missingCa = get(ClientTls{dir_ + "/nope.crt", "", ""}, url("/whoami"));
  ASSERT_FALSE(missingCa.has_value());
  EXPECT_EQ(missingCa.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missingCa.error().message.find(dir_ + "/nope.crt"), std::string::npos)
      << missingCa.error().toString();
}

TEST_F(HttpsTest, ClientRefusesCertificateForAnotherHost) {
  auto elsewhere = must(
      tls::issueCertificate(ca_, dir_, {"elsewhere", "elsewhere", {"example.com", "10.9.9.9"}}));
  startServer(TlsOptions{elsewhere.certificateFile, elsewhere.privateKeyFile, ""});
  auto response = get(trustingCa(), url("/whoami"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kPermissionDenied) << response.error().toString();
  EXPECT_NE(response.error().message.find("certificate did not verify"), std::string::npos)
      << response.error().toString();
}

TEST_F(HttpsTest, PlainHttpClientIsDroppedAndServerKeepsServing) {
  startServer(serverTls());
  auto plain = get(server_->address() + "/whoami", 5s);
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error().code, ErrorCode::kUnavailable) << plain.error().toString();

  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send("GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(raw.waitForClose());

  EXPECT_EQ(whoami(trustingCa()), "");
}

TEST_F(HttpsTest, TlsClientOnPlainPortFailsCleanly) {
  startServer(std::nullopt);
  EXPECT_TRUE(url("/").starts_with("http://"));
  auto response = get(trustingCa(), "https://" + server_->address() + "/whoami", 5s);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable) << response.error().toString();
  EXPECT_NE(response.error().message.find("TLS handshake failed"), std::string::npos)
      << response.error().toString();
  auto plain = get(url("/whoami"));
  ASSERT_TRUE(plain.has_value()) << plain.error().toString();
  EXPECT_EQ(plain->status, 200);
}

TEST_F(HttpsTest, HandlerSeesVerifiedClientCertificateName) {
  startServer(serverTls(ca_.certificateFile));
  EXPECT_EQ(whoami(as(alice_)), "alice");
  EXPECT_EQ(whoami(trustingCa()), "");  // anonymous callers are the handler's call

  // A certificate from a CA the server does not trust fails the handshake
  // (with TLS 1.3 the client learns it when it reads the response).
  auto forged = get(as(mallory_), url("/whoami"));
  ASSERT_FALSE(forged.has_value());
  EXPECT_EQ(forged.error().code, ErrorCode::kUnavailable) << forged.error().toString();
  EXPECT_EQ(whoami(as(alice_)), "alice");
}

TEST_F(HttpsTest, ClientCertificateWithoutKeyIsRejected) {
  startServer(serverTls(ca_.certificateFile));
  auto response = get(ClientTls{ca_.certificateFile, alice_.certificateFile, ""}, url("/whoami"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kInvalidArgument) << response.error().toString();
}

TEST_F(HttpsTest, StreamsEventsWrittenLaterAndClosesGracefully) {
  startServer(serverTls());
  auto writerFuture = writers_.get_future();
  std::promise<void> firstEvent;
  std::string received;
  auto client = std::async(std::launch::async, [&] {
    return getStream(trustingCa(), url("/events"), {}, [&](std::string_view chunk) {
      bool first = received.empty();
      received.append(chunk);
      if (first) firstEvent.set_value();
      return true;
    });
  });
  std::shared_ptr<StreamWriter> writer = await(writerFuture);
  ASSERT_NE(writer, nullptr);
  std::promise<void> closed;
  writer->onClose([&closed] { closed.set_value(); });
  ASSERT_TRUE(writer->write("data: one\n\n"));
  auto firstFuture = firstEvent.get_future();
  await(firstFuture);
  ASSERT_TRUE(writer->write("data: two\n\n"));
  writer->close();

  ASSERT_EQ(client.wait_for(10s), std::future_status::ready);
  auto response = client.get();
  // The body ended with close_notify, not with an error.
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/event-stream");
  EXPECT_EQ(received, "data: one\n\ndata: two\n\n");
  auto closedFuture = closed.get_future();
  await(closedFuture);
  EXPECT_FALSE(writer->write("data: late\n\n"));
}

TEST_F(HttpsTest, StreamNoticesClientLeaving) {
  startServer(serverTls());
  auto writerFuture = writers_.get_future();
  std::stop_source stop;
  std::promise<void> gotData;
  bool first = true;
  auto client = std::async(std::launch::async, [&] {
    return getStream(
        trustingCa(), url("/events"), {},
        [&](std::string_view) {
          if (first) gotData.set_value();
          first = false;
          return true;
        },
        5s, stop.get_token());
  });
  std::shared_ptr<StreamWriter> writer = await(writerFuture);
  ASSERT_NE(writer, nullptr);
  std::promise<void> closed;
  writer->onClose([&closed] { closed.set_value(); });
  ASSERT_TRUE(writer->write("data: hello\n\n"));
  auto dataFuture = gotData.get_future();
  await(dataFuture);
  stop.request_stop();
  ASSERT_EQ(client.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(client.get().has_value());
  auto closedFuture = closed.get_future();
  await(closedFuture);
  EXPECT_TRUE(writer->closed());
}

// stop() drops open streams without close_notify; the client sees the body
// end, as over plain HTTP.
TEST_F(HttpsTest, StopEndsOpenStreams) {
  startServer(serverTls());
  auto writerFuture = writers_.get_future();
  std::promise<void> gotData;
  bool first = true;
  auto client = std::async(std::launch::async, [&] {
    return getStream(trustingCa(), url("/events"), {}, [&](std::string_view) {
      if (first) gotData.set_value();
      first = false;
      return true;
    });
  });
  std::shared_ptr<StreamWriter> writer = await(writerFuture);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->write("data: hello\n\n"));
  auto dataFuture = gotData.get_future();
  await(dataFuture);
  server_->stop();
  EXPECT_TRUE(writer->closed());
  ASSERT_EQ(client.wait_for(10s), std::future_status::ready);
  auto response = client.get();
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpsTest, DropsStreamClientThatDoesNotRead) {
  startServer(serverTls());
  auto writerFuture = writers_.get_future();
  std::promise<void> blocked;
  std::promise<void> release;
  auto releaseFuture = release.get_future().share();
  bool first = true;
  auto client = std::async(std::launch::async, [&] {
    return getStream(trustingCa(), url("/slow"), {}, [&](std::string_view) {
      if (first) {
        first = false;
        blocked.set_value();
        releaseFuture.wait();  // stops reading
      }
      return true;
    });
  });
  std::shared_ptr<StreamWriter> writer = await(writerFuture);
  ASSERT_NE(writer, nullptr);
  std::promise<void> closed;
  writer->onClose([&closed] { closed.set_value(); });
  ASSERT_TRUE(writer->write("data: first\n\n"));
  auto blockedFuture = blocked.get_future();
  await(blockedFuture);
  // The client's socket buffers take a few MiB at most; then the queue passes
  // maxQueuedBytes and the stream is dropped.
  const std::string chunk(16 * 1024, 'x');
  bool dropped = false;
  for (int i = 0; i < 64 * 1024 && !dropped; ++i) dropped = !writer->write(chunk);
  EXPECT_TRUE(dropped);
  auto closedFuture = closed.get_future();
  await(closedFuture);
  release.set_value();
  ASSERT_EQ(client.wait_for(10s), std::future_status::ready);
  client.get();  // whatever it read, the call ends
  EXPECT_EQ(whoami(trustingCa()), "");
}

TEST_F(HttpsTest, CreateNamesUnusableFiles) {
  auto expectError = [](const TlsOptions& options, const std::string& named) {
    auto server = HttpServer::create("127.0.0.1:0", 1, options);
    ASSERT_FALSE(server.has_value()) << named;
    EXPECT_EQ(server.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(server.error().message.find(named), std::string::npos) << server.error().toString();
  };
  const std::string missing = dir_ + "/missing.crt";
  expectError({missing, serverCert_.privateKeyFile, ""}, missing);
  const std::string garbage = dir_ + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  expectError({garbage, serverCert_.privateKeyFile, ""}, garbage);
  expectError({serverCert_.certificateFile, garbage, ""}, garbage);
  expectError({serverCert_.certificateFile, alice_.privateKeyFile, ""}, alice_.privateKeyFile);
  expectError({serverCert_.certificateFile, serverCert_.privateKeyFile, missing}, missing);
  expectError({serverCert_.certificateFile, serverCert_.privateKeyFile, garbage}, garbage);
}

TEST_F(HttpsTest, CertificateFilesKeepKeysPrivate) {
  struct stat key {};
  struct stat certificate {};
  ASSERT_EQ(stat(alice_.privateKeyFile.c_str(), &key), 0);
  ASSERT_EQ(stat(alice_.certificateFile.c_str(), &certificate), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  EXPECT_EQ(certificate.st_mode & 0777, 0644u);
  ASSERT_EQ(stat(ca_.privateKeyFile.c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);

  auto noCa = tls::issueCertificate({dir_ + "/none.crt", dir_ + "/none.key"}, dir_, {"x", "x", {}});
  ASSERT_FALSE(noCa.has_value());
  EXPECT_EQ(noCa.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(noCa.error().message.find(dir_ + "/none.crt"), std::string::npos)
      << noCa.error().toString();
}

TEST(ListenAddressTest, RecognizesLoopbackOnly) {
  for (const char* loopback : {"127.0.0.1:5050", "127.1.2.3:1", "[::1]:80", "::1", "localhost:80",
                               "LocalHost:8080", "[::ffff:127.0.0.1]:5"}) {
    EXPECT_TRUE(isLoopbackListenAddress(loopback)) << loopback;
  }
  for (const char* reachable : {"0.0.0.0:5050", ":5050", "[::]:80", "10.0.0.1:80",
                                "192.168.1.2:443", "example.com:80", "[::ffff:10.0.0.1]:5", ""}) {
    EXPECT_FALSE(isLoopbackListenAddress(reachable)) << reachable;
  }
}

}  // namespace
}  // namespace agora::http
