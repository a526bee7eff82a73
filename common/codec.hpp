#pragma once
// Cap'n Proto framing: every frame is one packed message. Decoding never
// throws: malformed input becomes an Error. Reading fields of a decoded
// message may still throw kj::Exception on corrupt pointers, so readers run
// inside catchDecode().

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace agora {

std::string encodePacked(capnp::MessageBuilder& builder);

class Decoded {
 public:
  // Copies `bytes` (ZeroMQ buffers are not word-aligned) and validates the
  // segment table. Traversal is bounded (64 MiB of words).
  static Result<Decoded> parse(std::string_view bytes);

  template <class T>
  typename T::Reader root() {
    return state_->reader->getRoot<T>();
  }

 private:
  struct State {
    std::string bytes;
    std::unique_ptr<kj::ArrayInputStream> stream;
    std::unique_ptr<capnp::PackedMessageReader> reader;
  };
  std::unique_ptr<State> state_;
};

// Runs `body`, turning a kj::Exception (corrupt message) into an Error.
Status catchDecode(const std::function<void()>& body);

}  // namespace agora
