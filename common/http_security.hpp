#pragma once
// The HTTP API security every daemon shares, from its flags:
//   --tls-cert/--tls-key [--tls-client-ca]  serve HTTPS (client certificates
//                                           verified against the CA name callers)
//   --insecure-http                         allow plain HTTP on a non-loopback address
//   --tokens FILE                           bearer tokens (common/http_auth.hpp)
//   --anonymous-read                        GET without an identity
//   --acls FILE                             what identities may do (common/acl.hpp)
// Plain HTTP is refused on an address other than loopback unless
// --insecure-http says so: tokens must not cross a network in clear.

#include <memory>
#include <optional>
#include <string>

#include "common/authorizer.hpp"
#include "common/flags.hpp"
#include "common/http_auth.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"

namespace agora {

struct HttpSecurityFlags {
  std::string tlsCert, tlsKey, tlsClientCa, tokens, acls;
  bool insecureHttp = false;
  bool anonymousRead = false;
};

void addHttpSecurityFlags(po::options_description& flags, HttpSecurityFlags& values);

struct HttpSecurity {
  std::optional<http::TlsOptions> tls;
  std::unique_ptr<http::Authenticator> authenticator;
  std::unique_ptr<acl::Authorizer> authorizer;

  // SIGHUP: re-reads the ACLs and the tokens; what does not load is kept
  // as it was, and the error logged.
  void reload();
  // Turns away, on `server`, every request but GET /health that needs an
  // identity it lacks (http::Authenticator::gate). REQUIRES: this outlives
  // the server.
  void protect(http::HttpServer& server) const;
};

// `listen` is the HTTP address (HOST:PORT). Metrics under `prefix`.
Result<HttpSecurity> setUpHttpSecurity(const HttpSecurityFlags& flags, const std::string& listen,
                                       Metrics& metrics, const std::string& prefix);

}  // namespace agora
