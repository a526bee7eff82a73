#pragma once
// OpenSSL contexts for the HTTP server and client. Internal to common/ (it
// pulls in Asio's SSL headers, which the public HTTP headers keep out).

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/result.hpp"

namespace agora::http::detail {

// TLS 1.2 and 1.3 only; forward-secret AEAD cipher suites only. Loads the
// server's certificate chain and key and, with clientCaFile, asks every client
// for a certificate and refuses one that does not verify (a client sending
// none is let through). kInvalidArgument naming the file that cannot be read
// or used.
Result<std::unique_ptr<boost::asio::ssl::context>> makeServerContext(const TlsOptions& options);

// Verifies the server against options.caFile (the system's trust store when
// empty); presents options.certificateFile when set. kInvalidArgument naming
// the file that cannot be read or used.
Result<std::unique_ptr<boost::asio::ssl::context>> makeClientContext(const ClientTls& options);

// The subject CN of the certificate the peer presented and that verified, ""
// when it presented none.
std::string verifiedPeerName(SSL* ssl);

// Why the peer's certificate did not verify during a failed handshake, "" when
// the handshake failed for another reason.
std::string peerVerificationFailure(SSL* ssl);

}  // namespace agora::http::detail
