#pragma once
// Offer constraints on agent attributes, given by a framework at SUBSCRIBE
// (AttributeConstraint in schemas/common.capnp). Parsing, printing and wire
// conversion; the master evaluates them (master/allocator/offer_constraints.hpp).
//
// Text form (CLI, logs): "rack=r1" equals, "rack!=r1" not equals,
// "zone~us-.*" matches (RE2, whole value), "zone!~us-.*" does not match,
// "gpu" exists, "!gpu" does not exist.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

using ConstraintPredicate = schema::ConstraintPredicate;

struct AttributeConstraint {
  std::string attribute;
  ConstraintPredicate predicate = ConstraintPredicate::EXISTS;
  std::string value;
  bool operator==(const AttributeConstraint&) const = default;
};

// Bounds that keep a subscription cheap to evaluate on every agent.
constexpr size_t kMaxOfferConstraints = 32;
constexpr size_t kMaxConstraintValueBytes = 512;

Result<AttributeConstraint> parseAttributeConstraint(std::string_view text);
std::string toString(const AttributeConstraint& constraint);

void toCapnp(const std::vector<AttributeConstraint>& in,
             capnp::List<schema::AttributeConstraint>::Builder out);
// Checks the bounds and that attribute names are non-empty.
Result<std::vector<AttributeConstraint>> fromCapnp(
    capnp::List<schema::AttributeConstraint>::Reader in);
nlohmann::json toJson(const std::vector<AttributeConstraint>& constraints);

}  // namespace agora
