#pragma once
// Building and opening protocol envelopes (schema::ExecutorEnvelope,
// schema::AgentEnvelope): version stamping on the way out, and on the way in
// the checks PROTOCOL.md requires before a frame is trusted (tag, version,
// decodable payload). Field reads that may throw stay inside catchDecode.

#include <string>
#include <string_view>

#include "common/codec.hpp"
#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora::agent {

template <class Envelope, class Fill>
std::string buildEnvelope(Fill&& fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<Envelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  fill(envelope);
  return encodePacked(message);
}

// Rejection reasons, as counted in agora_messages_rejected_total{reason}.
inline constexpr const char* kRejectProtocol = "protocol";
inline constexpr const char* kRejectDecode = "decode";
inline constexpr const char* kRejectVersion = "version";
inline constexpr const char* kRejectInvalid = "invalid";
inline constexpr const char* kRejectOversized = "oversized";  // would unpack past the limit
// A message naming a container without its executor's secret (executor_identity.hpp).
inline constexpr const char* kRejectForged = "forged";

struct Rejection {
  const char* reason;  // one of kReject*
  std::string detail;
};

// Checks the protocol tag and parses the payload within `limits`. The caller
// checks the envelope's version inside catchDecode.
inline tl::expected<Decoded, Rejection> openFrame(std::string_view expectedProtocol,
                                                  std::string_view protocol,
                                                  std::string_view payload,
                                                  const DecodeLimits& limits) {
  if (protocol != expectedProtocol) {
    return tl::unexpected<Rejection>(Rejection{
        kRejectProtocol, "unexpected protocol tag '" + std::string(protocol.substr(0, 64)) + "'"});
  }
  auto decoded = Decoded::parse(payload, limits);
  if (!decoded) {
    bool tooLarge = decoded.error().code == ErrorCode::kTooLarge;
    return tl::unexpected<Rejection>(
        Rejection{tooLarge ? kRejectOversized : kRejectDecode, decoded.error().message});
  }
  return std::move(*decoded);
}

}  // namespace agora::agent
