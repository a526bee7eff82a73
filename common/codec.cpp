#include "common/codec.hpp"

#include <kj/exception.h>

#include <algorithm>
#include <cstring>

namespace agora {

namespace {

// Cap'n Proto's own bound on segments per message.
constexpr uint32_t kMaxSegments = 512;

// Unpacks the first `out.size()` bytes of a packed stream (the encoding of
// capnp/serialize-packed.h: per word a tag byte whose bits say which bytes
// are non-zero; tag 0 is followed by a count of further zero words, tag
// 0xff by a count of words copied verbatim). Returns false if cut short.
bool unpackPrefix(std::string_view in, std::string& out) {
  size_t want = out.size(), have = 0, pos = 0;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  while (have < want) {
    if (pos >= in.size()) return false;
    uint8_t tag = byte(pos++);
    for (int bit = 0; bit < 8 && have < want; ++bit) {
      if ((tag & (1u << bit)) == 0) {
        out[have++] = 0;
      } else {
        if (pos >= in.size()) return false;
        out[have++] = static_cast<char>(byte(pos++));
      }
    }
    if (have >= want) break;
    if (tag == 0x00 || tag == 0xff) {
      if (pos >= in.size()) return false;
      size_t words = byte(pos++);
      size_t bytes = std::min(words * 8, want - have);
      if (tag == 0x00) {
        std::fill_n(out.begin() + static_cast<long>(have), bytes, '\0');
      } else {
        if (pos + bytes > in.size()) return false;
        std::memcpy(out.data() + have, in.data() + pos, bytes);
        pos += bytes;
      }
      have += bytes;
    }
  }
  return true;
}

uint32_t littleEndian32(const std::string& bytes, size_t at) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + at, sizeof(value));
  return value;  // Cap'n Proto is little-endian, as are the hosts we build for
}

}  // namespace

std::string encodePacked(capnp::MessageBuilder& builder) {
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto array = out.getArray();
  return std::string(reinterpret_cast<const char*>(array.begin()), array.size());
}

Result<uint64_t> declaredWords(std::string_view packed) {
  std::string first(8, '\0');
  if (!unpackPrefix(packed, first)) {
    return makeError(ErrorCode::kProtocol, "malformed message: segment table cut short");
  }
  uint64_t segments = uint64_t{littleEndian32(first, 0)} + 1;
  if (segments > kMaxSegments) {
    return makeError(ErrorCode::kProtocol, "malformed message: " + std::to_string(segments) +
                                               " segments (at most " +
                                               std::to_string(kMaxSegments) + ")");
  }
  uint64_t words = littleEndian32(first, 4);
  if (segments > 1) {
    // The other sizes follow, padded to a whole word.
    std::string table(8 + segments / 2 * 8, '\0');
    if (!unpackPrefix(packed, table)) {
      return makeError(ErrorCode::kProtocol, "malformed message: segment table cut short");
    }
    for (uint64_t i = 1; i < segments; ++i) words += littleEndian32(table, 4 + 4 * i);
  }
  return words;
}

Result<Decoded> Decoded::parse(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return makeError(ErrorCode::kProtocol, "empty message");
  auto words = declaredWords(bytes);
  if (!words) return makeError(words.error());
  uint64_t expansionBound = DecodeLimits::kFreeWords + limits.maxWordsPerByte * bytes.size();
  if (*words > limits.maxWords || *words > expansionBound) {
    return makeError(ErrorCode::kTooLarge,
                     "message of " + std::to_string(bytes.size()) + " bytes declares " +
                         std::to_string(*words) + " words; at most " +
                         std::to_string(std::min(limits.maxWords, expansionBound)) +
                         " are accepted");
  }
  Decoded decoded;
  decoded.state_ = std::make_unique<State>();
  State& state = *decoded.state_;
  state.bytes.assign(bytes.data(), bytes.size());
  try {
    state.stream = std::make_unique<kj::ArrayInputStream>(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(state.bytes.data()), state.bytes.size()));
    capnp::ReaderOptions options;
    // Reading a word twice counts twice (pointers may alias): readers walk a
    // message a few times at most, so a multiple of its size bounds them.
    options.traversalLimitInWords = std::max<uint64_t>(8 * *words, 64 * 1024);
    options.nestingLimit = 32;
    state.reader = std::make_unique<capnp::PackedMessageReader>(*state.stream, options);
  } catch (const kj::Exception& e) {
    return makeError(ErrorCode::kProtocol,
                     std::string("malformed message: ") + e.getDescription().cStr());
  }
  return decoded;
}

Status catchDecode(const std::function<void()>& body) {
  try {
    body();
  } catch (const kj::Exception& e) {
    return makeError(ErrorCode::kProtocol,
                     std::string("malformed message: ") + e.getDescription().cStr());
  }
  return {};
}

}  // namespace agora
