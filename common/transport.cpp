#include "common/transport.hpp"

#include <random>

namespace agora {

namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator;
}
}  // namespace

std::string randomUuidBytes() {
  std::string bytes(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t v = rng()();
    for (size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<char>((v >> (8 * j)) & 0xff);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // variant
  return bytes;
}

std::string hexEncode(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string randomIdentity(const std::string& prefix) {
  return prefix + "-" + hexEncode(randomUuidBytes().substr(0, 8));
}

}  // namespace agora
