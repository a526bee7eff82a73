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
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>

#include "common/http_stream_state.hpp"
#include "common/tls_context.hpp"

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
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
// After a 413 the unread body is drained (bounded) so that closing the socket
// does not reset the connection before the client has read the response.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr size_t kMaxDrainBytes = 64 * 1024 * 1024;
// stop() waits this long for open streams to close on the server threads.
constexpr auto kStopStreamsTimeout = std::chrono::seconds(5);

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

namespace detail {

struct StreamRoute {
  StreamHandler handler;
  StreamOptions options;
};

// How the server answers a request: `response`, or the stream route `stream`.
struct Routed {
  std::optional<Response> response;
  const StreamRoute* stream = nullptr;
};

// What a connection needs from its server.
class SessionHost {
 public:
  virtual Routed dispatch(const Request& request) const = 0;
  // False once the server is stopping: the stream must then be closed.
  virtual bool addStream(const std::shared_ptr<StreamState>& state) = 0;
  virtual void removeStream(const std::shared_ptr<StreamState>& state) = 0;

 protected:
  ~SessionHost() = default;
};

}  // namespace detail

struct HttpServer::Impl final : detail::SessionHost {
  struct PrefixRoute {
    std::string method;
    std::string prefix;
    Handler handler;
  };

  explicit Impl(int threadCount)
      : threadCount(std::max(1, threadCount)),
        ioc(std::make_unique<net::io_context>(this->threadCount)) {}

  detail::Routed dispatch(const Request& request) const override;
  bool addStream(const std::shared_ptr<detail::StreamState>& state) override;
  void removeStream(const std::shared_ptr<detail::StreamState>& state) override;
  // Closes every open stream on its own thread and waits (bounded) for them.
  void closeStreams();
  void doAccept();

  const int threadCount;
  // Routes are written only before start(), then read concurrently.
  std::map<std::pair<std::string, std::string>, Handler> exactRoutes;
  std::vector<PrefixRoute> prefixRoutes;
  std::map<std::pair<std::string, std::string>, detail::StreamRoute> streamRoutes;
  std::vector<Filter> filters;  // in the order added

  std::mutex streamsMutex;
  std::condition_variable streamsChanged;
  bool stopping = false;                                   // guarded by streamsMutex
  std::set<std::shared_ptr<detail::StreamState>> streams;  // open; guarded by streamsMutex

  std::string host;  // host part of address()
  uint16_t port = 0;

  // Set when serving HTTPS; outlives the sessions (destroyed with ioc).
  std::unique_ptr<net::ssl::context> tlsContext;

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

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection, over `Stream`: beast::tcp_stream (plain HTTP) or TlsStream.
// Lives as long as one of its asynchronous operations holds it; all its
// operations run on its own strand. A connection that streams (routeStream)
// keeps a read pending to notice the client going away, and writes what the
// producers queue in its StreamState.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `tls`: the server's context, for TlsStream only.
  template <class... TlsContext>
  Session(tcp::socket&& socket, detail::SessionHost* host, TlsContext&... tls)
      : stream_(std::move(socket), tls...), host_(host), closeTimer_(stream_.get_executor()) {}

  ~Session() {
    // The server stopped and dropped this connection before the stream finished.
    if (state_ != nullptr && !finished_) {
      host_->removeStream(state_);
      detail::StreamState::runCallbacks(state_->finish());
    }
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->readHeader();
      }
    });
  }

 private:
  // The answer to one request: `response`, or `stream` to send with `streamContentType`.
  struct Answer {
    Response response;
    std::shared_ptr<detail::StreamState> stream;
    std::string streamContentType;
    int streamSendBuffer = 0;
  };

  // Plain HTTP, a scanner or a certificate that does not verify all end here:
  // the connection is dropped, the server goes on.
  void handshake() {
    tcp().expires_after(kHandshakeTimeout);
    stream_.async_handshake(
        net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) {
            self->logHandshakeFailure(ec);
            return self->close();
          }
          self->clientCertificateName_ = detail::verifiedPeerName(self->stream_.native_handle());
          self->readHeader();
        });
  }

  // A client certificate refused is worth an operator's attention; plain HTTP
  // and scanners are not.
  void logHandshakeFailure(const beast::error_code& ec) {
    beast::error_code ignored;
    auto peer = tcp().socket().remote_endpoint(ignored);
    std::string why = detail::peerVerificationFailure(stream_.native_handle());
    if (!why.empty()) {
      LOG(WARNING) << "refused the client certificate of " << peer << ": " << why;
    } else {
      VLOG(1) << "TLS handshake with " << peer << " failed: " << ec.message();
    }
  }

  void readHeader() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    tcp().expires_after(kReadTimeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return rejectTooLarge();
    if (ec) return close();
    if (parser_->is_done()) return handle();
    auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      tcp().expires_after(kWriteTimeout);
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->readBody();
                       });
      return;
    }
    readBody();
  }

  void readBody() {
    tcp().expires_after(kReadTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec == bhttp::error::body_limit) return self->rejectTooLarge();
                        if (ec) return self->close();
                        self->handle();
                      });
  }

  void handle() {
    bhttp::request<bhttp::string_body> raw = parser_->release();
    const bool keepAlive = raw.keep_alive();
    Request request = toRequest(raw);
    request.clientCertificateName = clientCertificateName_;
    Answer answer = answerRequest(request);
    if (answer.stream != nullptr) return startStream(std::move(answer));
    write(std::move(answer.response), keepAlive);
  }

  Answer answerRequest(const Request& request) {
    Answer answer;
    std::shared_ptr<detail::StreamState> state;
    try {
      detail::Routed routed = host_->dispatch(request);
      if (routed.stream == nullptr) {
        answer.response = std::move(*routed.response);
        return answer;
      }
      state = std::make_shared<detail::StreamState>(routed.stream->options.maxQueuedBytes);
      std::optional<Response> answered = routed.stream->handler(request, state);
      if (!answered) {
        answer.stream = std::move(state);
        answer.streamContentType = routed.stream->options.contentType;
        answer.streamSendBuffer = routed.stream->options.socketSendBuffer;
        return answer;
      }
      answer.response = std::move(*answered);
    } catch (const std::exception& e) {
      LOG(WARNING) << "HTTP handler for " << request.method << " " << request.path
                   << " threw: " << e.what();
      answer.response = errorResponse(500, e.what());
    } catch (...) {
      answer.response = errorResponse(500, "handler threw a non-standard exception");
    }
    // A stream handler that answered normally: its writer is closed for good.
    if (state != nullptr) detail::StreamState::runCallbacks(state->finish());
    return answer;
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
    tcp().expires_after(kWriteTimeout);
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this(), keepAlive](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         if (!keepAlive) return self->close();
                         self->readHeader();
                       });
  }

  void startStream(Answer answer) {
    state_ = std::move(answer.stream);
    std::string contentType = std::move(answer.streamContentType);
    std::erase_if(contentType, [](char c) { return c == '\r' || c == '\n'; });
    head_ = "HTTP/1.1 200 OK\r\nServer: agora\r\nContent-Type: " + contentType +
            "\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n";
    if (!host_->addStream(state_)) return finishStream();  // the server is stopping
    if (answer.streamSendBuffer > 0) {
      boost::system::error_code ignored;
      tcp().socket().set_option(net::socket_base::send_buffer_size(answer.streamSendBuffer),
                                ignored);
    }
    tcp().expires_never();
    readUntilClosed();
    std::weak_ptr<Session> weak = this->weak_from_this();
    state_->attach([weak, executor = stream_.get_executor()] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->pumpStream();
      });
    });
  }

  // Whatever the client sends after its request is discarded; EOF or an error
  // means it went away.
  void readUntilClosed() {
    drainBuffer_.resize(4096);
    stream_.async_read_some(net::buffer(drainBuffer_), [self = this->shared_from_this()](
                                                           beast::error_code ec, size_t) {
      if constexpr (kTls) {
        // lingerThenFinish() cancelled this read to shut TLS down.
        if (self->lingering_ && !self->finished_ && (!ec || ec == net::error::operation_aborted)) {
          return self->shutdownTls();
        }
      }
      if (ec) return self->finishStream();
      self->readUntilClosed();
    });
  }

  // Writes what is queued (one batch at a time) and carries out close() and aborts.
  void pumpStream() {
    if (finished_) return;
    if (writing_) {
      // A client that does not read can hold a write forever: drop it now.
      if (state_->abortRequested()) finishStream();
      return;  // otherwise the write's completion pumps again
    }
    detail::StreamState::Pending pending = state_->take();
    if (pending.abort) return finishStream();
    if (pending.closeRequested && !closing_) {
      closing_ = true;
      armCloseTimer(kWriteTimeout);  // bounds writing what is left, then lingering
    }
    batch_ = std::move(pending.chunks);
    size_t batchBytes = 0;
    std::vector<net::const_buffer> buffers;
    buffers.reserve(batch_.size() + 1);
    if (!headSent_) buffers.push_back(net::buffer(head_));
    for (const auto& chunk : batch_) {
      buffers.push_back(net::buffer(chunk));
      batchBytes += chunk.size();
    }
    if (buffers.empty()) {
      if (closing_) lingerThenFinish();
      return;
    }
    writing_ = true;
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), batchBytes](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->headSent_ = true;
                       self->batch_.clear();
                       self->state_->written(batchBytes);
                       if (ec) return self->finishStream();
                       self->pumpStream();
                     });
  }

  // Everything is written: end the body, and close once the client has read it
  // and closed its side (or kDrainTimeout passed), so that closing does not
  // reset the connection under unread data.
  // Over TLS the body ends with close_notify (a bare FIN reads as a truncation
  // attack); async_shutdown reads the client's reply itself, so the pending
  // read is cancelled first and its completion starts the shutdown.
  void lingerThenFinish() {
    if (lingering_) return;
    lingering_ = true;
    beast::error_code ignored;
    if constexpr (kTls) {
      tcp().socket().cancel(ignored);
    } else {
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    armCloseTimer(kDrainTimeout);
  }

  void shutdownTls() {
    stream_.async_shutdown(
        [self = this->shared_from_this()](beast::error_code) { self->finishStream(); });
  }

  void armCloseTimer(std::chrono::steady_clock::duration timeout) {
    closeTimer_.expires_after(timeout);
    closeTimer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->finishStream();
    });
  }

  // Closes the streaming connection (idempotent) and runs the onClose callbacks.
  void finishStream() {
    if (finished_) return;
    finished_ = true;
    closeTimer_.cancel();
    close();
    host_->removeStream(state_);
    detail::StreamState::runCallbacks(state_->finish());
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
    tcp().expires_after(kWriteTimeout);
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         beast::error_code ignored;
                         self->tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
                         self->tcp().expires_after(kDrainTimeout);
                         self->drain();
                       });
  }

  void drain() {
    drainBuffer_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(drainBuffer_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->close();
                              self->drain();
                            });
  }

  // Over TLS without close_notify: every response but a stream's carries its
  // length, and a stream that is not closed gracefully is being dropped.
  void close() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  Stream stream_;
  std::string clientCertificateName_;  // TLS: the verified client certificate's CN
  beast::flat_buffer buffer_;
  detail::SessionHost* host_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::vector<char> drainBuffer_;
  size_t drained_ = 0;

  // Streaming (routeStream) only.
  std::shared_ptr<detail::StreamState> state_;
  std::string head_;  // status line and headers
  bool headSent_ = false;
  std::vector<std::string> batch_;  // being written
  bool writing_ = false;
  bool closing_ = false;    // close() was called
  bool lingering_ = false;  // everything written, send side shut down
  bool finished_ = false;
  net::steady_timer closeTimer_;
};

}  // namespace

detail::Routed HttpServer::Impl::dispatch(const Request& request) const {
  for (const Filter& filter : filters) {
    if (auto answered = filter(request)) return {std::move(*answered)};
  }
  auto stream = streamRoutes.find({request.method, request.path});
  if (stream != streamRoutes.end()) return {std::nullopt, &stream->second};
  auto exact = exactRoutes.find({request.method, request.path});
  if (exact != exactRoutes.end()) return {exact->second(request)};
  const PrefixRoute* best = nullptr;
  for (const auto& route : prefixRoutes) {
    if (route.method != request.method || !request.path.starts_with(route.prefix)) continue;
    if (best == nullptr || route.prefix.size() > best->prefix.size()) best = &route;
  }
  if (best != nullptr) return {best->handler(request)};
  return {errorResponse(404, "no route for " + request.method + " " + request.path)};
}

bool HttpServer::Impl::addStream(const std::shared_ptr<detail::StreamState>& state) {
  std::lock_guard<std::mutex> lock(streamsMutex);
  if (stopping) return false;
  streams.insert(state);
  return true;
}

void HttpServer::Impl::removeStream(const std::shared_ptr<detail::StreamState>& state) {
  std::lock_guard<std::mutex> lock(streamsMutex);
  if (streams.erase(state) > 0) streamsChanged.notify_all();
}

void HttpServer::Impl::closeStreams() {
  std::unique_lock<std::mutex> lock(streamsMutex);
  stopping = true;
  for (const auto& state : streams) state->abort();
  streamsChanged.wait_for(lock, kStopStreamsTimeout, [this] { return streams.empty(); });
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
    if (tlsContext != nullptr) {
      std::make_shared<Session<TlsStream>>(std::move(socket), this, *tlsContext)->run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(std::move(socket), this)->run();
    }
    doAccept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::create(const std::string& address, int threads,
                                                       std::optional<TlsOptions> tls) {
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
  if (tls) {
    auto context = detail::makeServerContext(*tls);
    if (!context)
      return makeError(context.error().withContext("cannot serve HTTPS on '" + address + "'"));
    impl->tlsContext = std::move(*context);
  }
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
  impl_->streamRoutes.erase({method, path});
  impl_->exactRoutes[{method, path}] = std::move(handler);
}

void HttpServer::routeStream(const std::string& method, const std::string& path,
                             StreamHandler handler, StreamOptions options) {
  impl_->exactRoutes.erase({method, path});
  impl_->streamRoutes[{method, path}] = {std::move(handler), std::move(options)};
}

void HttpServer::addFilter(Filter filter) { impl_->filters.push_back(std::move(filter)); }

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
  if (impl_->started) impl_->closeStreams();
  impl_->ioc->stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // Streams that could not close on a server thread in time (one blocked in a
  // handler): their writers are detached here, before the event loop goes away.
  std::set<std::shared_ptr<detail::StreamState>> left;
  {
    std::lock_guard<std::mutex> streamsLock(impl_->streamsMutex);
    impl_->stopping = true;
    left.swap(impl_->streams);
  }
  for (const auto& state : left) detail::StreamState::runCallbacks(state->finish());
  impl_->acceptRetryTimer.reset();
  impl_->acceptor.reset();
  // Destroys the pending handlers, hence the sessions, hence their sockets.
  impl_->ioc.reset();
}

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::address() const { return impl_->host + ":" + std::to_string(impl_->port); }

std::string HttpServer::url() const {
  return (impl_->tlsContext != nullptr ? "https://" : "http://") + address();
}

bool isLoopbackListenAddress(const std::string& hostPort) {
  beast::error_code ec;
  std::string host = hostPort;
  net::ip::make_address(host, ec);  // a bare IPv6 address has colons of its own
  if (ec) {
    size_t colon = host.rfind(':');
    if (colon != std::string::npos) host.resize(colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
  }
  if (lowerCase(host) == "localhost") return true;
  auto ip = net::ip::make_address(host, ec);
  if (ec) return false;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, ip.to_v6()).is_loopback();
  return ip.is_loopback();
}

}  // namespace agora::http
