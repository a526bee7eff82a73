#pragma once
// Placement constraints as Marathon's apps state them, evaluated by a
// framework against an offer and the tasks of the same group it already
// placed: [FIELD, OPERATOR, VALUE?], FIELD being "hostname" or an agent
// attribute.
//
//   UNIQUE            every task on a different value        [hostname, UNIQUE]
//   CLUSTER [V]       every task on value V (or on the value the first task got)
//   GROUP_BY [N]      spread evenly over the values (N: how many to expect)
//   LIKE RE / UNLIKE RE   the value matches / does not match RE (RE2, whole value)
//   MAX_PER N         at most N tasks per value
//   IS V              the value is V
//
// An agent lacking the attribute satisfies only UNLIKE. Every refusal says
// which constraint refused and why, for "why is this not placed".

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "common/result.hpp"

namespace re2 {
class RE2;
}

namespace agora::kit {

enum class ConstraintOp { kUnique, kCluster, kGroupBy, kLike, kUnlike, kMaxPer, kIs };

struct Constraint {
  std::string field;
  ConstraintOp op = ConstraintOp::kUnique;
  std::string value;                        // CLUSTER, IS, LIKE, UNLIKE
  int64_t number = 0;                       // GROUP_BY (0: as many as seen), MAX_PER
  std::shared_ptr<const re2::RE2> pattern;  // LIKE, UNLIKE

  std::string text() const;  // "hostname:UNIQUE", "rack:MAX_PER:2"
};

// ["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"], ... (operator in any
// case). kInvalidArgument naming the part that is wrong.
Result<Constraint> parseConstraint(const std::vector<std::string>& parts);
// The same from "FIELD:OPERATOR[:VALUE]" (a flag's form; the value is the
// rest of the text, so a LIKE pattern may hold ':').
Result<Constraint> parseConstraintText(const std::string& text);

// Where a task runs, as constraints see it.
struct Placement {
  std::string hostname;
  KeyValues attributes;
  std::string agentUrl = {};  // the agent's HTTP API (containers and their usage)
};
inline Placement placementOf(const Offer& offer) {
  return {offer.hostname, offer.attributes, offer.agentUrl};
}

// Whether one more task may go where `candidate` is, given where the
// group's other tasks are (`placed`). The error (kFailedPrecondition) says
// which constraint refused and why.
Status allows(const Constraint& constraint, const Placement& candidate,
              const std::vector<Placement>& placed);
Status allowsAll(const std::vector<Constraint>& constraints, const Placement& candidate,
                 const std::vector<Placement>& placed);

}  // namespace agora::kit
