#pragma once
// The HTTP/JSON API every framework serves for its own objects, on
// common/http_server.hpp, secured like the master's (HttpSecurity: the same
// --tls-cert/--tls-key/--tokens/--anonymous-read flags). Its url() is what the
// framework advertises through the master (FrameworkInfo::webuiUrl), where
// the `agora` tool and the web UI find it. Besides the framework's own
// routes it serves:
//
//   GET /health          200 {"status":"ok"}, always, without authentication
//   GET /api/v1/leader   {"leader": URL or null, "self": URL, "leading": bool,
//                         "framework": NAME}
//   GET /api/v1/events   the framework's server-sent events (event_hub.hpp)
//
// Several instances (election.hpp): with setLeader(), a standby answers every
// other request with 307 and `Location: LEADER + the same target` (method
// and body are kept), or 503 {"error": "no leader elected"} while none is.
// Errors are JSON ({"error": ...}); a handler that throws a
// nlohmann::json::exception (a field missing or of the wrong type) yields 400.
//
// Threads: handlers run on the server's threads, concurrently (never on the
// framework's loop): post() to the loop, or read state the loop publishes
// (common/snapshot_cell.hpp).

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/http_security.hpp"
#include "common/http_server.hpp"
#include "common/result.hpp"
#include "frameworks/kit/event_hub.hpp"

namespace agora::kit {

class ApiServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free one
    std::string name = {};               // the framework's name (logs, /api/v1/leader)
    // TLS and tokens, from setUpHttpSecurity(); null: plain HTTP, no
    // authentication. Borrowed: outlives the server.
    const HttpSecurity* security = nullptr;
    // The host put into url(), a name others reach this instance by; "":
    // the bound address (127.0.0.1 when listening on every interface).
    std::string advertiseHost = {};
    int threads = 2;
    EventHub::Options events = {};
  };

  // Binds (address() is valid from here on) and routes the built-in
  // endpoints. kInvalidArgument for a bad address or a port in use, or
  // unusable TLS files (the message names the file).
  static Result<std::unique_ptr<ApiServer>> create(Options options);
  ~ApiServer();  // stops the server, then closes the event streams
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The framework's endpoints, e.g. route("GET", "/api/v1/apps", ...).
  // REQUIRES: before start().
  void route(const std::string& method, const std::string& path, http::Handler handler);
  // Paths under `prefix` ("/api/v1/apps/"); exact routes win, then the
  // longest prefix. REQUIRES: before start().
  void routePrefix(const std::string& method, const std::string& prefix, http::Handler handler);

  // Where the leading instance serves (a URL, or HOST:PORT for http://):
  // nullopt while no leader is known. Called for every request, on the
  // server's threads: it must be thread-safe and quick. Without it this
  // instance always leads. Thread-safe; may be called after start().
  void setLeader(std::function<std::optional<std::string>()> leaderUrl);

  EventHub& events() { return *events_; }
  // Serves the event stream at `path` too (e.g. a framework's /v1/events).
  // REQUIRES: before start().
  void routeEvents(const std::string& path) { events_->install(*server_, path); }

  // kFailedPrecondition if already started or stopped.
  Status start();
  // Idempotent. REQUIRES: not from a handler.
  void stop();

  std::string address() const;                     // the bound HOST:PORT
  const std::string& url() const { return url_; }  // http(s)://HOST:PORT to advertise

  // The request's body as JSON (an empty body is {}); kInvalidArgument
  // saying where it does not parse.
  static Result<nlohmann::json> jsonBody(const http::Request& request);
  // {"error": message} with the status that fits the error's code: 400
  // invalid argument, 404 not found, 409 exists / failed precondition, 403
  // permission denied, 503 unavailable, 504 timeout, 413 too large, else 500.
  static http::Response errorResponse(const Error& error);

 private:
  explicit ApiServer(Options options);
  // The standby's answer to `request`, or nullopt to serve it here.
  std::optional<http::Response> standby(const http::Request& request) const;
  // {leader URL or nullopt, leading}.
  std::pair<std::optional<std::string>, bool> leader() const;
  http::Response leaderResponse() const;

  const Options options_;
  std::string url_;
  mutable std::mutex leaderMutex_;
  std::function<std::optional<std::string>()> leaderUrl_;
  // Declared before the server, destroyed after it: open streams refer to it.
  std::unique_ptr<EventHub> events_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace agora::kit
