#include "common/http_security.hpp"

#include <glog/logging.h>

namespace agora {

void addHttpSecurityFlags(po::options_description& flags, HttpSecurityFlags& values) {
  flags.add_options()("tls-cert", po::value(&values.tlsCert)->default_value(""),
                      "serve the HTTP API over TLS with this PEM certificate (with --tls-key)")(
      "tls-key", po::value(&values.tlsKey)->default_value(""), "the PEM private key of --tls-cert")(
      "tls-client-ca", po::value(&values.tlsClientCa)->default_value(""),
      "with --tls-cert: accept client certificates this CA signed; their common name is the "
      "caller's identity")(
      "insecure-http", po::bool_switch(&values.insecureHttp),
      "allow plain HTTP on an address other than loopback (tokens then cross the network in "
      "clear)")("tokens", po::value(&values.tokens)->default_value(""),
                "JSON file of bearer tokens and the identities they name, mode 0600: "
                "{\"tokens\": [{\"identity\": ..., \"token\": ...}]}")(
      "anonymous-read", po::bool_switch(&values.anonymousRead),
      "allow reads (GET) without a token or certificate; changes always need one")(
      "acls", po::value(&values.acls)->default_value(""),
      "JSON file of ACLs (Mesos's model): what principals and operators may do; reloaded on "
      "SIGHUP. Without it: everything but root tasks, privileged containers, added "
      "capabilities and host paths");
}

void HttpSecurity::reload() {
  if (!authorizer->path().empty()) {
    if (Status s = authorizer->reload(); !s)
      LOG(ERROR) << "ACLs not reloaded: " << s.error().message;
  }
  if (Status s = authenticator->reload(); !s) {
    LOG(ERROR) << "tokens not reloaded: " << s.error().message;
  }
}

void HttpSecurity::protect(http::HttpServer& server) const {
  server.addFilter([&auth = *authenticator](const http::Request& request) {
    return request.path == "/health" ? std::nullopt : auth.gate(request);
  });
}

Result<HttpSecurity> setUpHttpSecurity(const HttpSecurityFlags& flags, const std::string& listen,
                                       Metrics& metrics, const std::string& prefix) {
  HttpSecurity security;
  if (flags.tlsCert.empty() != flags.tlsKey.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "--tls-cert and --tls-key go together");
  }
  if (!flags.tlsClientCa.empty() && flags.tlsCert.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "--tls-client-ca needs --tls-cert");
  }
  if (!flags.tlsCert.empty()) {
    security.tls = http::TlsOptions{flags.tlsCert, flags.tlsKey, flags.tlsClientCa};
  } else if (!http::isLoopbackListenAddress(listen) && !flags.insecureHttp) {
    return makeError(ErrorCode::kInvalidArgument,
                     "refusing to serve plain HTTP on " + listen +
                         ", which is not a loopback address: give --tls-cert and --tls-key, or "
                         "--insecure-http to accept it");
  }
  auto authenticator = http::Authenticator::create({flags.tokens, flags.anonymousRead});
  if (!authenticator) return makeError(authenticator.error());
  security.authenticator = std::move(*authenticator);
  auto authorizer = acl::Authorizer::create(flags.acls, metrics, prefix);
  if (!authorizer) return makeError(authorizer.error());
  security.authorizer = std::move(*authorizer);
  return security;
}

}  // namespace agora
