// Streamed responses: HttpServer::routeStream and getStream, over real sockets.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "tests/common/raw_connection.hpp"

namespace agora::http {
namespace {

using namespace std::chrono_literals;

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// What a stream route saw: the writer its handler got and whether the stream's
// onClose callback ran.
struct Probe {
  std::mutex mutex;
  std::shared_ptr<StreamWriter> writer;
  std::atomic<int> handled{0};
  std::atomic<bool> closeCallbackRan{false};

  StreamHandler handler(std::function<void(StreamWriter&)> onStart = nullptr) {
    return [this, onStart](const Request&,
                           std::shared_ptr<StreamWriter> w) -> std::optional<Response> {
      w->onClose([this] { closeCallbackRan = true; });
      if (onStart) onStart(*w);
      {
        std::lock_guard<std::mutex> lock(mutex);
        writer = std::move(w);
      }
      ++handled;
      return std::nullopt;
    };
  }
  std::shared_ptr<StreamWriter> waitForWriter() {
    EXPECT_TRUE(waitUntil([this] { return handled > 0; }));
    std::lock_guard<std::mutex> lock(mutex);
    return writer;
  }
};

// Counts messages ("\n\n"-terminated) a getStream caller received.
struct Received {
  std::mutex mutex;
  std::string data;
  std::atomic<int> messages{0};

  bool add(std::string_view chunk) {
    std::lock_guard<std::mutex> lock(mutex);
    data.append(chunk);
    int count = 0;
    for (size_t at = data.find("\n\n"); at != std::string::npos; at = data.find("\n\n", at + 2))
      ++count;
    messages = count;
    return true;
  }
};

class HttpStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = HttpServer::create("127.0.0.1:0", 2);
    ASSERT_TRUE(server.has_value()) << server.error().toString();
    server_ = std::move(*server);
    server_->route("GET", "/x", [](const Request&) { return jsonResponse(200, {{"x", 1}}); });
  }

  void start() { ASSERT_TRUE(server_->start().has_value()); }
  std::string url(const std::string& target) { return server_->address() + target; }
  void expectServing() {
    auto response = get(url("/x"), 5s);
    ASSERT_TRUE(response.has_value()) << response.error().toString();
    EXPECT_EQ(response->status, 200);
  }

  // Owned here and declared before server_, so that the server (and any
  // onClose callback it still runs) is gone before the probes are.
  Probe& newProbe() { return *probes_.emplace_back(std::make_unique<Probe>()); }

  std::vector<std::unique_ptr<Probe>> probes_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpStreamTest, DeliversWritesInOrderAsTheyComeUntilTheWriterCloses) {
  Probe& probe = newProbe();
  server_->routeStream("GET", "/events", probe.handler([](StreamWriter& writer) {
    EXPECT_TRUE(writer.write("data: 0\n\n"));  // before the headers are sent
  }));
  start();
  Received received;
  std::thread producer([&] {
    auto writer = probe.waitForWriter();
    if (!writer) return;
    for (int i = 1; i <= 3; ++i) {
      // Each message is written only once the previous one reached the client:
      // the body is streamed, not held until the end.
      EXPECT_TRUE(waitUntil([&] { return received.messages >= i; }));
      EXPECT_TRUE(writer->write("data: " + std::to_string(i) + "\n\n"));
    }
    EXPECT_TRUE(waitUntil([&] { return received.messages >= 4; }));
    writer->close();
    writer->close();
    EXPECT_TRUE(writer->closed());
    EXPECT_FALSE(writer->write("data: late\n\n"));
  });
  auto response = getStream(url("/events"), {{"Accept", "text/event-stream"}},
                            [&](std::string_view chunk) { return received.add(chunk); });
  producer.join();
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/event-stream");
  EXPECT_EQ(response->headers["cache-control"], "no-cache");
  EXPECT_EQ(response->headers["x-accel-buffering"], "no");
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(received.data, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
  EXPECT_TRUE(waitUntil([&] { return probe.closeCallbackRan.load(); }));
  EXPECT_EQ(probe.waitForWriter()->queuedBytes(), 0u);
}

TEST_F(HttpStreamTest, HandlerAnsweringWithAResponseIsSentAsIs) {
  std::shared_ptr<StreamWriter> kept;
  std::atomic<bool> closeCallbackRan{false};
  server_->routeStream(
      "GET", "/events",
      [&](const Request& request, std::shared_ptr<StreamWriter> writer) -> std::optional<Response> {
        writer->onClose([&] { closeCallbackRan = true; });
        writer->write("never sent");
        kept = writer;
        return errorResponse(400, "missing " + request.queryOr("want", "task"));
      });
  start();
  bool called = false;
  auto response = getStream(url("/events"), {}, [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"], "missing task");
  EXPECT_FALSE(called);
  // Its writer was closed before the response went out.
  EXPECT_TRUE(closeCallbackRan);
  ASSERT_NE(kept, nullptr);
  EXPECT_TRUE(kept->closed());
  EXPECT_FALSE(kept->write("x"));
  // The connection was kept alive as for any response.
  expectServing();
}

TEST_F(HttpStreamTest, ClientHangingUpClosesTheStream) {
  Probe& probe = newProbe();
  Probe& idle = newProbe();
  server_->routeStream("GET", "/events", probe.handler([](StreamWriter& writer) {
    writer.write("data: first\n\n");
  }));
  server_->routeStream("GET", "/idle", idle.handler());
  start();
  int calls = 0;
  auto response = getStream(url("/events"), {}, [&](std::string_view) {
    ++calls;
    return false;
  });
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(waitUntil([&] { return probe.closeCallbackRan.load(); }));
  EXPECT_FALSE(probe.waitForWriter()->write("data: more\n\n"));

  // Noticed while nothing is being written too.
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.send("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_NE(idle.waitForWriter(), nullptr);
    EXPECT_FALSE(idle.closeCallbackRan);
  }
  EXPECT_TRUE(waitUntil([&] { return idle.closeCallbackRan.load(); }));
  EXPECT_FALSE(idle.waitForWriter()->write("x"));
}

// Writes 64 KiB chunks, letting the queue drain below 128 KiB (for at most
// `patience` each time), until `total` bytes are written or write() fails.
size_t produce(StreamWriter& writer, size_t total, std::chrono::milliseconds patience) {
  const std::string chunk(64 * 1024, 'x');
  size_t written = 0;
  while (written < total && writer.write(chunk)) {
    written += chunk.size();
    waitUntil([&] { return writer.queuedBytes() < 128 * 1024; }, patience);
  }
  return written;
}

TEST_F(HttpStreamTest, ClientThatDoesNotReadIsDroppedWhileOthersAreServed) {
  Probe& reader = newProbe();
  Probe& slow = newProbe();
  StreamOptions options;
  options.contentType = "application/octet-stream";
  options.maxQueuedBytes = 256 * 1024;
  server_->routeStream("GET", "/reader", reader.handler(), options);
  server_->routeStream("GET", "/slow", slow.handler(), options);
  start();

  // A client that reads keeps up with the producer and is never dropped.
  constexpr size_t kReaderBytes = 4 * 1024 * 1024;
  std::atomic<size_t> readerGot{0};
  std::thread readerThread([&] {
    auto response = getStream(url("/reader"), {}, [&](std::string_view chunk) {
      readerGot += chunk.size();
      return true;
    });
    EXPECT_TRUE(response.has_value()) << response.error().toString();
  });
  auto readerWriter = reader.waitForWriter();
  ASSERT_NE(readerWriter, nullptr);
  EXPECT_EQ(produce(*readerWriter, kReaderBytes, 5s), kReaderBytes);
  readerWriter->close();
  readerThread.join();
  EXPECT_EQ(readerGot.load(), kReaderBytes);

  // One that does not read is dropped once the queue passes maxQueuedBytes.
  RawConnection raw(server_->port(), 16 * 1024);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto slowWriter = slow.waitForWriter();
  ASSERT_NE(slowWriter, nullptr);
  expectServing();
  const size_t written = produce(*slowWriter, size_t{512} << 20, 100ms);
  EXPECT_LT(written, size_t{512} << 20);
  EXPECT_GE(written, options.maxQueuedBytes);
  EXPECT_TRUE(slowWriter->closed());
  EXPECT_FALSE(slowWriter->write("x"));
  EXPECT_TRUE(waitUntil([&] { return slow.closeCallbackRan.load(); }));
  expectServing();
}

TEST_F(HttpStreamTest, StopClosesOpenStreamsAndWritersStaySafe) {
  Probe& probe = newProbe();
  server_->routeStream("GET", "/events", probe.handler());
  start();
  Received received;
  std::thread client([&] {
    auto response =
        getStream(url("/events"), {}, [&](std::string_view chunk) { return received.add(chunk); });
    EXPECT_TRUE(response.has_value()) << response.error().toString();
  });
  auto writer = probe.waitForWriter();
  ASSERT_NE(writer, nullptr);
  std::atomic<int> writes{0};
  std::thread producer([&] {
    while (writer->write("data: tick\n\n")) {
      ++writes;
      std::this_thread::sleep_for(1ms);
    }
  });
  EXPECT_TRUE(waitUntil([&] { return received.messages >= 3; }));

  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  EXPECT_TRUE(probe.closeCallbackRan);
  EXPECT_TRUE(writer->closed());
  EXPECT_FALSE(writer->write("x"));
  producer.join();
  client.join();

  server_.reset();
  EXPECT_FALSE(writer->write("x"));
  writer->close();
  EXPECT_EQ(writer->queuedBytes(), 0u);
  bool lateCallbackRan = false;
  writer->onClose([&] { lateCallbackRan = true; });  // already closed: runs right away
  EXPECT_TRUE(lateCallbackRan);
}

TEST_F(HttpStreamTest, FilterAndRoutingApplyToStreamRoutes) {
  Probe& probe = newProbe();
  server_->routeStream("GET", "/events", probe.handler([](StreamWriter& writer) {
    writer.write("data: ok\n\n");
    writer.close();
  }));
  server_->routeStream("GET", "/replaced", probe.handler());
  server_->route("GET", "/replaced", [](const Request&) { return jsonResponse(200, {{"n", 1}}); });
  server_->route("GET", "/huge-error", [](const Request&) {
    Response response;
    response.status = 500;
    response.contentType = "text/plain";
    response.body = std::string(2 * 1024 * 1024, 'e');
    return response;
  });
  server_->addFilter([](const Request& request) -> std::optional<Response> {
    if (request.headers.count("x-deny")) return errorResponse(503, "denied");
    return std::nullopt;
  });
  start();
  int calls = 0;
  auto count = [&](std::string_view) {
    ++calls;
    return true;
  };
  auto denied = getStream(url("/events"), {{"X-Deny", "1"}}, count);
  ASSERT_TRUE(denied.has_value()) << denied.error().toString();
  EXPECT_EQ(denied->status, 503);
  EXPECT_EQ(nlohmann::json::parse(denied->body)["error"], "denied");
  auto missing = getStream(url("/nothing"), {}, count);
  ASSERT_TRUE(missing.has_value()) << missing.error().toString();
  EXPECT_EQ(missing->status, 404);
  // The body of an error response is read whole, within a bound.
  auto huge = getStream(url("/huge-error"), {}, count);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code, ErrorCode::kTooLarge) << huge.error().toString();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(probe.handled, 0);

  // A 2xx response with a Content-Length body is handed to onData too.
  std::string body;
  auto replaced = getStream(url("/replaced"), {}, [&](std::string_view chunk) {
    body.append(chunk);
    return true;
  });
  ASSERT_TRUE(replaced.has_value()) << replaced.error().toString();
  EXPECT_EQ(body, R"({"n":1})");

  std::string events;
  auto streamed = getStream(url("/events"), {}, [&](std::string_view chunk) {
    events.append(chunk);
    return true;
  });
  ASSERT_TRUE(streamed.has_value()) << streamed.error().toString();
  EXPECT_EQ(events, "data: ok\n\n");
}

TEST_F(HttpStreamTest, GetStreamStopsWhenAsked) {
  Probe& probe = newProbe();
  server_->routeStream("GET", "/quiet", probe.handler());
  start();
  std::stop_source stop;
  std::thread stopper([&] {
    probe.waitForWriter();
    stop.request_stop();
  });
  const auto before = std::chrono::steady_clock::now();
  auto response = getStream(
      url("/quiet"), {}, [](std::string_view) { return true; }, 5s, stop.get_token());
  stopper.join();
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_TRUE(waitUntil([&] { return probe.closeCallbackRan.load(); }));
}

TEST(GetStreamTest, ReadsChunkedBodiesAndReportsConnectFailures) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  // Sends a chunked body in two writes and keeps the connection open until the
  // client closes it: the end is the terminating chunk.
  std::thread server([listener] {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    const std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n";
    const std::string rest = "6\r\n world\r\n0\r\n\r\n";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(20ms);
    ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    while (::recv(fd, buffer, sizeof(buffer), 0) > 0) {
    }
    ::close(fd);
  });
  std::string body;
  auto response = getStream(address + "/chunked", {}, [&](std::string_view chunk) {
    body.append(chunk);
    return true;
  });
  server.join();
  ::close(listener);  // nobody listens on the port any more
  ASSERT_TRUE(response.has_value()) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["transfer-encoding"], "chunked");
  EXPECT_EQ(body, "hello world");

  auto refused = getStream(
      address + "/x", {}, [](std::string_view) { return true; }, 2s);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().toString();
  EXPECT_EQ(
      getStream("ftp://127.0.0.1:1/x", {}, [](std::string_view) { return true; }).error().code,
      ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace agora::http
