#pragma once
// A small HTTP/1.1 server (Boost.Beast), plain or over TLS, for the operator and
// framework APIs and /metrics. Beast, Asio and OpenSSL stay inside the .cpp
// files (compile time).

#include <cstddef>
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
  // Subject CN of the client certificate that verified against
  // TlsOptions::clientCaFile; "" over plain HTTP or when the client sent none.
  std::string clientCertificateName;

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

// A response body produced over time (server-sent events, following a log).
// Stays safe to call after the server stopped or was destroyed (it is then
// closed). Callbacks never run under the writer's lock, so onClose callbacks may
// call back into the writer.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues bytes for the client. Thread-safe, never blocks. False once the
  // stream is closed: the client went away, the server is stopping, close()
  // was called, or the bytes queued and not yet written would pass the
  // route's maxQueuedBytes (the stream is then closed and what is queued is
  // dropped: a client that does not read is dropped, never waited for).
  virtual bool write(std::string data) = 0;
  // Ends the response (what is queued is still written, for at most 30 s) and
  // closes the connection. Idempotent.
  virtual void close() = 0;
  // True once write() would return false.
  virtual bool closed() const = 0;
  // Bytes queued and not yet written (handed to the socket).
  virtual size_t queuedBytes() const = 0;
  // `callback` runs once, on a server thread, when the stream's connection is
  // done: right after the client went away, the queue overflowed or the server
  // began stopping; after close(), once what was queued is written and the
  // client closed its side (at most 5 s later). When the connection is already
  // done, `callback` runs right away on the calling thread. Thread-safe.
  // Callbacks of streams still open when stop() gives up waiting for them (a
  // server thread blocked in a handler) run on the thread calling stop().
  virtual void onClose(std::function<void()> callback) = 0;
};

struct StreamOptions {
  std::string contentType = "text/event-stream";
  size_t maxQueuedBytes = size_t{4} << 20;
  // The connection's kernel send buffer (SO_SNDBUF); 0: the system's,
  // which grows to megabytes that a client not reading holds on top of
  // maxQueuedBytes.
  int socketSendBuffer = 0;
};

// Returns a Response to answer normally (e.g. 400 for a bad query; the writer
// is then closed and what was written to it dropped), or nullopt to stream: the
// server then sends the status line and headers (200, Content-Type,
// Cache-Control: no-cache, X-Accel-Buffering: no, Connection: close; the body
// ends when the connection closes) and everything written to `writer`, in order.
// A handler that throws yields 500 like other handlers.
using StreamHandler =
    std::function<std::optional<Response>(const Request&, std::shared_ptr<StreamWriter> writer)>;

// Sees every request before routing; a response it returns is sent instead of
// the route's (e.g. a standby master redirecting to the leader).
using Filter = std::function<std::optional<Response>(const Request&)>;

// Serving HTTPS. Files are PEM.
struct TlsOptions {
  std::string certificateFile;  // the server's certificate, optionally followed by its chain
  std::string privateKeyFile;
  // When set, the server asks each client for a certificate and refuses the
  // connection (handshake failure) if one is presented that does not verify
  // against these CAs. A client presenting none is served: what anonymous
  // callers may do is the handler's call (Request::clientCertificateName).
  std::string clientCaFile;
};

// True when `hostPort` ("HOST:PORT", "[V6]:PORT" or a bare host) names only
// this machine: 127.0.0.0/8, ::1 (also v4-mapped) or "localhost". An empty
// host, 0.0.0.0 and :: listen on every interface and are not loopback. Lets a
// daemon refuse plain HTTP on a reachable address.
bool isLoopbackListenAddress(const std::string& hostPort);

// Contracts:
// - Handlers run on the server's own threads (never on a component event loop);
//   with threads > 1 they run concurrently and must be thread-safe.
// - A handler that throws yields 500 {"error": what()}; the server keeps serving.
// - Unknown method+path yields 404 {"error": "no route for GET /x"}.
// - Request bodies over 8 MiB yield 413; malformed requests close the connection.
// - Connections are kept alive; an idle or slow connection is closed after 30 s.
// - Streams (routeStream) have no idle timeout: a stream lasts until the writer
//   closes it, the client closes its side, the client falls maxQueuedBytes
//   behind, or the server stops. A stream is the last response on its connection.
class HttpServer {
 public:
  // address "HOST:PORT"; port 0 picks a free port. Binds and listens here, so
  // port() is valid before start(). kInvalidArgument for a bad address or a
  // port in use, or with `tls` for a certificate, key or CA file that cannot be
  // read or used (the message names the file).
  // With `tls` every connection (streams included) is TLS 1.2 or later: a
  // client that does not complete the handshake within 30 s, or speaks plain
  // HTTP, is disconnected.
  static Result<std::unique_ptr<HttpServer>> create(const std::string& address, int threads = 1,
                                                    std::optional<TlsOptions> tls = std::nullopt);
  ~HttpServer();  // stops and joins

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path. REQUIRES: called before start(); a later call for the same
  // method and path replaces the earlier handler.
  void route(const std::string& method, const std::string& path, Handler handler);
  // Matches paths starting with prefix; exact routes win, then the longest prefix.
  // REQUIRES: called before start().
  void routePrefix(const std::string& method, const std::string& prefix, Handler handler);

  // A streamed response (see StreamHandler). Exact path; the filter applies as
  // for other routes; route() and routeStream() for the same method and path
  // replace each other. The handler runs like other handlers and may keep the
  // writer and write from any thread later. REQUIRES: called before start().
  void routeStream(const std::string& method, const std::string& path, StreamHandler handler,
                   StreamOptions options = {});

  // Runs like a handler (same threads, same contracts), before routing;
  // filters run in the order added and the first response wins.
  // REQUIRES: called before start().
  void addFilter(Filter filter);

  // Starts accepting. kFailedPrecondition if already started or stopped.
  Status start();
  // Idempotent; closes all connections and joins the server threads. Open
  // streams are closed first (their onClose callbacks run) and their writers
  // return false from then on.
  // REQUIRES: not called from a handler or an onClose callback.
  void stop();

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  std::string url() const;      // "http://" or "https://" + address()

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::http
