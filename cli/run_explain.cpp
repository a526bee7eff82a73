#include "cli/run_explain.hpp"

#include <regex>
#include <set>

namespace agora::cli {

namespace {

std::string attributesText(const nlohmann::json& attributes) {
  std::string out = "{";
  if (attributes.is_object()) {
    for (auto it = attributes.begin(); it != attributes.end(); ++it) {
      if (out.size() > 1) out += ", ";
      out += it.key() + ":" + (it->is_string() ? it->get<std::string>() : it->dump());
    }
  }
  return out + "}";
}

bool fullMatch(const std::string& value, const std::string& pattern) {
  try {
    return std::regex_match(value, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

std::vector<nlohmann::json> registeredAgents(const nlohmann::json& agents) {
  std::vector<nlohmann::json> out;
  if (!agents.is_object() || !agents.contains("agents") || !agents["agents"].is_array()) return out;
  for (const auto& agent : agents["agents"]) {
    if (agent.is_object() && agent.value("status", "REGISTERED") == "REGISTERED") {
      out.push_back(agent);
    }
  }
  return out;
}

// "1 agent, attributes {}" / "3 agents, attributes {rack:r2}, {}" (distinct sets).
std::string describeAgents(const std::vector<nlohmann::json>& agents) {
  std::set<std::string> distinct;
  for (const auto& agent : agents) distinct.insert(attributesText(agent.value("attributes", nlohmann::json::object())));
  std::string out = std::to_string(agents.size()) + (agents.size() == 1 ? " agent" : " agents");
  if (agents.empty()) return out + " registered";
  out += ", attributes ";
  bool first = true;
  for (const auto& text : distinct) {
    if (!first) out += ", ";
    out += text;
    first = false;
  }
  return out;
}

}  // namespace

bool satisfies(const nlohmann::json& attributes, const AttributeConstraint& c) {
  bool present = attributes.is_object() && attributes.contains(c.attribute);
  std::string value;
  if (present) {
    const auto& v = attributes[c.attribute];
    value = v.is_string() ? v.get<std::string>() : v.dump();
  }
  switch (c.predicate) {
    case ConstraintPredicate::EXISTS:
      return present;
    case ConstraintPredicate::NOT_EXISTS:
      return !present;
    case ConstraintPredicate::EQUALS:
      return present && value == c.value;
    case ConstraintPredicate::NOT_EQUALS:
      return !present || value != c.value;
    case ConstraintPredicate::MATCHES:
      return present && fullMatch(value, c.value);
    case ConstraintPredicate::NOT_MATCHES:
      return !present || !fullMatch(value, c.value);
  }
  return false;
}

std::optional<std::string> explainConstraints(const nlohmann::json& agents,
                                              const std::vector<AttributeConstraint>& constraints) {
  if (constraints.empty()) return std::nullopt;
  auto registered = registeredAgents(agents);
  for (const auto& constraint : constraints) {
    bool any = false;
    for (const auto& agent : registered) {
      any = any || satisfies(agent.value("attributes", nlohmann::json::object()), constraint);
    }
    if (!any) {
      return "no agent matches constraint " + toString(constraint) + ": " +
             describeAgents(registered);
    }
  }
  for (const auto& agent : registered) {
    bool all = true;
    for (const auto& constraint : constraints) {
      all = all && satisfies(agent.value("attributes", nlohmann::json::object()), constraint);
    }
    if (all) return std::nullopt;
  }
  std::string list;
  for (const auto& constraint : constraints) list += (list.empty() ? "" : " ") + toString(constraint);
  return "no agent matches all of the constraints " + list + ": " + describeAgents(registered);
}

}  // namespace agora::cli
