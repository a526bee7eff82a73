#pragma once
// Small helpers over OpenSSL's C API shared by the TLS code in common/
// (tls_files.cpp, tls_context.cpp). Internal to common/.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace agora::tls::detail {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

// Drains OpenSSL's error queue of this thread: "reason; reason" (the most
// specific last), or "unknown OpenSSL error" when it is empty.
std::string takeErrors();

// The subject CN of `certificate` (UTF-8), or "" when it has none.
std::string commonName(const X509* certificate);

}  // namespace agora::tls::detail
