#pragma once
// Why `agora run --constraint ...` got no offer: the master offers a
// constrained framework only the agents whose attributes satisfy every
// constraint, so a task no agent can take sees no offer at all. This names the
// constraint no registered agent satisfies and the attributes the agents have,
// from the master's /api/v1/agents.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/attribute_constraint.hpp"

namespace agora::cli {

// True when `attributes` (an agent's {"name": "value"}) satisfy `constraint`.
// Regexes are matched as ECMAScript, close enough to the master's RE2 for an
// explanation.
bool satisfies(const nlohmann::json& attributes, const AttributeConstraint& constraint);

// "no agent matches constraint rack=r1: 1 agent, attributes {}" for the first
// constraint that no registered agent of `agents` (GET /api/v1/agents)
// satisfies; for constraints each met by some agent but never all by one,
// "no agent matches all of the constraints ...". nullopt when some agent
// satisfies them all (something else kept the offers away).
std::optional<std::string> explainConstraints(const nlohmann::json& agents,
                                              const std::vector<AttributeConstraint>& constraints);

}  // namespace agora::cli
