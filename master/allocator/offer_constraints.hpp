#pragma once
// A framework's offer constraints compiled for evaluation against agent
// attributes. Regular expressions are RE2 (linear time, bounded memory), so
// a hostile pattern from a scheduler cannot stall or crash the master.

#include <memory>
#include <vector>

#include "common/attribute_constraint.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace re2 {
class RE2;
}

namespace agora::master {

class OfferConstraints {
 public:
  // kInvalidArgument naming the constraint when a regex does not compile.
  static Result<std::shared_ptr<const OfferConstraints>> compile(
      const std::vector<AttributeConstraint>& constraints);
  ~OfferConstraints();

  // True when the attributes satisfy every constraint.
  bool matches(const KeyValues& attributes) const;

 private:
  struct Compiled {
    AttributeConstraint constraint;
    std::unique_ptr<re2::RE2> regex;  // matches / notMatches only
  };
  OfferConstraints() = default;
  std::vector<Compiled> compiled_;
};

}  // namespace agora::master
