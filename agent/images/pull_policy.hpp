#pragma once
// When a launch pulls its image again. Kubernetes's rules:
//   Always        resolve the reference at every launch (a moved tag is
//                 seen; a registry is asked each time);
//   IfNotPresent  resolve it once; later launches reuse what the store got
//                 for the same reference text until the store's next gc.
// The default is Always for a reference that names no tag or the tag
// "latest" (they are expected to move), IfNotPresent for any other tag and
// for digests. A task chooses with the label agora.image.pull_policy.

#include <string>

#include "agent/images/reference.hpp"
#include "common/result.hpp"

namespace agora::agent::images {

enum class PullPolicy { kAlways, kIfNotPresent };

constexpr const char* kPullPolicyLabel = "agora.image.pull_policy";

PullPolicy defaultPullPolicy(const ImageReference& reference);

// "Always" or "IfNotPresent"; anything else is kInvalidArgument naming the
// label and the accepted values.
Result<PullPolicy> parsePullPolicy(const std::string& text);

}  // namespace agora::agent::images
