#include "frameworks/kit/constraints.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace agora::kit {

namespace {

struct OpName {
  ConstraintOp op;
  const char* name;
};
constexpr OpName kOps[] = {{ConstraintOp::kUnique, "UNIQUE"},
                           {ConstraintOp::kCluster, "CLUSTER"},
                           {ConstraintOp::kGroupBy, "GROUP_BY"},
                           {ConstraintOp::kLike, "LIKE"},
                           {ConstraintOp::kUnlike, "UNLIKE"},
                           {ConstraintOp::kMaxPer, "MAX_PER"},
                           {ConstraintOp::kIs, "IS"}};

const char* opName(ConstraintOp op) {
  for (const OpName& o : kOps) {
    if (o.op == op) return o.name;
  }
  return "?";
}

std::optional<std::string> fieldOf(const Placement& at, const std::string& field) {
  if (field == "hostname") return at.hostname;
  for (const auto& [name, value] : at.attributes) {
    if (name == field) return value;
  }
  return std::nullopt;
}

Status refuse(const Constraint& c, const std::string& why) {
  return makeError(ErrorCode::kFailedPrecondition, "constraint " + c.text() + ": " + why);
}

}  // namespace

std::string Constraint::text() const {
  std::string out = field + ":" + opName(op);
  if (op == ConstraintOp::kGroupBy || op == ConstraintOp::kMaxPer) {
    if (number > 0) out += ":" + std::to_string(number);
  } else if (!value.empty()) {
    out += ":" + value;
  }
  return out;
}

Result<Constraint> parseConstraint(const std::vector<std::string>& parts) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (const std::string& p : parts) shown += (shown.empty() ? "" : ", ") + p;
    return makeError(ErrorCode::kInvalidArgument, "constraint [" + shown + "]: " + why);
  };
  if (parts.size() < 2 || parts.size() > 3) return bad("expected [FIELD, OPERATOR, VALUE?]");
  Constraint c;
  c.field = parts[0];
  if (c.field.empty()) return bad("empty field");
  std::string op = parts[1];
  std::transform(op.begin(), op.end(), op.begin(),
                 [](unsigned char ch) { return std::toupper(ch); });
  const OpName* found = nullptr;
  for (const OpName& o : kOps) {
    if (op == o.name) found = &o;
  }
  if (found == nullptr) {
    return bad("unknown operator '" + parts[1] +
               "' (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS)");
  }
  c.op = found->op;
  c.value = parts.size() == 3 ? parts[2] : "";
  switch (c.op) {
    case ConstraintOp::kUnique:
      if (!c.value.empty()) return bad("UNIQUE takes no value");
      break;
    case ConstraintOp::kCluster:
      break;
    case ConstraintOp::kIs:
      if (parts.size() != 3) return bad("IS needs a value");
      break;
    case ConstraintOp::kLike:
    case ConstraintOp::kUnlike: {
      if (parts.size() != 3) return bad(std::string(found->name) + " needs a regular expression");
      RE2::Options options;
      options.set_log_errors(false);
      auto pattern = std::make_shared<RE2>(c.value, options);
      if (!pattern->ok()) return bad("bad regular expression: " + pattern->error());
      c.pattern = std::move(pattern);
      break;
    }
    case ConstraintOp::kGroupBy:
    case ConstraintOp::kMaxPer: {
      bool needed = c.op == ConstraintOp::kMaxPer;
      if (c.value.empty() && !needed) break;
      size_t used = 0;
      try {
        c.number = std::stoll(c.value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (c.value.empty() || used != c.value.size() || c.number < 1) {
        return bad(std::string(found->name) + " needs a whole number of at least 1");
      }
      c.value.clear();
      break;
    }
  }
  return c;
}

Result<Constraint> parseConstraintText(const std::string& text) {
  std::vector<std::string> parts;
  size_t first = text.find(':');
  parts.push_back(text.substr(0, first));
  if (first != std::string::npos) {
    size_t second = text.find(':', first + 1);
    parts.push_back(text.substr(first + 1, second == std::string::npos ? second : second - first - 1));
    if (second != std::string::npos) parts.push_back(text.substr(second + 1));
  }
  return parseConstraint(parts);
}

Status allows(const Constraint& c, const Placement& candidate,
              const std::vector<Placement>& placed) {
  std::optional<std::string> value = fieldOf(candidate, c.field);
  if (c.op == ConstraintOp::kUnlike) {
    if (value && RE2::FullMatch(*value, *c.pattern)) {
      return refuse(c, c.field + " '" + *value + "' matches");
    }
    return {};
  }
  if (!value) return refuse(c, "the agent has no " + c.field);
  std::map<std::string, int64_t> counts;  // tasks per value of the field
  for (const Placement& p : placed) {
    if (auto v = fieldOf(p, c.field)) counts[*v]++;
  }
  int64_t here = counts.count(*value) ? counts[*value] : 0;
  switch (c.op) {
    case ConstraintOp::kUnique:
      if (here > 0) return refuse(c, "a task already runs on " + c.field + " '" + *value + "'");
      return {};
    case ConstraintOp::kCluster: {
      std::string target = c.value;
      if (target.empty() && !counts.empty()) target = counts.begin()->first;
      if (!target.empty() && *value != target) {
        return refuse(c, c.field + " is '" + *value + "', the group is on '" + target + "'");
      }
      return {};
    }
    case ConstraintOp::kIs:
      if (*value != c.value) return refuse(c, c.field + " is '" + *value + "'");
      return {};
    case ConstraintOp::kLike:
      if (!RE2::FullMatch(*value, *c.pattern)) {
        return refuse(c, c.field + " '" + *value + "' does not match");
      }
      return {};
    case ConstraintOp::kMaxPer:
      if (here >= c.number) {
        return refuse(c,
                      std::to_string(here) + " tasks already on " + c.field + " '" + *value + "'");
      }
      return {};
    case ConstraintOp::kGroupBy: {
      // Even spread: only a value with the fewest tasks takes the next one.
      // Values not seen yet count 0 while fewer than N are known.
      int64_t fewest = here;
      bool unseenGroups = c.number > 0 && static_cast<int64_t>(counts.size()) < c.number;
      if (unseenGroups) fewest = 0;
      for (const auto& [v, n] : counts) fewest = std::min(fewest, n);
      if (here > fewest) {
        return refuse(c, std::to_string(here) + " tasks on " + c.field + " '" + *value +
                             "', another value has " + std::to_string(fewest));
      }
      return {};
    }
    case ConstraintOp::kUnlike:
      break;
  }
  return {};
}

Status allowsAll(const std::vector<Constraint>& constraints, const Placement& candidate,
                 const std::vector<Placement>& placed) {
  for (const Constraint& c : constraints) {
    if (Status s = allows(c, candidate, placed); !s) return s;
  }
  return {};
}

}  // namespace agora::kit
