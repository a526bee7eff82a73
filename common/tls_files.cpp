#include "common/tls_files.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <type_traits>

#include "common/openssl_util.hpp"

namespace agora::tls {

namespace {

using detail::BioPtr;
using detail::PKeyPtr;
using detail::X509Ptr;

Error openSslError(const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + detail::takeErrors()};
}

// Writes `content` to `path` through a temporary file and a rename, so a
// reader never sees half a key; the file has `mode` from its creation on.
Status writeFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return makeError(errnoError("cannot write " + temporary, errno));
  // The file may have existed with a wider mode; open() keeps that.
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(temporary.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    return makeError(errnoError("cannot write " + path, err));
  }
  return {};
}

template <class WritePem>
Result<std::string> toPem(WritePem write, const std::string& what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return makeError(openSslError("cannot encode " + what));
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

Status writeKeyAndCertificate(EVP_PKEY* key, X509* certificate, const CertificateFiles& files) {
  auto keyPem = toPem(
      [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "private key");
  if (!keyPem) return makeError(keyPem.error());
  auto certificatePem = toPem(
      [certificate](BIO* bio) { return PEM_write_bio_X509(bio, certificate); }, "certificate");
  if (!certificatePem) return makeError(certificatePem.error());
  if (auto ok = writeFileAtomically(files.privateKeyFile, *keyPem, 0600); !ok) return ok;
  return writeFileAtomically(files.certificateFile, *certificatePem, 0644);
}

Result<PKeyPtr> generateKey() {
  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return makeError(openSslError("cannot generate an EC P-256 key"));
  return key;
}

// A certificate for `key` with subject CN `commonName`, a random serial and
// the validity window; issuer and extensions are the caller's.
Result<X509Ptr> newCertificate(EVP_PKEY* key, const std::string& commonName,
                               std::chrono::hours validity) {
  X509Ptr certificate(X509_new());
  if (!certificate) return makeError(openSslError("cannot allocate a certificate"));
  X509_set_version(certificate.get(), 2);  // v3
  std::unique_ptr<BIGNUM, detail::Deleter<BIGNUM, BN_free>> serial(BN_new());
  // 63 random bits with the top one clear: a positive serial, unique in practice.
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) {
    return makeError(openSslError("cannot set a serial number"));
  }
  const long skew = 3600;
  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -skew) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()),
                      std::chrono::duration_cast<std::chrono::seconds>(validity).count()) ==
          nullptr ||
      X509_set_pubkey(certificate.get(), key) != 1) {
    return makeError(openSslError("cannot set validity or public key"));
  }
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1,
                                 0) != 1) {
    return makeError(openSslError("cannot set subject CN '" + commonName + "'"));
  }
  return certificate;
}

Status addExtension(X509* certificate, X509V3_CTX* context, int nid, const std::string& value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, context, nid, value.c_str());
  if (extension == nullptr) {
    return makeError(
        openSslError(std::string("cannot build extension ") + OBJ_nid2sn(nid) + "=" + value));
  }
  int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return makeError(openSslError(std::string("cannot add ") + OBJ_nid2sn(nid)));
  return {};
}

bool isIpLiteral(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string sanList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ",";
    out += (isIpLiteral(name) ? "IP:" : "DNS:") + name;
  }
  return out;
}

template <class Read>
Result<std::invoke_result_t<Read, BIO*>> readPem(const std::string& path, Read read,
                                                 const std::string& what) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    return makeError(ErrorCode::kInvalidArgument,
                     "cannot read " + what + " '" + path + "': " + detail::takeErrors());
  }
  auto value = read(bio.get());
  if (!value) {
    return makeError(ErrorCode::kInvalidArgument,
                     "cannot parse " + what + " '" + path + "': " + detail::takeErrors());
  }
  return value;
}

}  // namespace

Result<CertificateFiles> createCertificateAuthority(const std::string& dir,
                                                    const std::string& commonName,
                                                    std::chrono::hours validity) {
  auto key = generateKey();
  if (!key) return makeError(key.error());
  auto certificate = newCertificate(key->get(), commonName, validity);
  if (!certificate) return makeError(certificate.error());
  X509* cert = certificate->get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1)
    return makeError(openSslError("cannot set the issuer"));
  X509V3_CTX context;
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
                            {NID_key_usage, "critical,keyCertSign,cRLSign"},
                            {NID_subject_key_identifier, "hash"}}) {
    if (auto ok = addExtension(cert, &context, nid, value); !ok) return makeError(ok.error());
  }
  if (X509_sign(cert, key->get(), EVP_sha256()) == 0)
    return makeError(openSslError("cannot sign the CA certificate"));
  CertificateFiles files{dir + "/ca.crt", dir + "/ca.key"};
  if (auto ok = writeKeyAndCertificate(key->get(), cert, files); !ok) return makeError(ok.error());
  return files;
}

Result<CertificateFiles> issueCertificate(const CertificateFiles& ca, const std::string& dir,
                                          const CertificateRequest& request) {
  if (request.name.empty() || request.commonName.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "a certificate needs a file name and a CN");
  }
  auto caCertificate = readPem(
      ca.certificateFile,
      [](BIO* bio) { return X509Ptr(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)); },
      "CA certificate");
  if (!caCertificate) return makeError(caCertificate.error());
  auto caKey = readPem(
      ca.privateKeyFile,
      [](BIO* bio) { return PKeyPtr(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)); },
      "CA private key");
  if (!caKey) return makeError(caKey.error());

  auto key = generateKey();
  if (!key) return makeError(key.error());
  auto certificate = newCertificate(key->get(), request.commonName, request.validity);
  if (!certificate) return makeError(certificate.error());
  X509* cert = certificate->get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(caCertificate->get())) != 1)
    return makeError(openSslError("cannot set the issuer"));
  X509V3_CTX context;
  X509V3_set_ctx(&context, caCertificate->get(), cert, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!request.subjectAltNames.empty())
    extensions.emplace_back(NID_subject_alt_name, sanList(request.subjectAltNames));
  for (const auto& [nid, value] : extensions) {
    if (auto ok = addExtension(cert, &context, nid, value); !ok) return makeError(ok.error());
  }
  if (X509_sign(cert, caKey->get(), EVP_sha256()) == 0)
    return makeError(openSslError("cannot sign the certificate for '" + request.commonName + "'"));
  CertificateFiles files{dir + "/" + request.name + ".crt", dir + "/" + request.name + ".key"};
  if (auto ok = writeKeyAndCertificate(key->get(), cert, files); !ok) return makeError(ok.error());
  return files;
}

}  // namespace agora::tls
