#include "agent/images/pull_policy.hpp"

namespace agora::agent::images {

PullPolicy defaultPullPolicy(const ImageReference& reference) {
  if (!reference.digest.empty()) return PullPolicy::kIfNotPresent;
  std::string tag = reference.tag;
  if (reference.transport == Transport::kDockerArchive) {
    size_t colon = tag.rfind(':');  // "NAME:TAG"
    tag = colon == std::string::npos ? "" : tag.substr(colon + 1);
  }
  return tag.empty() || tag == "latest" ? PullPolicy::kAlways : PullPolicy::kIfNotPresent;
}

Result<PullPolicy> parsePullPolicy(const std::string& text) {
  if (text == "Always") return PullPolicy::kAlways;
  if (text == "IfNotPresent") return PullPolicy::kIfNotPresent;
  return makeError(ErrorCode::kInvalidArgument, std::string("label ") + kPullPolicyLabel + "='" +
                                                    text + "': expected Always or IfNotPresent");
}

}  // namespace agora::agent::images
