#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"
#include "tests/common/raw_connection.hpp"

namespace agora::http {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = HttpServer::create("127.0.0.1:0", 2);
    ASSERT_TRUE(server.has_value()) << server.error().toString();
    server_ = std::move(*server);
    server_->route("GET", "/hello", [](const Request&) {
      return jsonResponse(200, {{"hello", "world"}});
    });
    server_->route("GET", "/echo", [](const Request& r) {
      return jsonResponse(
          200,
          {{"path", r.path}, {"query", r.query}, {"missing", r.queryOr("missing", "fallback")}});
    });
    server_->route("POST", "/echo", [](const Request& r) {
      Response response;
      response.contentType = "text/plain";
      response.body = r.body;
      response.headers.emplace_back("X-Header-Seen", r.headers.count("x-custom") ? "yes" : "no");
      return response;
    });
    server_->route("GET", "/throw",
                   [](const Request&) -> Response { throw std::runtime_error("boom"); });
    server_->routePrefix("GET", "/files/", [](const Request& r) {
      return jsonResponse(200, {{"route", "files"}, {"path", r.path}});
    });
    server_->routePrefix("GET", "/files/deep/", [](const Request&) {
      return jsonResponse(200, {{"route", "deep"}});
    });
    server_->route("GET", "/big", [](const Request&) {
      Response big;
      big.contentType = "application/octet-stream";
      big.body = std::string(size_t{20} << 20, 'b');  // past Beast's default 8 MB limit
      return big;
    });
    server_->route("GET", "/files/exact", [](const Request&) {
      return jsonResponse(200, {{"route", "exact"}});
    });
  }

  void start() { ASSERT_TRUE(server_->start().has_value()); }
  std::string url(const std::string& target) { return server_->address() + target; }
  nlohmann::json getJson(const std::string& target) {
    auto response = get(url(target));
    EXPECT_TRUE(response.has_value()) << response.error().toString();
    if (!response) return nullptr;
    EXPECT_EQ(response->status, 200) << response->body;
    return nlohmann::json::parse(response->body);
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesExactPathsAndLongestPrefix) {
  start();
  EXPECT_EQ(getJson("/hello")["hello"], "world");
  EXPECT_EQ(getJson("/files/a/b")["route"], "files");
  EXPECT_EQ(getJson("/files/deep/x")["route"], "deep");
  EXPECT_EQ(getJson("/files/exact")["route"], "exact");
  auto response = get("http://" + url("/hello"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->headers["content-type"], "application/json");
}

TEST_F(HttpServerTest, UnknownPathOrMethodIs404) {
  start();
  auto response = get(url("/x"));
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(nlohmann::json::parse(response->body),
            (nlohmann::json{{"error", "no route for GET /x"}}));
  auto post = request("POST", url("/hello"), "{}");
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 404);
}

TEST_F(HttpServerTest, DecodesPathAndQuery) {
  start();
  auto body = getJson("/echo?a=hello%20world&b=x+y&c=" + urlEncode("/tmp/f&g=h") + "&flag");
  EXPECT_EQ(body["path"], "/echo");
  EXPECT_EQ(body["query"]["a"], "hello world");
  EXPECT_EQ(body["query"]["b"], "x y");
  EXPECT_EQ(body["query"]["c"], "/tmp/f&g=h");
  EXPECT_EQ(body["query"]["flag"], "");
  EXPECT_EQ(body["missing"], "fallback");
  EXPECT_EQ(getJson("/files/a%20b+c")["path"], "/files/a b+c");
  EXPECT_EQ(urlEncode("a b/ü~"), "a%20b%2F%C3%BC~");
}

TEST_F(HttpServerTest, DeliversPostBodyAndHeaders) {
  start();
  std::string big(300 * 1024, 'x');
  auto response = request("POST", url("/echo"), big);
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, big);
  EXPECT_EQ(response->headers["content-type"], "text/plain");
  EXPECT_EQ(response->headers["x-header-seen"], "no");

  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(
      raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nX-Custom: 1\r\nContent-Length: 2\r\n\r\nhi"));
  std::string reply = raw.readResponse();
  EXPECT_NE(reply.find("X-Header-Seen: yes"), std::string::npos) << reply;
  EXPECT_TRUE(reply.ends_with("\r\n\r\nhi")) << reply;
}

TEST_F(HttpServerTest, SendsExtraHeadersAndStreamsBodiesToFiles) {
  start();
  auto echoed = requestWithHeaders("POST", url("/echo"), {{"X-Custom", "1"}}, "hi");
  ASSERT_TRUE(echoed.has_value()) << echoed.error().toString();
  EXPECT_EQ(echoed->headers["x-header-seen"], "yes");

  char tmpl[] = "/tmp/agora-http-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { std::filesystem::remove_all(path); }
  } removeDir{dir};  // also when an assertion ends the test early
  auto saved = requestToFile("GET", url("/hello"), {}, dir + "/hello");
  ASSERT_TRUE(saved.has_value()) << saved.error().toString();
  EXPECT_EQ(saved->status, 200);
  EXPECT_TRUE(saved->body.empty());
  std::ifstream in(dir + "/hello");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(nlohmann::json::parse(content), (nlohmann::json{{"hello", "world"}}));

  // A download larger than 8 MiB, announced by its Content-Length (an image
  // layer, say).
  auto big = requestToFile("GET", url("/big"), {}, dir + "/big");
  ASSERT_TRUE(big.has_value()) << big.error().toString();
  EXPECT_EQ(big->status, 200);
  EXPECT_EQ(std::filesystem::file_size(dir + "/big"), size_t{20} << 20);

  auto missing = requestToFile("GET", url("/x"), {}, dir + "/x");
  ASSERT_TRUE(missing.has_value()) << missing.error().toString();
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no route for GET /x"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x"));
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeReadingBody) {
  start();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(
      raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 3\r\n\r\n"));
  EXPECT_TRUE(raw.readResponse().starts_with("HTTP/1.1 100 Continue"));
  ASSERT_TRUE(raw.send("abc"));
  std::string reply = raw.readResponse();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_TRUE(reply.ends_with("abc")) << reply;
}

TEST_F(HttpServerTest, KeepsConnectionAliveAcrossRequests) {
  start();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(raw.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string reply = raw.readResponse();
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_TRUE(reply.ends_with(R"({"hello":"world"})")) << reply;
  }
  // Pipelined requests are answered in order.
  ASSERT_TRUE(
      raw.send("GET /files/exact HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(raw.readResponse().find("exact"), std::string::npos);
  EXPECT_TRUE(raw.readResponse().starts_with("HTTP/1.1 404"));
  ASSERT_TRUE(raw.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(raw.readResponse().starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(raw.waitForClose());
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  start();
  auto response = get(url("/throw"));
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"], "boom");
  EXPECT_EQ(getJson("/hello")["hello"], "world");
}

TEST_F(HttpServerTest, GarbageClosesConnectionAndServerKeepsServing) {
  start();
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.connected());
    const char garbage[] = "\x00\xff\x13 NOT HTTP AT ALL\r\n\r\n";
    raw.send(std::string(garbage, sizeof(garbage) - 1));
    EXPECT_TRUE(raw.waitForClose());
  }
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.connected());
    raw.send("GET /hello HTTP/1.1\r\nContent-Length: banana\r\n\r\n");
    EXPECT_TRUE(raw.waitForClose());
  }
  {
    RawConnection raw(server_->port());  // connect and hang up without a byte
    ASSERT_TRUE(raw.connected());
  }
  EXPECT_EQ(getJson("/hello")["hello"], "world");
}

TEST_F(HttpServerTest, BodyOverLimitIs413) {
  start();
  auto response = request("POST", url("/echo"), std::string(9 * 1024 * 1024, 'x'));
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 413);
  auto atLimit = request("POST", url("/echo"), std::string(8 * 1024 * 1024, 'y'));
  ASSERT_TRUE(atLimit.has_value()) << atLimit.error().toString();
  EXPECT_EQ(atLimit->status, 200);
  EXPECT_EQ(atLimit->body.size(), 8u * 1024 * 1024);
}

TEST_F(HttpServerTest, ServesConcurrentClients) {
  start();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto response = get(url("/hello"));
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(ok.load(), 120);
}

TEST_F(HttpServerTest, ClientTimesOutOnSlowHandler) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server_->route("GET", "/slow", [released](const Request&) {
    released.wait();
    return jsonResponse(200, {});
  });
  start();
  auto response = get(url("/slow"), std::chrono::milliseconds(200));
  release.set_value();
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout) << response.error().toString();
}

TEST_F(HttpServerTest, ClientReportsUnavailableOnClosedPort) {
  std::string address = server_->address();
  server_.reset();  // the port was bound, now nobody listens on it
  auto response = get(address + "/hello", std::chrono::seconds(5));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable) << response.error().toString();
}

TEST_F(HttpServerTest, ClientRejectsBadUrls) {
  EXPECT_EQ(get("ftp://127.0.0.1:1/x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(get("127.0.0.1:notaport/x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(get(":80/x").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, CreateRejectsBadAddressAndPortInUse) {
  EXPECT_EQ(HttpServer::create("nonsense").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::create("127.0.0.1:99999").error().code, ErrorCode::kInvalidArgument);
  auto taken = HttpServer::create(server_->address());
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_NE(server_->port(), 0);
}

TEST_F(HttpServerTest, StopIsIdempotentAndStartOnlyOnce) {
  start();
  EXPECT_FALSE(server_->start().has_value());
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(idle.readResponse().starts_with("HTTP/1.1 200"));
  server_->stop();
  EXPECT_TRUE(idle.waitForClose());  // stop() closes kept-alive connections
  server_->stop();
  EXPECT_FALSE(get(url("/hello"), std::chrono::seconds(5)).has_value());
}

TEST_F(HttpServerTest, ServesMetrics) {
  Metrics metrics;
  metrics.serveOn(*server_);
  start();
  metrics.counter("agora_test_requests_total", "Requests.", {{"kind", "a"}}).Increment(3);
  auto response = get(url("/metrics"));
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4");
  EXPECT_NE(response->body.find("agora_test_requests_total{kind=\"a\"} 3"), std::string::npos)
      << response->body;
}

class MetricsTest : public ::testing::Test {
 protected:
  Metrics metrics_;
};

TEST_F(MetricsTest, SerializesIncrementedCounterAndGauge) {
  auto& counter = metrics_.counter("agora_things_total", "Things.");
  counter.Increment();
  EXPECT_EQ(&counter, &metrics_.counter("agora_things_total", "ignored"));
  metrics_.counter("agora_things_total", "Things.").Increment();
  metrics_.gauge("agora_level", "Level.", {{"pool", "p"}}).Set(7.5);
  std::string text = metrics_.serialize();
  EXPECT_NE(text.find("# TYPE agora_things_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("agora_things_total 2"), std::string::npos) << text;
  EXPECT_NE(text.find("agora_level{pool=\"p\"} 7.5"), std::string::npos) << text;
}

TEST_F(MetricsTest, CounterIsThreadSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics_.counter("agora_hits_total", "Hits.", {{"t", std::to_string(t % 2)}}).Increment();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::string text = metrics_.serialize();
  EXPECT_NE(text.find("agora_hits_total{t=\"0\"} 2000"), std::string::npos) << text;
  EXPECT_NE(text.find("agora_hits_total{t=\"1\"} 2000"), std::string::npos) << text;
}

}  // namespace
}  // namespace agora::http
