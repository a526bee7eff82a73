#pragma once
// Why `agora run --role R` found no fitting offer, from the master's
// /api/v1/roles view: a quota limit (of R or an ancestor) below the request,
// a limit already consumed, or no quota at all and only small offers.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/resources.hpp"

namespace agora::cli {

struct RoleExplanation {
  // A quota limit makes the request impossible (now or ever); `text` says which.
  bool quotaBlocks = false;
  // "role R: quota limit cpus 0.5 < requested 1", "role R has no quota; largest
  // offer to R had cpus:0.5;mem:128", ...
  std::string text;
};

// roles: the body of GET /api/v1/roles. largestOffer: the biggest offer the
// run scheduler saw in R, if any.
RoleExplanation explainRole(const nlohmann::json& roles, const std::string& role,
                            const Resources& requested,
                            const std::optional<Resources>& largestOffer);

}  // namespace agora::cli
