#pragma once
// Synchronous HTTP/1.1 client (plain or TLS) for the CLI and tests. One
// connection per call; Beast, Asio and OpenSSL stay inside common/*.cpp.

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

// How https:// URLs are verified and what the client presents; ignored for
// http://. Files are PEM. The server's certificate must chain to a trusted CA
// and name the URL's host (an IP literal is matched against the certificate's
// IP entries, a name against its DNS entries).
struct ClientTls {
  std::string caFile;  // CAs to trust; "" trusts the system's store
  // Client certificate (optionally followed by its chain), for servers that
  // identify callers by certificate; privateKeyFile is then required.
  std::string certificateFile;
  std::string privateKeyFile;
};

// Process-wide credentials, set once at start (the CLI and schedulers, from
// the user's configuration): the TLS settings of the calls below that take
// no ClientTls, and a bearer token every request carries unless it names
// its own Authorization header. Thread-safe.
struct ClientCredentials {
  ClientTls tls;
  std::string bearerToken;
};
void setDefaultCredentials(ClientCredentials credentials);
ClientCredentials defaultCredentials();

// Every function below exists twice: with a leading `const ClientTls&`, and
// without, which uses the default credentials' (by default https://
// verified against the system's trusted CAs, no client certificate). TLS is 1.2 or later.
//
// url: "http://HOST:PORT/path?query", "https://HOST:PORT/path?query" or
// "HOST:PORT/path" (plain HTTP). Does not follow redirects. Never throws.
// Errors: kInvalidArgument for a bad url or unusable `tls` files (the message
// names the file); kUnavailable when the connection is refused, reset or closed
// before a response, or the TLS handshake fails for another reason than the
// server's certificate (e.g. a plain HTTP server, or the server refused our
// certificate); kPermissionDenied when the server's certificate does not verify
// ("the server's certificate did not verify: ..."); kTimeout when `timeout`
// (for the whole exchange, name resolution of non-literal hosts excluded)
// elapses; kProtocol for a malformed response. Non-empty bodies are sent as
// application/json.
Result<ClientResponse> request(const ClientTls& tls, const std::string& method,
                               const std::string& url, const std::string& body = "",
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
Result<ClientResponse> request(const std::string& method, const std::string& url,
                               const std::string& body = "",
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// request() with extra request headers (e.g. Accept), name -> value; an
// empty value sends no such header ({"Authorization", ""}: an anonymous call).
Result<ClientResponse> requestWithHeaders(
    const ClientTls& tls, const std::string& method, const std::string& url,
    const std::map<std::string, std::string>& headers, const std::string& body = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(10));
Result<ClientResponse> requestWithHeaders(
    const std::string& method, const std::string& url,
    const std::map<std::string, std::string>& headers, const std::string& body = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// requestWithHeaders() streaming a 2xx response's body into the file at `path`
// (created or truncated) instead of memory, for large downloads; `body` then
// stays empty. Other responses keep their body in memory as usual.
Result<ClientResponse> requestToFile(const ClientTls& tls, const std::string& method,
                                     const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
Result<ClientResponse> requestToFile(const std::string& method, const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// GETs `url` with `headers` and hands the body to `onData` as it arrives (chunk
// boundaries arbitrary; chunked and close-delimited bodies alike) until the body
// ends (the server closes the connection), onData returns false, or `stop` is
// requested from another thread; the connection is then closed and this returns
// the response with its status and headers (body empty). Over TLS a connection
// closed without close_notify also ends a close-delimited body, as a bare close
// does over plain HTTP. A response other than 2xx is returned with its whole
// body (up to 1 MiB, read within another `connectTimeout`) without calling
// onData. `connectTimeout` bounds connecting, the TLS handshake and reading the
// headers; the body may take forever. Exceptions thrown by onData propagate
// (the connection is closed). Errors: as request() until the headers;
// kTooLarge for a response other than 2xx whose body passes 1 MiB; kIo when the
// connection fails or the body is malformed while streaming.
Result<ClientResponse> getStream(const ClientTls& tls, const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout = std::chrono::seconds(5),
                                 std::stop_token stop = {});
Result<ClientResponse> getStream(const std::string& url,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<bool(std::string_view)>& onData,
                                 std::chrono::milliseconds connectTimeout = std::chrono::seconds(5),
                                 std::stop_token stop = {});

inline Result<ClientResponse> get(const ClientTls& tls, const std::string& url,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return request(tls, "GET", url, "", timeout);
}
inline Result<ClientResponse> get(const std::string& url,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return request("GET", url, "", timeout);
}

// Percent-encodes everything except unreserved characters (A-Z a-z 0-9 - _ . ~),
// suitable for a query value or a path segment.
std::string urlEncode(const std::string& s);

}  // namespace agora::http
