#include "agent/images/digest.hpp"

#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

namespace agora::agent::images {

namespace {
constexpr std::string_view kPrefix = "sha256:";
}

Status validateDigest(std::string_view digest) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument,
                     "bad digest '" + std::string(digest) + "': " + why);
  };
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return bad("expected 'sha256:<hex>'");
  if (digest.substr(0, colon + 1) != kPrefix) {
    return bad("unsupported algorithm '" + std::string(digest.substr(0, colon)) +
               "' (only sha256)");
  }
  std::string_view hex = digest.substr(kPrefix.size());
  if (hex.size() != 64) return bad("expected 64 hex digits, got " + std::to_string(hex.size()));
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return bad("'" + std::string(1, c) + "' is not a lower-case hex digit");
    }
  }
  return {};
}

std::string digestHex(std::string_view digest) {
  DCHECK(validateDigest(digest));
  return std::string(digest.substr(kPrefix.size()));
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  CHECK(ctx_ != nullptr);
  CHECK_EQ(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr), 1);
}

void Sha256::update(const void* data, size_t size) {
  CHECK_EQ(EVP_DigestUpdate(ctx_.get(), data, size), 1);
}

std::string Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK_EQ(EVP_DigestFinal_ex(ctx_.get(), md, &len), 1);
  static const char kHex[] = "0123456789abcdef";
  std::string out(kPrefix);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string sha256Digest(std::string_view data) {
  Sha256 sha;
  sha.update(data.data(), data.size());
  return sha.finish();
}

Result<std::string> sha256DigestOfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return makeError(errnoError("open " + path, errno));
  Sha256 sha;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return makeError(errnoError("read " + path, err));
    }
    if (n == 0) break;
    sha.update(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return sha.finish();
}

Status checkDigest(const std::string& what, const std::string& expected,
                   const std::string& actual) {
  if (expected == actual) return {};
  return makeError(ErrorCode::kProtocol, what + " does not match its digest: expected " +
                                             expected + ", got " + actual);
}

}  // namespace agora::agent::images
