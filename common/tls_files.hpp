#pragma once
// Creates a private certificate authority and certificates it signs, as PEM
// files, for `agora dev` and tests (and small clusters without a PKI of their
// own). Keys are EC P-256; key files are written with mode 0600, certificates
// with 0644, each atomically (temporary file, rename).

#include <chrono>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::tls {

// A certificate and its private key, both PEM files.
struct CertificateFiles {
  std::string certificateFile;
  std::string privateKeyFile;
};

// A self-signed CA certificate with CN `commonName`, valid from an hour ago
// (clock skew) for `validity`, written to DIR/ca.crt and DIR/ca.key. `dir` must
// exist. Errors: kIo naming the file that could not be written; kInternal when
// OpenSSL fails.
Result<CertificateFiles> createCertificateAuthority(
    const std::string& dir, const std::string& commonName = "Agora CA",
    std::chrono::hours validity = std::chrono::hours(24 * 3650));

struct CertificateRequest {
  std::string name;        // files DIR/NAME.crt and DIR/NAME.key
  std::string commonName;  // subject CN; a client certificate's CN names its holder
  // Subject alternative names: IP literals become IP entries, anything else a
  // DNS entry. Clients verify a server's host against these, never the CN.
  std::vector<std::string> subjectAltNames;
  std::chrono::hours validity = std::chrono::hours(24 * 825);
};

// A certificate signed by `ca` (as created above), usable by a server and a
// client (extended key usage serverAuth and clientAuth). `dir` must exist.
// Errors: kInvalidArgument for an empty name or CN, or CA files that cannot be
// read or parsed (the message names the file); kIo naming a file that could not
// be written; kInternal when OpenSSL fails.
Result<CertificateFiles> issueCertificate(const CertificateFiles& ca, const std::string& dir,
                                          const CertificateRequest& request);

}  // namespace agora::tls
