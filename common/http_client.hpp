#pragma once
// Synchronous HTTP/1.1 client for the CLI and tests. One connection per call;
// Beast and Asio stay inside http_client.cpp.

#include <chrono>
#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace agora::http {

struct ClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// url: "http://HOST:PORT/path?query" or "HOST:PORT/path" (scheme optional; https is
// rejected). Does not follow redirects. Never throws. Errors: kInvalidArgument for a
// bad url, kUnavailable when the connection is refused, reset or closed before a
// response, kTimeout when `timeout` (for the whole exchange, name resolution of
// non-literal hosts excluded) elapses, kProtocol for a malformed response.
// Non-empty bodies are sent as application/json.
Result<ClientResponse> request(const std::string& method, const std::string& url,
                               const std::string& body = "",
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// request() with extra request headers (e.g. Accept), name -> value.
Result<ClientResponse> requestWithHeaders(
    const std::string& method, const std::string& url,
    const std::map<std::string, std::string>& headers, const std::string& body = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// requestWithHeaders() streaming a 2xx response's body into the file at `path`
// (created or truncated) instead of memory, for large downloads; `body` then
// stays empty. Other responses keep their body in memory as usual.
Result<ClientResponse> requestToFile(const std::string& method, const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// GETs `url` with `headers` and hands the body to `onData` as it arrives (chunk
// boundaries arbitrary; chunked and close-delimited bodies alike) until the body
// ends (the server closes the connection), onData returns false, or `stop` is
// requested from another thread; the connection is then closed and this returns
// the response with its status and headers (body empty). A response other than
// 2xx is returned with its whole body (up to 1 MiB, read within another
// `connectTimeout`) without calling onData. `connectTimeout` bounds connecting
// and reading the headers; the body may take forever. Exceptions thrown by
// onData propagate (the connection is closed). Errors: kInvalidArgument for a
// bad url; kUnavailable when the connection is refused or closed before a
// response; kTimeout when connectTimeout elapses before the headers (or the
// body of a response other than 2xx); kProtocol for a malformed response head;
// kTooLarge for a response other than 2xx whose body passes 1 MiB; kIo when the
// connection fails or the body is malformed while streaming.
Result<ClientResponse> getStream(const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout = std::chrono::seconds(5),
                                 std::stop_token stop = {});

inline Result<ClientResponse> get(const std::string& url,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return request("GET", url, "", timeout);
}

// Percent-encodes everything except unreserved characters (A-Z a-z 0-9 - _ . ~),
// suitable for a query value or a path segment.
std::string urlEncode(const std::string& s);

}  // namespace agora::http
