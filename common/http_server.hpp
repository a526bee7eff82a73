#pragma once
// A small HTTP/1.1 server (Boost.Beast) for the operator and framework APIs and
// /metrics. Beast and Asio stay inside http_server.cpp (compile time).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>  // callers build bodies for jsonResponse()
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace agora::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw target "/files/read?path=x"
  std::string path;                            // "/files/read" (percent-decoded)
  std::map<std::string, std::string> query;    // percent-decoded ('+' is space)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string queryOr(const std::string& key, const std::string& fallback) const;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Location)
};

Response jsonResponse(int status, const nlohmann::json& body);
// {"error": message}
Response errorResponse(int status, const std::string& message);

using Handler = std::function<Response(const Request&)>;
// Sees every request before routing; a response it returns is sent instead of
// the route's (e.g. a standby master redirecting to the leader).
using Filter = std::function<std::optional<Response>(const Request&)>;

// Contracts:
// - Handlers run on the server's own threads (never on a component event loop);
//   with threads > 1 they run concurrently and must be thread-safe.
// - A handler that throws yields 500 {"error": what()}; the server keeps serving.
// - Unknown method+path yields 404 {"error": "no route for GET /x"}.
// - Request bodies over 8 MiB yield 413; malformed requests close the connection.
// - Connections are kept alive; an idle or slow connection is closed after 30 s.
class HttpServer {
 public:
  // address "HOST:PORT"; port 0 picks a free port. Binds and listens here, so
  // port() is valid before start(). kInvalidArgument for a bad address or a
  // port in use.
  static Result<std::unique_ptr<HttpServer>> create(const std::string& address, int threads = 1);
  ~HttpServer();  // stops and joins

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path. REQUIRES: called before start(); a later call for the same
  // method and path replaces the earlier handler.
  void route(const std::string& method, const std::string& path, Handler handler);
  // Matches paths starting with prefix; exact routes win, then the longest prefix.
  // REQUIRES: called before start().
  void routePrefix(const std::string& method, const std::string& prefix, Handler handler);

  // Runs like a handler (same threads, same contracts). REQUIRES: called before start().
  void setFilter(Filter filter);

  // Starts accepting. kFailedPrecondition if already started or stopped.
  Status start();
  // Idempotent; closes all connections and joins the server threads.
  // REQUIRES: not called from a handler.
  void stop();

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::http
