#include "common/http_server.hpp"

#include <fcntl.h>
#include <glog/logging.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>

namespace agora::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kMaxBodyBytes = 8 * 1024 * 1024;
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// After a 413 the unread body is drained (bounded) so that closing the socket
// does not reset the connection before the client has read the response.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr size_t kMaxDrainBytes = 64 * 1024 * 1024;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Invalid escapes are kept verbatim.
std::string percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plusIsSpace && c == '+' ? ' ' : c);
  }
  return out;
}

// Repeated keys: the last one wins.
std::map<std::string, std::string> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = percentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1), true);
    out[std::move(key)] = std::move(value);
  }
  return out;
}

std::string lowerCase(std::string out) {
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string dumpJson(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string Request::queryOr(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

Response jsonResponse(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.body = dumpJson(body);
  return response;
}

Response errorResponse(int status, const std::string& message) {
  return jsonResponse(status, nlohmann::json{{"error", message}});
}

struct HttpServer::Impl {
  struct PrefixRoute {
    std::string method;
    std::string prefix;
    Handler handler;
  };

  explicit Impl(int threadCount)
      : threadCount(std::max(1, threadCount)),
        ioc(std::make_unique<net::io_context>(this->threadCount)) {}

  Response dispatch(const Request& request) const;
  void doAccept();

  const int threadCount;
  // Routes are written only before start(), then read concurrently.
  std::map<std::pair<std::string, std::string>, Handler> exactRoutes;
  std::vector<PrefixRoute> prefixRoutes;
  Filter filter;

  std::string host;  // host part of address()
  uint16_t port = 0;

  std::mutex lifecycleMutex;
  bool started = false;
  bool stopped = false;
  std::vector<std::thread> threads;
  // Destroyed in stop(): that closes every connection still open.
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> acceptRetryTimer;
};

namespace {

// One connection. Lives as long as one of its asynchronous operations holds it;
// all its operations run on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using DispatchFn = std::function<Response(const Request&)>;

  Session(tcp::socket&& socket, DispatchFn dispatch)
      : stream_(std::move(socket)), dispatch_(std::move(dispatch)) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->readHeader(); });
  }

 private:
  void readHeader() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(kReadTimeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return rejectTooLarge();
    if (ec) return close();
    if (parser_->is_done()) return handle();
    auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(kWriteTimeout);
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->readBody();
                       });
      return;
    }
    readBody();
  }

  void readBody() {
    stream_.expires_after(kReadTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec == bhttp::error::body_limit) return self->rejectTooLarge();
                        if (ec) return self->close();
                        self->handle();
                      });
  }

  void handle() {
    bhttp::request<bhttp::string_body> raw = parser_->release();
    Request request = toRequest(raw);
    Response response;
    try {
      response = dispatch_(request);
    } catch (const std::exception& e) {
      LOG(WARNING) << "HTTP handler for " << request.method << " " << request.path
                   << " threw: " << e.what();
      response = errorResponse(500, e.what());
    } catch (...) {
      response = errorResponse(500, "handler threw a non-standard exception");
    }
    write(std::move(response), raw.keep_alive());
  }

  static Request toRequest(bhttp::request<bhttp::string_body>& raw) {
    Request request;
    request.method = std::string(raw.method_string());
    request.target = std::string(raw.target());
    const std::string& target = request.target;
    size_t question = target.find('?');
    std::string_view targetView(target);
    request.path = percentDecode(targetView.substr(0, question), false);
    if (question != std::string::npos) request.query = parseQuery(targetView.substr(question + 1));
    for (const auto& field : raw) {
      std::string name = lowerCase(std::string(field.name_string()));
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    request.body = std::move(raw.body());
    return request;
  }

  void write(Response response, bool keepAlive) {
    try {
      response_ = {};
      int status = response.status;
      if (status < 100 || status > 599) status = 500;
      response_.result(static_cast<unsigned>(status));
      response_.version(11);
      response_.set(bhttp::field::server, "agora");
      response_.set(bhttp::field::content_type, response.contentType);
      for (const auto& [name, value] : response.headers) response_.insert(name, value);
      response_.body() = std::move(response.body);
      response_.keep_alive(keepAlive);
      response_.prepare_payload();
    } catch (const std::exception& e) {
      LOG(WARNING) << "cannot build HTTP response: " << e.what();
      return close();
    }
    stream_.expires_after(kWriteTimeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keepAlive](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         if (!keepAlive) return self->close();
                         self->readHeader();
                       });
  }

  void rejectTooLarge() {
    response_ = {};
    response_.result(bhttp::status::payload_too_large);
    response_.version(11);
    response_.set(bhttp::field::content_type, "application/json");
    response_.body() =
        dumpJson({{"error", "request body exceeds " + std::to_string(kMaxBodyBytes) + " bytes"}});
    response_.keep_alive(false);
    response_.prepare_payload();
    stream_.expires_after(kWriteTimeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         beast::error_code ignored;
                         self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                         self->stream_.expires_after(kDrainTimeout);
                         self->drain();
                       });
  }

  void drain() {
    drainBuffer_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(drainBuffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  DispatchFn dispatch_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::vector<char> drainBuffer_;
  size_t drained_ = 0;
};

}  // namespace

Response HttpServer::Impl::dispatch(const Request& request) const {
  if (filter) {
    if (auto answered = filter(request)) return std::move(*answered);
  }
  auto exact = exactRoutes.find({request.method, request.path});
  if (exact != exactRoutes.end()) return exact->second(request);
  const PrefixRoute* best = nullptr;
  for (const auto& route : prefixRoutes) {
    if (route.method != request.method || !request.path.starts_with(route.prefix)) continue;
    if (best == nullptr || route.prefix.size() > best->prefix.size()) best = &route;
  }
  if (best != nullptr) return best->handler(request);
  return errorResponse(404, "no route for " + request.method + " " + request.path);
}

void HttpServer::Impl::doAccept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // E.g. EMFILE: retry later instead of spinning.
      LOG(WARNING) << "HTTP accept on port " << port << " failed: " << ec.message();
      acceptRetryTimer->expires_after(std::chrono::milliseconds(100));
      acceptRetryTimer->async_wait([this](beast::error_code ec) {
        if (!ec) doAccept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    std::make_shared<Session>(std::move(socket), [this](const Request& r) {
      return dispatch(r);
    })->run();
    doAccept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::create(const std::string& address, int threads) {
  auto invalid = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "cannot listen on '" + address + "': " + why);
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return invalid("expected HOST:PORT");
  std::string host = address.substr(0, colon);
  std::string portText = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto [end, parseError] =
      std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || parseError != std::errc() || end != portText.data() + portText.size() ||
      port > 65535) {
    return invalid("bad port '" + portText + "'");
  }

  auto impl = std::make_unique<Impl>(threads);
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto ip = net::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, static_cast<uint16_t>(port));
  } else {
    tcp::resolver resolver(*impl->ioc);
    auto results = resolver.resolve(host, portText, ec);
    if (ec || results.empty()) return invalid("cannot resolve '" + host + "': " + ec.message());
    endpoint = results.begin()->endpoint();
  }

  impl->acceptor = std::make_unique<tcp::acceptor>(*impl->ioc);
  impl->acceptRetryTimer = std::make_unique<net::steady_timer>(*impl->ioc);
  auto& acceptor = *impl->acceptor;
  if (acceptor.open(endpoint.protocol(), ec)) return invalid(ec.message());
  // Children (an agent's executors outlive it) must not hold the port.
  fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec)) return invalid(ec.message());
  if (acceptor.bind(endpoint, ec)) return invalid(ec.message());
  if (acceptor.listen(net::socket_base::max_listen_connections, ec)) return invalid(ec.message());
  auto local = acceptor.local_endpoint(ec);
  if (ec) return invalid(ec.message());
  impl->port = local.port();
  impl->host = local.address().is_unspecified() ? "127.0.0.1" : local.address().to_string();
  if (local.address().is_v6() && !local.address().is_unspecified())
    impl->host = "[" + impl->host + "]";
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::route(const std::string& method, const std::string& path, Handler handler) {
  impl_->exactRoutes[{method, path}] = std::move(handler);
}

void HttpServer::setFilter(Filter filter) { impl_->filter = std::move(filter); }

void HttpServer::routePrefix(const std::string& method, const std::string& prefix,
                             Handler handler) {
  impl_->prefixRoutes.push_back({method, prefix, std::move(handler)});
}

Status HttpServer::start() {
  std::lock_guard<std::mutex> lock(impl_->lifecycleMutex);
  if (impl_->started || impl_->stopped) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "HTTP server on port " + std::to_string(impl_->port) + " was already started");
  }
  impl_->started = true;
  impl_->doAccept();
  for (int i = 0; i < impl_->threadCount; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      for (;;) {
        try {
          impl->ioc->run();
          return;
        } catch (const std::exception& e) {
          LOG(ERROR) << "HTTP server thread caught: " << e.what();
        }
      }
    });
  }
  return {};
}

void HttpServer::stop() {
  std::lock_guard<std::mutex> lock(impl_->lifecycleMutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->ioc == nullptr) return;
  impl_->ioc->stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  impl_->acceptRetryTimer.reset();
  impl_->acceptor.reset();
  // Destroys the pending handlers, hence the sessions, hence their sockets.
  impl_->ioc.reset();
}

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::address() const { return impl_->host + ":" + std::to_string(impl_->port); }

}  // namespace agora::http
