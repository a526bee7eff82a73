#pragma once
// Cap'n Proto framing: every frame is one packed message. Decoding never
// throws: malformed input becomes an Error. Reading fields of a decoded
// message may still throw kj::Exception on corrupt pointers, so readers run
// inside catchDecode().

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace agora {

std::string encodePacked(capnp::MessageBuilder& builder);

// How far a frame may unpack. Packing turns a run of 256 zero words into two
// bytes, so a small frame can declare a segment of millions of words that
// the reader would allocate and zero-fill before anything is read: the
// segment table is checked against these bounds first.
struct DecodeLimits {
  // Words the segment table may declare in all (a word is 8 bytes).
  uint64_t maxWords = 2u << 20;  // 16 MiB, the transport's frame limit
  // Words the message may declare per byte of frame, above kFreeWords. Real
  // messages unpack to a few times their packed size; a flood of zero runs
  // is what only a hostile peer sends.
  uint64_t maxWordsPerByte = 32;
  static constexpr uint64_t kFreeWords = 4096;
};

// Per protocol, by who may send it and what its largest honest message is.
inline constexpr DecodeLimits kSchedulerCallLimits{1u << 20, 32};  // ACCEPT of thousands
inline constexpr DecodeLimits kAgentMessageLimits{2u << 20, 32};   // re-registration with every task
inline constexpr DecodeLimits kExecutorMessageLimits{64u << 10, 32};  // one status update

class Decoded {
 public:
  // Copies `bytes` (ZeroMQ buffers are not word-aligned) and validates the
  // segment table against `limits` before unpacking anything more: a frame
  // past them is an Error with code kTooLarge. Traversal is bounded by the
  // declared size.
  static Result<Decoded> parse(std::string_view bytes, const DecodeLimits& limits = {});

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

// The words the segment table of a packed frame declares, read without
// unpacking the segments. kProtocol when the table is cut short or declares
// more than 512 segments.
Result<uint64_t> declaredWords(std::string_view packed);

// Runs `body`, turning a kj::Exception (corrupt message) into an Error.
Status catchDecode(const std::function<void()>& body);

}  // namespace agora
