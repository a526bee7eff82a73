#include "common/zk/election.hpp"

#include <capnp/message.h>

#include <algorithm>

#include "common/codec.hpp"
#include "schemas/leader.capnp.h"

namespace agora::zk {

namespace {

constexpr size_t kSequenceDigits = 10;

// Candidates sorted by sequence number.
std::vector<std::pair<uint64_t, std::string>> candidates(const std::vector<std::string>& children) {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (const auto& name : children) {
    if (auto seq = candidateSequence(name)) out.emplace_back(*seq, name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string encodeMasterInfo(const MasterInfo& info) {
  capnp::MallocMessageBuilder builder;
  auto m = builder.initRoot<schema::MasterInfo>();
  m.setId(info.id);
  m.setEndpoint(info.endpoint);
  m.setHttpAddress(info.httpAddress);
  m.setHostname(info.hostname);
  m.setVersion(info.version);
  return encodePacked(builder);
}

Result<MasterInfo> decodeMasterInfo(std::string_view bytes) {
  auto decoded = Decoded::parse(bytes);
  if (!decoded) return makeError(decoded.error().withContext("MasterInfo"));
  MasterInfo info;
  Status read = catchDecode([&] {
    auto m = decoded->root<schema::MasterInfo>();
    info = MasterInfo{m.getId(), m.getEndpoint(), m.getHttpAddress(), m.getHostname(),
                      m.getVersion()};
  });
  if (!read) return makeError(read.error().withContext("MasterInfo"));
  if (info.endpoint.empty() || info.httpAddress.empty()) {
    return makeError(ErrorCode::kProtocol, "MasterInfo: endpoint and HTTP address are required");
  }
  return info;
}

std::string candidatePrefix(const std::string& owner) {
  return std::string(kCandidatePrefix) + owner + "-";
}

std::optional<uint64_t> candidateSequence(std::string_view name) {
  if (name.substr(0, kCandidatePrefix.size()) != kCandidatePrefix ||
      name.size() < kCandidatePrefix.size() + kSequenceDigits) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(name.size() - kSequenceDigits);
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::optional<std::string> leaderOf(const std::vector<std::string>& children) {
  auto sorted = candidates(children);
  if (sorted.empty()) return std::nullopt;
  return sorted.front().second;
}

std::optional<std::string> predecessorOf(const std::vector<std::string>& children,
                                         const std::string& own) {
  auto sorted = candidates(children);
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].second == own) return sorted[i - 1].second;
  }
  return std::nullopt;
}

std::optional<std::string> ownedBy(const std::vector<std::string>& children,
                                   const std::string& owner) {
  std::string prefix = candidatePrefix(owner);
  std::optional<std::string> found;
  for (const auto& [seq, name] : candidates(children)) {
    if (name.rfind(prefix, 0) == 0) found = name;
  }
  return found;
}

}  // namespace agora::zk
