#include "frameworks/sdk/master_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/http_client.hpp"

namespace agora::sdk {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string stripScheme(const std::string& address, const std::string& scheme) {
  return address.rfind(scheme, 0) == 0 ? address.substr(scheme.size()) : address;
}

// Closes the descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// One non-blocking connect to `ai` within the deadline: the socket, or the
// errno that failed it (ETIMEDOUT when the deadline passed).
Result<int> connectOne(const addrinfo& ai, Clock::time_point deadline) {
  Fd sock;
  sock.fd = socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock.fd < 0) return makeError(errnoError("socket", errno));
  int err = 0;
  if (connect(sock.fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      err = errno;
    } else {
      pollfd p{sock.fd, POLLOUT, 0};
      int ready = poll(&p, 1, remainingMs(deadline));
      socklen_t len = sizeof(err);
      if (ready == 0) {
        err = ETIMEDOUT;
      } else if (ready < 0 || getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
      }
    }
  }
  if (err != 0) return makeError(ErrorCode::kUnavailable, std::strerror(err));
  int fd = sock.fd;
  sock.fd = -1;
  return fd;
}

// A connected TCP socket to HOST:PORT within the deadline, trying each
// address the name resolves to ("localhost": ::1, then 127.0.0.1).
Result<int> connectTo(const std::string& hostPort, Clock::time_point deadline) {
  size_t colon = hostPort.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostPort.size()) {
    return makeError(ErrorCode::kInvalidArgument, "'" + hostPort + "' is not HOST:PORT");
  }
  std::string host = hostPort.substr(0, colon), port = hostPort.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return makeError(ErrorCode::kUnavailable,
                     "cannot resolve " + hostPort + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  std::string why = "no address";
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    auto fd = connectOne(*ai, deadline);
    if (fd) return fd;
    why = fd.error().message;
    if (remainingMs(deadline) == 0) break;
  }
  return makeError(ErrorCode::kUnavailable, "cannot connect to " + hostPort + ": " + why);
}

// The peer's first bytes after our ZMTP signature: up to 10, fewer when it
// closes or stays silent until the deadline.
std::string exchangeGreeting(int fd, Clock::time_point deadline) {
  // ZMTP 3 signature: 0xFF, 8 bytes of length (1 for ZMTP 1.0 peers), 0x7F.
  const unsigned char signature[10] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F};
  (void)!send(fd, signature, sizeof(signature), MSG_NOSIGNAL);
  std::string got;
  while (got.size() < 10) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, remainingMs(deadline)) <= 0) break;
    char buf[10];
    ssize_t n = recv(fd, buf, 10 - got.size(), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace

std::string toHttpBase(const std::string& address) {
  std::string base = address.find("://") == std::string::npos ? "http://" + address : address;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::vector<std::string> httpBases(const std::string& addresses) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= addresses.size()) {
    size_t comma = addresses.find(',', start);
    if (comma == std::string::npos) comma = addresses.size();
    if (comma > start) out.push_back(toHttpBase(addresses.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

Result<PeerKind> probePeer(const std::string& address, Duration timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  std::string hostPort = stripScheme(address, "tcp://");
  auto fd = connectTo(hostPort, deadline);
  if (!fd) return makeError(fd.error());
  Fd sock{*fd};
  std::string got = exchangeGreeting(sock.fd, deadline);
  if (got.size() == 10 && static_cast<unsigned char>(got[0]) == 0xFF && (got[9] & 1) == 1) {
    return PeerKind::kZeroMq;
  }
  if (got.rfind("HTTP/", 0) == 0) return PeerKind::kHttp;
  return PeerKind::kOther;
}

std::string replaceWildcardHost(const std::string& endpoint, const std::string& host) {
  const std::string scheme = "tcp://";
  if (endpoint.rfind(scheme, 0) != 0) return endpoint;
  size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon < scheme.size()) return endpoint;
  std::string current = endpoint.substr(scheme.size(), colon - scheme.size());
  if (current != "0.0.0.0" && current != "*" && current != "[::]") return endpoint;
  return scheme + host + endpoint.substr(colon);
}

namespace {

// GET /api/v1/master at "HOST:PORT" (`scheme` "http://" or "https://"):
// the scheduler endpoint.
Result<std::string> askHttpMaster(const std::string& hostPort, Duration timeout,
                                  const std::string& scheme = "http://") {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  auto response = http::get(scheme + hostPort + "/api/v1/master", ms);
  if (!response) return makeError(response.error());
  if (response->status == 401) {
    return makeError(ErrorCode::kPermissionDenied,
                     "GET /api/v1/master answered 401: this master wants a token (the client "
                     "configuration's `token`, e.g. `agora dev`'s) or a client certificate");
  }
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !body.is_object() || !body.contains("endpoint") ||
      !body["endpoint"].is_string()) {
    return makeError(ErrorCode::kProtocol,
                     "GET /api/v1/master answered " + std::to_string(response->status) +
                         " without a scheduler endpoint");
  }
  std::string host = hostPort.substr(0, hostPort.rfind(':'));
  return replaceWildcardHost(body["endpoint"].get<std::string>(), host);
}

}  // namespace

Result<std::string> resolveMasterEndpoint(const std::string& address, Duration timeout) {
  if (address.rfind("zk://", 0) == 0 || address.rfind("ipc://", 0) == 0 ||
      address.rfind("inproc://", 0) == 0) {
    return address;
  }
  if (address.rfind("http://", 0) == 0 || address.rfind("https://", 0) == 0) {
    std::string scheme = address.substr(0, address.find("//") + 2);
    std::string hostPort = stripScheme(address, scheme);
    if (!hostPort.empty() && hostPort.back() == '/') hostPort.pop_back();
    auto endpoint = askHttpMaster(hostPort, timeout, scheme);
    if (!endpoint) {
      return makeError(endpoint.error().code,
                       "no master's HTTP API at " + address + ": " + endpoint.error().message);
    }
    return endpoint;
  }
  std::string hostPort = stripScheme(address, "tcp://");
  auto kind = probePeer(hostPort, timeout);
  if (!kind) {
    return makeError(kind.error().code, kind.error().message +
                                            " — expected a master there (its scheduler endpoint, "
                                            "`agora-master --listen`, or its HTTP API)");
  }
  if (*kind == PeerKind::kZeroMq) return "tcp://" + hostPort;
  // Not ZeroMQ: the master's HTTP API names its scheduler endpoint.
  auto endpoint = askHttpMaster(hostPort, timeout);
  if (endpoint) return endpoint;
  return makeError(ErrorCode::kProtocol,
                   hostPort + " is not an Agora master: it " +
                       (*kind == PeerKind::kHttp ? "answers HTTP but " + endpoint.error().message
                                                 : "does not speak ZeroMQ or HTTP") +
                       "; expected the master's scheduler endpoint (ZeroMQ, `agora-master "
                       "--listen`) or its HTTP API (`agora-master --http`)");
}

}  // namespace agora::sdk
