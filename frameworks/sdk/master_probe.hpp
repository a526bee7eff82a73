#pragma once
// What listens at a master address, found out before a scheduler subscribes.
// The driver retries SUBSCRIBE until a master answers, which is right for a
// framework started before its master but leaves a person who typed a wrong
// address (nothing there, or the master's HTTP port) waiting in silence. A
// probe answers within a second: connection refused, a ZeroMQ peer, an HTTP
// server, or something else.
//
// Blocking; call before the driver's loop starts (it does no I/O on a loop).

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace agora::sdk {

enum class PeerKind {
  kZeroMq,  // answered with a ZMTP greeting
  kHttp,    // answered an HTTP request
  kOther,   // connected, but answered neither (or closed / stayed silent)
};

// Connects to HOST:PORT (a tcp:// prefix is allowed), sends the ZMTP
// signature and reads what comes back. kUnavailable when the connection is
// refused or cannot be made within `timeout`, naming the address.
Result<PeerKind> probePeer(const std::string& address, Duration timeout = seconds(1));

// The scheduler endpoint for `address`, which may name either side of a
// master: its scheduler endpoint (tcp://HOST:PORT or HOST:PORT, checked to be
// ZeroMQ) or its HTTP API (http://HOST:PORT, https://HOST:PORT, or a HOST:PORT that answers HTTP),
// from which GET /api/v1/master gives the scheduler endpoint (a wildcard host
// there becomes HOST). zk:// and ipc:// addresses are returned unchanged.
// Errors name the address and what was expected there.
Result<std::string> resolveMasterEndpoint(const std::string& address,
                                          Duration timeout = seconds(1));

// A master's HTTP API address as a URL base: "HOST:PORT" becomes
// "http://HOST:PORT"; a scheme is kept; trailing slashes go.
std::string toHttpBase(const std::string& address);

// The URL bases of a comma list of masters' HTTP API addresses (highly
// available masters: to be tried in turn), empty entries skipped.
std::vector<std::string> httpBases(const std::string& addresses);

// "tcp://0.0.0.0:5055" advertised by a master reached at `host`: the same
// endpoint on `host`. Endpoints with a specific host are returned unchanged.
std::string replaceWildcardHost(const std::string& endpoint, const std::string& host);

}  // namespace agora::sdk
