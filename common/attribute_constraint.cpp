#include "common/attribute_constraint.hpp"

#include <nlohmann/json.hpp>

namespace agora {

namespace {

bool takesValue(ConstraintPredicate p) {
  return p != ConstraintPredicate::EXISTS && p != ConstraintPredicate::NOT_EXISTS;
}

const char* operatorText(ConstraintPredicate p) {
  switch (p) {
    case ConstraintPredicate::EQUALS:
      return "=";
    case ConstraintPredicate::NOT_EQUALS:
      return "!=";
    case ConstraintPredicate::MATCHES:
      return "~";
    case ConstraintPredicate::NOT_MATCHES:
      return "!~";
    default:
      return "";
  }
}

Status check(const AttributeConstraint& c) {
  if (c.attribute.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "offer constraint without an attribute name");
  }
  if (c.attribute.size() > kMaxConstraintValueBytes || c.value.size() > kMaxConstraintValueBytes) {
    return makeError(ErrorCode::kInvalidArgument,
                     "offer constraint on '" + c.attribute.substr(0, 64) + "' is longer than " +
                         std::to_string(kMaxConstraintValueBytes) + " bytes");
  }
  return {};
}

}  // namespace

Result<AttributeConstraint> parseAttributeConstraint(std::string_view text) {
  AttributeConstraint c;
  size_t at = text.find_first_of("=~");
  if (at != std::string_view::npos) {
    bool negated = at > 0 && text[at - 1] == '!';
    bool equality = text[at] == '=';
    c.attribute = std::string(text.substr(0, negated ? at - 1 : at));
    c.predicate = equality ? (negated ? ConstraintPredicate::NOT_EQUALS : ConstraintPredicate::EQUALS)
                           : (negated ? ConstraintPredicate::NOT_MATCHES : ConstraintPredicate::MATCHES);
    c.value = std::string(text.substr(at + 1));
  } else if (!text.empty() && text.front() == '!') {
    c.predicate = ConstraintPredicate::NOT_EXISTS;
    c.attribute = std::string(text.substr(1));
  } else {
    c.attribute = std::string(text);
  }
  if (c.attribute.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is not an offer constraint (ATTR=V, ATTR!=V, ATTR~REGEX, "
                         "ATTR!~REGEX, ATTR or !ATTR)");
  }
  if (Status s = check(c); !s) return makeError(s.error());
  return c;
}

std::string toString(const AttributeConstraint& c) {
  if (c.predicate == ConstraintPredicate::EXISTS) return c.attribute;
  if (c.predicate == ConstraintPredicate::NOT_EXISTS) return "!" + c.attribute;
  return c.attribute + operatorText(c.predicate) + c.value;
}

void toCapnp(const std::vector<AttributeConstraint>& in,
             capnp::List<schema::AttributeConstraint>::Builder out) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setAttribute(in[i].attribute);
    out[i].setPredicate(in[i].predicate);
    out[i].setValue(in[i].value);
  }
}

Result<std::vector<AttributeConstraint>> fromCapnp(
    capnp::List<schema::AttributeConstraint>::Reader in) {
  if (in.size() > kMaxOfferConstraints) {
    return makeError(ErrorCode::kInvalidArgument,
                     std::to_string(in.size()) + " offer constraints; at most " +
                         std::to_string(kMaxOfferConstraints) + " are allowed");
  }
  std::vector<AttributeConstraint> out;
  for (auto c : in) {
    AttributeConstraint item{c.getAttribute(), c.getPredicate(), c.getValue()};
    if (static_cast<uint16_t>(item.predicate) > static_cast<uint16_t>(ConstraintPredicate::NOT_MATCHES)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "offer constraint on '" + item.attribute + "' has an unknown predicate");
    }
    if (!takesValue(item.predicate)) item.value.clear();
    if (Status s = check(item); !s) return makeError(s.error());
    out.push_back(std::move(item));
  }
  return out;
}

nlohmann::json toJson(const std::vector<AttributeConstraint>& constraints) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : constraints) out.push_back(toString(c));
  return out;
}

}  // namespace agora
