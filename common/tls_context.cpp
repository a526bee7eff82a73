#include "common/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "common/openssl_util.hpp"

namespace agora::http::detail {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: ECDHE key exchange with AEAD ciphers (Mozilla's
// "intermediate" list without finite-field DHE). TLS 1.3 keeps OpenSSL's
// defaults, all of which qualify.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Error fileError(const std::string& what, const std::string& path, const std::string& why) {
  return Error{ErrorCode::kInvalidArgument, what + " '" + path + "': " + why};
}

// OpenSSL reports a missing file as a chain of library errors; say it plainly.
Status checkReadable(const std::string& what, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr)
    return makeError(fileError("cannot read " + what, path, std::strerror(errno)));
  std::fclose(file);
  return {};
}

Status loadCertificateAndKey(SSL_CTX* context, const std::string& certificateFile,
                             const std::string& privateKeyFile, const std::string& whose) {
  if (privateKeyFile.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     whose + " certificate '" + certificateFile + "' needs a private key file");
  }
  if (auto ok = checkReadable(whose + " certificate", certificateFile); !ok) return ok;
  if (auto ok = checkReadable(whose + " private key", privateKeyFile); !ok) return ok;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(context, certificateFile.c_str()) != 1) {
    return makeError(fileError("cannot use " + whose + " certificate", certificateFile,
                               tls::detail::takeErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(context, privateKeyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return makeError(fileError("cannot use " + whose + " private key", privateKeyFile,
                               tls::detail::takeErrors()));
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return makeError(fileError("private key does not match certificate", certificateFile,
                               "key '" + privateKeyFile + "': " + tls::detail::takeErrors()));
  }
  return {};
}

Status loadTrustedCas(SSL_CTX* context, const std::string& what, const std::string& caFile) {
  if (auto ok = checkReadable(what, caFile); !ok) return ok;
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(context, caFile.c_str(), nullptr) != 1)
    return makeError(fileError("cannot use " + what, caFile, tls::detail::takeErrors()));
  return {};
}

// Settings both ends share.
Status restrictProtocol(SSL_CTX* context) {
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1) {
    return makeError(ErrorCode::kInternal, "cannot configure TLS protocol versions or ciphers: " +
                                               tls::detail::takeErrors());
  }
  return {};
}

Result<std::unique_ptr<ssl::context>> newContext(ssl::context::method method) {
  try {
    return std::make_unique<ssl::context>(method);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("cannot create a TLS context: ") + e.what());
  }
}

}  // namespace

Result<std::unique_ptr<ssl::context>> makeServerContext(const TlsOptions& options) {
  auto context = newContext(ssl::context::tls_server);
  if (!context) return context;
  SSL_CTX* native = (*context)->native_handle();
  if (auto ok = restrictProtocol(native); !ok) return makeError(ok.error());
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (options.certificateFile.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "TLS needs a server certificate file");
  }
  if (auto ok =
          loadCertificateAndKey(native, options.certificateFile, options.privateKeyFile, "server");
      !ok) {
    return makeError(ok.error());
  }
  if (!options.clientCaFile.empty()) {
    if (auto ok = loadTrustedCas(native, "client CA file", options.clientCaFile); !ok)
      return makeError(ok.error());
    // Tells clients which CAs to pick a certificate from.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.clientCaFile.c_str());
    if (names == nullptr) {
      return makeError(fileError("no CA certificate in client CA file", options.clientCaFile,
                                 tls::detail::takeErrors()));
    }
    SSL_CTX_set_client_CA_list(native, names);
    // Without FAIL_IF_NO_PEER_CERT: anonymous clients are the application's call.
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    // Resumed sessions keep their client's identity only with a session id
    // context; OpenSSL refuses to resume without one when verifying peers.
    static const unsigned char kSessionContext[] = "agora-http";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  }
  return context;
}

Result<std::unique_ptr<ssl::context>> makeClientContext(const ClientTls& options) {
  auto context = newContext(ssl::context::tls_client);
  if (!context) return context;
  SSL_CTX* native = (*context)->native_handle();
  if (auto ok = restrictProtocol(native); !ok) return makeError(ok.error());
  if (options.caFile.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) {
      return makeError(ErrorCode::kInternal,
                       "cannot load the system's trusted CAs: " + tls::detail::takeErrors());
    }
  } else if (auto ok = loadTrustedCas(native, "CA file", options.caFile); !ok) {
    return makeError(ok.error());
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (!options.certificateFile.empty()) {
    if (auto ok = loadCertificateAndKey(native, options.certificateFile, options.privateKeyFile,
                                        "client");
        !ok) {
      return makeError(ok.error());
    }
  }
  return context;
}

std::string verifiedPeerName(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return "";
  std::string name = SSL_get_verify_result(ssl) == X509_V_OK ? tls::detail::commonName(peer) : "";
  X509_free(peer);
  return name;
}

std::string peerVerificationFailure(SSL* ssl) {
  long result = SSL_get_verify_result(ssl);
  return result == X509_V_OK ? "" : X509_verify_cert_error_string(result);
}

}  // namespace agora::http::detail
