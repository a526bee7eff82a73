#include "common/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <limits>
#include <optional>
#include <vector>

namespace agora::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
// getStream(): the body of a response other than 2xx is read whole up to this.
constexpr uint64_t kMaxStreamErrorBodyBytes = 1024 * 1024;
constexpr size_t kStreamReadBytes = 16 * 1024;

struct ParsedUrl {
  std::string host;  // without brackets
  std::string port;
  std::string target;
};

Result<ParsedUrl> parseUrl(const std::string& url) {
  auto invalid = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "bad url '" + url + "': " + why);
  };
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return invalid("only http:// is supported");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  ParsedUrl parsed;
  parsed.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  std::string_view portText = "80";
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
Status readToFile(net::io_context& ioc, beast::tcp_stream& stream, beast::flat_buffer& buffer,
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

// Resolves `url`'s host, connects `stream` and sends the request, all before
// `deadline` (name resolution of non-literal hosts excluded).
Status connectAndSend(net::io_context& ioc, beast::tcp_stream& stream, const std::string& method,
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

  stream.expires_at(deadline);
  ec =
      runOperation(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

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
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  stream.expires_at(deadline);
  ec =
      runOperation(ioc, [&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));
  return {};
}

Result<ClientResponse> exchange(const std::string& method, const std::string& url,
                                const std::map<std::string, std::string>& headers,
                                const std::string& body, std::chrono::milliseconds timeout,
                                const std::string& bodyPath = "") {
  auto parsed = parseUrl(url);
  if (!parsed) return makeError(parsed.error());
  const std::string what = method + " " + url;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (auto sent = connectAndSend(ioc, stream, method, *parsed, headers, body, deadline, what);
      !sent) {
    return makeError(sent.error());
  }

  beast::error_code ec;
  beast::error_code ignored;
  beast::flat_buffer buffer;
  ClientResponse response;
  stream.expires_at(deadline);
  if (!bodyPath.empty()) {
    if (auto ok = readToFile(ioc, stream, buffer, bodyPath, what, response); !ok) {
      return makeError(ok.error());
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return response;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(kMaxHeaderBytes);
  ec = runOperation(
      ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return makeError(transportError(ec, what));

  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto& res = parser.get();
  copyHeaders(res, response);
  response.body = std::move(res.body());
  return response;
}

// getStream() without its exception handling; `callbackError` receives what
// onData threw.
Result<ClientResponse> streamGet(const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout, std::stop_token stop,
                                 std::exception_ptr& callbackError) {
  auto parsed = parseUrl(url);
  if (!parsed) return makeError(parsed.error());
  const std::string what = "GET " + url;
  const auto deadline = std::chrono::steady_clock::now() + connectTimeout;

  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (auto sent = connectAndSend(ioc, stream, "GET", *parsed, headers, "", deadline, what); !sent) {
    return makeError(sent.error());
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> head;
  head.header_limit(kMaxHeaderBytes);
  // No limit here: a Content-Length is checked against the one that applies
  // below. Not boost::none: Beast 1.74 then fails reading the header alone of a
  // response with a Content-Length (body_limit).
  head.body_limit(std::numeric_limits<std::uint64_t>::max());
  stream.expires_at(deadline);
  auto ec = runOperation(ioc, [&](auto handler) {
    bhttp::async_read_header(stream, buffer, head, std::move(handler));
  });
  if (ec) return makeError(transportError(ec, what));
  ClientResponse response;
  copyHeaders(head.get(), response);
  beast::error_code ignored;

  if (response.status < 200 || response.status >= 300) {
    auto tooLarge = [&] {
      return makeError(ErrorCode::kTooLarge,
                       what + ": status " + std::to_string(response.status) + " with a body over " +
                           std::to_string(kMaxStreamErrorBodyBytes) + " bytes");
    };
    if (head.content_length().value_or(0) > kMaxStreamErrorBodyBytes) return tooLarge();
    bhttp::response_parser<bhttp::string_body> parser(std::move(head));
    parser.body_limit(kMaxStreamErrorBodyBytes);
    stream.expires_after(connectTimeout);
    ec = runOperation(
        ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
    if (ec == bhttp::error::body_limit) return tooLarge();
    if (ec) return makeError(transportError(ec, what));
    response.body = std::move(parser.get().body());
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return response;
  }

  bhttp::response_parser<bhttp::buffer_body> parser(std::move(head));
  parser.body_limit(boost::none);
  stream.expires_never();
  // Cancels the pending read from the thread requesting the stop; runs on this
  // thread's io_context, inside runOperation().
  std::stop_callback onStop(stop,
                            [&ioc, &stream] { net::post(ioc, [&stream] { stream.cancel(); }); });
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
    if (ec) return makeError(ErrorCode::kIo, what + ": reading the body: " + ec.message());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return response;
}

}  // namespace

Result<ClientResponse> request(const std::string& method, const std::string& url,
                               const std::string& body, std::chrono::milliseconds timeout) {
  return requestWithHeaders(method, url, {}, body, timeout);
}

Result<ClientResponse> requestWithHeaders(const std::string& method, const std::string& url,
                                          const std::map<std::string, std::string>& headers,
                                          const std::string& body,
                                          std::chrono::milliseconds timeout) {
  try {
    return exchange(method, url, headers, body, timeout);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, method + " " + url + ": " + e.what());
  }
}

Result<ClientResponse> requestToFile(const std::string& method, const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path, std::chrono::milliseconds timeout) {
  try {
    return exchange(method, url, headers, "", timeout, path);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, method + " " + url + ": " + e.what());
  }
}

Result<ClientResponse> getStream(const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout, std::stop_token stop) {
  std::exception_ptr callbackError;
  Result<ClientResponse> result = makeError(ErrorCode::kInternal, "");
  try {
    result = streamGet(url, headers, onData, connectTimeout, std::move(stop), callbackError);
  } catch (const std::exception& e) {
    result = makeError(ErrorCode::kInternal, "GET " + url + ": " + e.what());
  }
  if (callbackError) std::rethrow_exception(callbackError);
  return result;
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
