#include "cli/role_explain.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "cli/output.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

std::string number(double value) { return formatNumber(value); }

const json* findRole(const json& roles, const std::string& name) {
  if (!roles.is_object() || !roles.contains("roles") || !roles["roles"].is_array()) return nullptr;
  for (const json& role : roles["roles"]) {
    if (role.is_object() && role.value("name", std::string()) == name) return &role;
  }
  return nullptr;
}

double amount(const json& resources, const std::string& name) {
  if (!resources.is_object() || !resources.contains(name) || !resources[name].is_number()) {
    return 0;
  }
  return resources[name].get<double>();
}

// "eng/web" -> {"eng/web", "eng"}: the role first, then its ancestors.
std::vector<std::string> selfAndAncestors(const std::string& role) {
  std::vector<std::string> out{role};
  for (size_t slash = role.rfind('/'); slash != std::string::npos && slash > 0;
       slash = role.rfind('/', slash - 1)) {
    out.push_back(role.substr(0, slash));
  }
  return out;
}

// What is reserved for `holder` and free (neither offered nor in use).
double reservedFree(const json& roles, const std::string& holder, const std::string& name) {
  const json* node = findRole(roles, holder);
  return node == nullptr ? 0 : amount(node->value("reserved_free", json::object()), name);
}

// The first limit on `name` (R's own, then its ancestors') that leaves less
// than `requested`, as a sentence; empty if none. Reservations count toward
// quota once, in use or not: what a role has reserved and free costs nothing
// more to use, so it adds to what the limit leaves.
std::string limitBlocking(const json& roles, const std::string& role, const std::string& name,
                          double requested) {
  double reserved = 0;  // free, reserved for R or an ancestor up to the holder
  for (const std::string& holder : selfAndAncestors(role)) {
    reserved += reservedFree(roles, holder, name);
    const json* node = findRole(roles, holder);
    if (node == nullptr || !node->contains("quota")) continue;
    const json& quota = (*node)["quota"];
    if (!quota.contains("limit") || !quota["limit"].is_object() || !quota["limit"].contains(name)) {
      continue;
    }
    double limit = amount(quota["limit"], name);
    std::string whose = holder == role ? "" : " (of parent role " + holder + ")";
    if (limit < requested) {
      return "role " + role + ": quota limit" + whose + " " + name + " " + number(limit) +
             " < requested " + number(requested);
    }
    double consumed = amount(quota.value("consumed", json::object()), name);
    double left = std::max(0.0, limit - consumed);
    if (left + reserved < requested) {
      std::string text = "role " + role + ": quota limit" + whose + " " + name + " " +
                         number(limit) + " with " + number(consumed) +
                         " consumed (reservations, in use or not, plus unreserved allocations) "
                         "leaves " + number(left);
      if (reserved > 0) text += " plus " + number(reserved) + " reserved and free";
      return text + " < requested " + number(requested);
    }
  }
  return "";
}

}  // namespace

RoleExplanation explainRole(const json& roles, const std::string& role, const Resources& requested,
                            const std::optional<Resources>& largestOffer) {
  for (const std::string& name : requested.scalarNames()) {
    std::string blocked = limitBlocking(roles, role, name, requested.scalar(name));
    if (!blocked.empty()) return RoleExplanation{true, blocked};
  }
  const json* node = findRole(roles, role);
  bool hasQuota = node != nullptr && node->contains("quota") &&
                  ((*node)["quota"].value("guarantee", json()).is_object() ||
                   (*node)["quota"].value("limit", json()).is_object());
  std::string text = hasQuota ? "role " + role + ": its quota does not block " +
                                    requested.toString()
                              : "role " + role + " has no quota";
  if (largestOffer) {
    text += "; largest offer to " + role + " had " + largestOffer->toString();
  } else {
    text += "; no offer was made to " + role;
  }
  return RoleExplanation{false, text};
}

}  // namespace agora::cli
