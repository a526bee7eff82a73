#include "cli/role_explain.hpp"

#include <sstream>
#include <vector>

namespace agora::cli {

namespace {

using nlohmann::json;

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

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

// The first limit on `name` (R's own, then its ancestors') that leaves less
// than `requested`, as a sentence; empty if none.
std::string limitBlocking(const json& roles, const std::string& role, const std::string& name,
                          double requested) {
  for (const std::string& holder : selfAndAncestors(role)) {
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
    if (limit - consumed < requested) {
      return "role " + role + ": quota limit" + whose + " " + name + " " + number(limit) +
             " with " + number(consumed) + " consumed leaves " + number(limit - consumed) +
             " < requested " + number(requested);
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
