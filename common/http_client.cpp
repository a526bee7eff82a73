#include "common/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/version.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "common/tls_context.hpp"

namespace agora::http {

namespace {
std::mutex credentialsMutex;
ClientCredentials& credentialsStore() {
  static ClientCredentials credentials;
  return credentials;
}
}  // namespace

void setDefaultCredentials(ClientCredentials credentials) {
  std::lock_guard<std::mutex> lock(credentialsMutex);
  credentialsStore() = std::move(credentials);
}

ClientCredentials defaultCredentials() {
  std::lock_guard<std::mutex> lock(credentialsMutex);
  return credentialsStore();
}

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
// getStream(): the body of a response other than 2xx is read whole up to this.
constexpr uint64_t kMaxStreamErrorBodyBytes = 1024 * 1024;
constexpr size_t kStreamReadBytes = 16 * 1024;

struct ParsedUrl {
  bool https = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;
};

Result<ParsedUrl> parseUrl(const std::string& url) {
  auto invalid = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "bad url '" + url + "': " + why);
  };
  std::string_view rest = url;
  ParsedUrl parsed;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    parsed.https = true;
  } else if (rest.find("://") != std::string_view::npos) {
    return invalid("only http:// and https:// are supported");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  parsed.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  std::string_view portText = parsed.https ? "443" : "80";
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unterminated '['");
    parsed.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("junk after ']'");
      portText = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return invalid("missing host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || ec != std::errc() || end != portText.data() + portText.size() ||
      port == 0 || port > 65535) {
    return invalid("bad port '" + std::string(portText) + "'");
  }
  parsed.port = std::string(portText);
  return parsed;
}

std::string lowerCase(std::string out) {
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error transportError(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return Error{ErrorCode::kTimeout, what + ": timed out"};
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return Error{ErrorCode::kProtocol, what + ": " + ec.message()};
  }
  return Error{ErrorCode::kUnavailable, what + ": " + ec.message()};
}

// Runs one asynchronous operation to completion on `ioc`; the stream's expiry
// bounds it.
template <class Start>
beast::error_code runOperation(net::io_context& ioc, Start start) {
  std::optional<beast::error_code> result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result.value_or(net::error::operation_aborted);
}

template <class Response>
void copyHeaders(const Response& res, ClientResponse& response) {
  response.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    auto [it, inserted] = response.headers.emplace(lowerCase(std::string(field.name_string())),
                                                   std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
}

// Reads a response whose 2xx body goes to the file at `path`; other bodies
// (error documents) are kept in memory.
template <class Stream>
Status readToFile(net::io_context& ioc, Stream& stream, beast::flat_buffer& buffer,
                  const std::string& path, const std::string& what, ClientResponse& response) {
  bhttp::response_parser<bhttp::empty_body> head;
  head.header_limit(kMaxHeaderBytes);
  // Beast checks a Content-Length against the body limit when the header
  // arrives: without this, a download over 8 MB fails before its body.
  head.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto ec = runOperation(
      ioc, [&](auto handler) { bhttp::async_read_header(stream, buffer, head, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  copyHeaders(head.get(), response);
  if (response.status < 200 || response.status >= 300) {
    bhttp::response_parser<bhttp::string_body> parser(std::move(head));
    parser.body_limit(boost::none);
    ec = runOperation(
        ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
    if (ec) return makeError(transportError(ec, what));
    response.body = std::move(parser.get().body());
    return {};
  }
  bhttp::response_parser<bhttp::file_body> parser(std::move(head));
  parser.body_limit(boost::none);
  parser.get().body().open(path.c_str(), beast::file_mode::write, ec);
  if (ec) return makeError(ErrorCode::kIo, what + ": open " + path + ": " + ec.message());
  ec = runOperation(
      ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  return {};
}

// The client side of the handshake: the server's certificate must verify and
// name parsed.host.
Status handshake(net::io_context& ioc, TlsStream& stream, const ParsedUrl& parsed,
                 std::chrono::steady_clock::time_point deadline, const std::string& what) {
  SSL* ssl = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  beast::error_code ec;
  net::ip::make_address(parsed.host, ec);
  const bool ip = !ec;
  // SNI carries names only, never IP literals (RFC 6066).
  const bool named = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, parsed.host.c_str()) == 1
                        : X509_VERIFY_PARAM_set1_host(param, parsed.host.c_str(), 0) == 1 &&
                              SSL_set_tlsext_host_name(ssl, parsed.host.c_str()) == 1;
  if (!named) {
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": cannot verify a certificate for host '" + parsed.host + "'");
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  ec = runOperation(ioc, [&](auto handler) {
    stream.async_handshake(net::ssl::stream_base::client, std::move(handler));
  });
  if (!ec) return {};
  if (std::string why = detail::peerVerificationFailure(ssl); !why.empty()) {
    return makeError(ErrorCode::kPermissionDenied,
                     what + ": the server's certificate did not verify: " + why);
  }
  Error error = transportError(ec, what + ": TLS handshake failed");
  if (error.code == ErrorCode::kUnavailable) error.message += " (is the server speaking HTTPS?)";
  return makeError(std::move(error));
}

// Resolves `url`'s host, connects `stream`, shakes hands over TLS and sends the
// request, all before `deadline` (name resolution of non-literal hosts excluded).
template <class Stream>
Status connectAndSend(net::io_context& ioc, Stream& stream, const std::string& method,
                      const ParsedUrl& parsed, const std::map<std::string, std::string>& headers,
                      const std::string& body, std::chrono::steady_clock::time_point deadline,
                      const std::string& what) {
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  auto literal = net::ip::make_address(parsed.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, static_cast<uint16_t>(std::stoi(parsed.port)));
  } else {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(parsed.host, parsed.port, ec);
    if (ec)
      return makeError(ErrorCode::kUnavailable,
                       what + ": cannot resolve '" + parsed.host + "': " + ec.message());
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  beast::tcp_stream& tcpStream = beast::get_lowest_layer(stream);
  tcpStream.expires_at(deadline);
  ec = runOperation(ioc,
                    [&](auto handler) { tcpStream.async_connect(endpoints, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  beast::error_code ignored;
  tcpStream.socket().set_option(tcp::no_delay(true), ignored);
  if constexpr (kIsTls<Stream>) {
    if (auto ok = handshake(ioc, stream, parsed, deadline, what); !ok) return ok;
  }

  bhttp::request<bhttp::string_body> req;
  bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(parsed.target);
  req.version(11);
  const bool ipv6 = parsed.host.find(':') != std::string::npos;
  req.set(bhttp::field::host, (ipv6 ? "[" + parsed.host + "]" : parsed.host) + ":" + parsed.port);
  req.set(bhttp::field::user_agent, "agora");
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  std::string token = defaultCredentials().bearerToken;
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  for (const auto& [name, value] : headers) {
    if (value.empty()) {
      req.erase(name);  // e.g. no Authorization: an anonymous call
    } else {
      req.set(name, value);
    }
  }
  req.body() = body;
  req.prepare_payload();

  tcpStream.expires_at(deadline);
  ec =
      runOperation(ioc, [&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  return {};
}

// Closes the connection without a TLS close_notify: every response read here
// ended by its own framing, or the exchange is abandoned.
template <class Stream>
void shutdown(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// Calls `run(stream)` with a connected-to-be plain or TLS stream on `ioc`, as
// `parsed` asks.
template <class Run>
Result<ClientResponse> withStream(const ClientTls& tls, const ParsedUrl& parsed,
                                  net::io_context& ioc, Run run) {
  if (!parsed.https) {
    beast::tcp_stream stream(ioc);
    return run(stream);
  }
  auto context = detail::makeClientContext(tls);
  if (!context) return makeError(context.error());
  TlsStream stream(ioc, **context);
  return run(stream);
}

template <class Stream>
Result<ClientResponse> exchangeOver(Stream& stream, net::io_context& ioc, const ParsedUrl& parsed,
                                    const std::string& method,
                                    const std::map<std::string, std::string>& headers,
                                    const std::string& body,
                                    std::chrono::steady_clock::time_point deadline,
                                    const std::string& bodyPath, const std::string& what) {
  if (auto sent = connectAndSend(ioc, stream, method, parsed, headers, body, deadline, what);
      !sent) {
    return makeError(sent.error());
  }

  beast::error_code ec;
  beast::flat_buffer buffer;
  ClientResponse response;
  beast::get_lowest_layer(stream).expires_at(deadline);
  if (!bodyPath.empty()) {
    if (auto ok = readToFile(ioc, stream, buffer, bodyPath, what, response); !ok) {
      return makeError(ok.error());
    }
    shutdown(stream);
    return response;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(kMaxHeaderBytes);
  ec = runOperation(
      ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));

  shutdown(stream);
  auto& res = parser.get();
  copyHeaders(res, response);
  response.body = std::move(res.body());
  return response;
}

Result<ClientResponse> exchange(const ClientTls& tls, const std::string& method,
                                const std::string& url,
                                const std::map<std::string, std::string>& headers,
                                const std::string& body, std::chrono::milliseconds timeout,
                                const std::string& bodyPath = "") {
  auto parsed = parseUrl(url);
  if (!parsed) return makeError(parsed.error());
  const std::string what = method + " " + url;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  net::io_context ioc;
  return withStream(tls, *parsed, ioc, [&](auto& stream) {
    return exchangeOver(stream, ioc, *parsed, method, headers, body, deadline, bodyPath, what);
  });
}

// getStream() over `stream`, without its exception handling; `callbackError`
// receives what onData threw.
template <class Stream>
Result<ClientResponse> streamOver(Stream& stream, net::io_context& ioc, const ParsedUrl& parsed,
                                  const std::map<std::string, std::string>& headers,
                                  const std::function<bool(std::string_view)>& onData,
                                  std::chrono::milliseconds connectTimeout,
                                  std::chrono::steady_clock::time_point deadline,
                                  std::stop_token stop, std::exception_ptr& callbackError,
                                  const std::string& what) {
  if (auto sent = connectAndSend(ioc, stream, "GET", parsed, headers, "", deadline, what); !sent) {
    return makeError(sent.error());
  }
  beast::tcp_stream& tcpStream = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> head;
  head.header_limit(kMaxHeaderBytes);
  // No limit here: a Content-Length is checked against the one that applies
  // below. Not boost::none: Beast 1.74 then fails reading the header alone of a
  // response with a Content-Length (body_limit).
  head.body_limit(std::numeric_limits<std::uint64_t>::max());
  tcpStream.expires_at(deadline);
  auto ec = runOperation(ioc, [&](auto handler) {
    bhttp::async_read_header(stream, buffer, head, std::move(handler));
  });
  if (ec) return makeError(transportError(ec, what));
  ClientResponse response;
  copyHeaders(head.get(), response);

  if (response.status < 200 || response.status >= 300) {
    auto tooLarge = [&] {
      return makeError(ErrorCode::kTooLarge,
                       what + ": status " + std::to_string(response.status) + " with a body over " +
                           std::to_string(kMaxStreamErrorBodyBytes) + " bytes");
    };
    if (head.content_length().value_or(0) > kMaxStreamErrorBodyBytes) return tooLarge();
    bhttp::response_parser<bhttp::string_body> parser(std::move(head));
    parser.body_limit(kMaxStreamErrorBodyBytes);
    tcpStream.expires_after(connectTimeout);
    ec = runOperation(
        ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
    if (ec == bhttp::error::body_limit) return tooLarge();
    if (ec) return makeError(transportError(ec, what));
    response.body = std::move(parser.get().body());
    shutdown(stream);
    return response;
  }

  bhttp::response_parser<bhttp::buffer_body> parser(std::move(head));
  parser.body_limit(boost::none);
  tcpStream.expires_never();
  // Cancels the pending read from the thread requesting the stop; runs on this
  // thread's io_context, inside runOperation().
  std::stop_callback onStop(
      stop, [&ioc, &tcpStream] { net::post(ioc, [&tcpStream] { tcpStream.cancel(); }); });
  // A body that ends when the connection does (a server-sent event stream).
  const bool closeDelimited = !parser.chunked() && !parser.content_length();
  std::vector<char> chunk(kStreamReadBytes);
  while (!parser.is_done() && !stop.stop_requested()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    body.more = true;
    ec = runOperation(ioc, [&](auto handler) {
      bhttp::async_read_some(stream, buffer, parser, std::move(handler));
    });
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t received = chunk.size() - parser.get().body().size;
    if (received > 0) {
      bool more = false;
      try {
        more = onData(std::string_view(chunk.data(), received));
      } catch (...) {
        callbackError = std::current_exception();
      }
      if (!more) break;
    }
    if (ec && stop.stop_requested()) break;
    // A TLS peer that closes without close_notify (a server dropping a client
    // it gave up on) ends such a body as a bare close does over plain HTTP.
    if (ec == net::ssl::error::stream_truncated && closeDelimited) break;
    if (ec) return makeError(ErrorCode::kIo, what + ": reading the body: " + ec.message());
  }
  shutdown(stream);
  return response;
}

Result<ClientResponse> streamGet(const ClientTls& tls, const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout, std::stop_token stop,
                                 std::exception_ptr& callbackError) {
  auto parsed = parseUrl(url);
  if (!parsed) return makeError(parsed.error());
  const std::string what = "GET " + url;
  const auto deadline = std::chrono::steady_clock::now() + connectTimeout;
  net::io_context ioc;
  return withStream(tls, *parsed, ioc, [&](auto& stream) {
    return streamOver(stream, ioc, *parsed, headers, onData, connectTimeout, deadline, stop,
                      callbackError, what);
  });
}

}  // namespace

Result<ClientResponse> request(const ClientTls& tls, const std::string& method,
                               const std::string& url, const std::string& body,
                               std::chrono::milliseconds timeout) {
  return requestWithHeaders(tls, method, url, {}, body, timeout);
}

Result<ClientResponse> request(const std::string& method, const std::string& url,
                               const std::string& body, std::chrono::milliseconds timeout) {
  return requestWithHeaders(defaultCredentials().tls, method, url, {}, body, timeout);
}

Result<ClientResponse> requestWithHeaders(const ClientTls& tls, const std::string& method,
                                          const std::string& url,
                                          const std::map<std::string, std::string>& headers,
                                          const std::string& body,
                                          std::chrono::milliseconds timeout) {
  try {
    return exchange(tls, method, url, headers, body, timeout);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, method + " " + url + ": " + e.what());
  }
}

Result<ClientResponse> requestWithHeaders(const std::string& method, const std::string& url,
                                          const std::map<std::string, std::string>& headers,
                                          const std::string& body,
                                          std::chrono::milliseconds timeout) {
  return requestWithHeaders(defaultCredentials().tls, method, url, headers, body, timeout);
}

Result<ClientResponse> requestToFile(const ClientTls& tls, const std::string& method,
                                     const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path, std::chrono::milliseconds timeout) {
  try {
    return exchange(tls, method, url, headers, "", timeout, path);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, method + " " + url + ": " + e.what());
  }
}

Result<ClientResponse> requestToFile(const std::string& method, const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path, std::chrono::milliseconds timeout) {
  return requestToFile(defaultCredentials().tls, method, url, headers, path, timeout);
}

Result<ClientResponse> getStream(const ClientTls& tls, const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout, std::stop_token stop) {
  std::exception_ptr callbackError;
  Result<ClientResponse> result = makeError(ErrorCode::kInternal, "");
  try {
    result = streamGet(tls, url, headers, onData, connectTimeout, std::move(stop), callbackError);
  } catch (const std::exception& e) {
    result = makeError(ErrorCode::kInternal, "GET " + url + ": " + e.what());
  }
  if (callbackError) std::rethrow_exception(callbackError);
  return result;
}

Result<ClientResponse> getStream(const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout, std::stop_token stop) {
  return getStream(defaultCredentials().tls, url, headers, onData, connectTimeout, std::move(stop));
}

std::string urlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace agora::http
