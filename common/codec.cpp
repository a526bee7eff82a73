#include "common/codec.hpp"

#include <kj/exception.h>

namespace agora {

std::string encodePacked(capnp::MessageBuilder& builder) {
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto array = out.getArray();
  return std::string(reinterpret_cast<const char*>(array.begin()), array.size());
}

Result<Decoded> Decoded::parse(std::string_view bytes) {
  if (bytes.empty()) return makeError(ErrorCode::kProtocol, "empty message");
  Decoded decoded;
  decoded.state_ = std::make_unique<State>();
  State& state = *decoded.state_;
  state.bytes.assign(bytes.data(), bytes.size());
  try {
    state.stream = std::make_unique<kj::ArrayInputStream>(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(state.bytes.data()), state.bytes.size()));
    capnp::ReaderOptions options;
    // Zero runs pack 256 words into 2 bytes, so input size does not bound the
    // traversal; the default limit (64 MiB) does.
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
