#pragma once
// Content digests of image blobs ("sha256:<64 lower-case hex>"). Only sha256 is
// accepted: it is what OCI and Docker registries use, and accepting weaker
// algorithms would let a manifest vouch for content with a forgeable hash.

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace agora::agent::images {

// kInvalidArgument naming the digest and what is wrong with it.
Status validateDigest(std::string_view digest);

// The hex part of a valid digest. REQUIRES: validateDigest(digest) succeeded.
std::string digestHex(std::string_view digest);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  // "sha256:<hex>". Call once.
  std::string finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

std::string sha256Digest(std::string_view data);
Result<std::string> sha256DigestOfFile(const std::string& path);

// kProtocol "<what> does not match its digest: expected D, got A" when the
// content's digest differs from `expected`.
Status checkDigest(const std::string& what, const std::string& expected,
                   const std::string& actual);

}  // namespace agora::agent::images
