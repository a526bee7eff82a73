#include "master/allocator/offer_constraints.hpp"

#include <re2/re2.h>

#include <algorithm>

namespace agora::master {

namespace {

// Per-pattern memory budget; far beyond any sensible attribute pattern.
constexpr int64_t kMaxRegexMemoryBytes = 256 * 1024;

const std::string* findAttribute(const KeyValues& attributes, const std::string& name) {
  auto it = std::find_if(attributes.begin(), attributes.end(),
                         [&](const auto& kv) { return kv.first == name; });
  return it == attributes.end() ? nullptr : &it->second;
}

}  // namespace

OfferConstraints::~OfferConstraints() = default;

Result<std::shared_ptr<const OfferConstraints>> OfferConstraints::compile(
    const std::vector<AttributeConstraint>& constraints) {
  std::shared_ptr<OfferConstraints> out(new OfferConstraints());
  for (const AttributeConstraint& c : constraints) {
    Compiled item{c, nullptr};
    if (c.predicate == ConstraintPredicate::MATCHES ||
        c.predicate == ConstraintPredicate::NOT_MATCHES) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(kMaxRegexMemoryBytes);
      item.regex = std::make_unique<RE2>(c.value, options);
      if (!item.regex->ok()) {
        return makeError(ErrorCode::kInvalidArgument, "offer constraint '" + toString(c) +
                                                          "': invalid regex: " +
                                                          item.regex->error());
      }
    }
    out->compiled_.push_back(std::move(item));
  }
  return std::shared_ptr<const OfferConstraints>(std::move(out));
}

bool OfferConstraints::matches(const KeyValues& attributes) const {
  for (const Compiled& item : compiled_) {
    const std::string* value = findAttribute(attributes, item.constraint.attribute);
    bool ok = false;
    switch (item.constraint.predicate) {
      case ConstraintPredicate::EXISTS:
        ok = value != nullptr;
        break;
      case ConstraintPredicate::NOT_EXISTS:
        ok = value == nullptr;
        break;
      case ConstraintPredicate::EQUALS:
        ok = value != nullptr && *value == item.constraint.value;
        break;
      case ConstraintPredicate::NOT_EQUALS:
        ok = value == nullptr || *value != item.constraint.value;
        break;
      case ConstraintPredicate::MATCHES:
        ok = value != nullptr && RE2::FullMatch(*value, *item.regex);
        break;
      case ConstraintPredicate::NOT_MATCHES:
        ok = value == nullptr || !RE2::FullMatch(*value, *item.regex);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace agora::master
