#include "common/acl.hpp"

#include <sys/stat.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace agora::acl {

namespace {

struct ActionSpec {
  Action action;
  const char* name;
  const char* object;  // nullptr: the action has no object
};

constexpr std::array<ActionSpec, kActionCount> kActions{{
    {Action::kRegisterFramework, "register_frameworks", "roles"},
    {Action::kRunTask, "run_tasks", "users"},
    {Action::kLaunchPrivileged, "launch_privileged", nullptr},
    {Action::kAddCapability, "add_capabilities", "capabilities"},
    {Action::kMountHostPath, "mount_host_paths", "paths"},
    {Action::kReserve, "reserve_resources", "roles"},
    {Action::kUnreserve, "unreserve_resources", "reserver_principals"},
    {Action::kCreateVolume, "create_volumes", "roles"},
    {Action::kDestroyVolume, "destroy_volumes", "creator_principals"},
    {Action::kKillTask, "kill_tasks", "framework_principals"},
    {Action::kUpdateQuota, "update_quotas", "roles"},
    {Action::kUpdateWeight, "update_weights", "roles"},
    {Action::kAccessSandbox, "access_sandboxes", "users"},
    {Action::kTeardownFramework, "teardown_frameworks", "framework_principals"},
}};

const ActionSpec& spec(Action action) {
  for (const ActionSpec& s : kActions) {
    if (s.action == action) return s;
  }
  return kActions[0];  // unreachable: every Action is listed
}

// Not covered by "permissive": running as root, privileged containers,
// extra capabilities and host paths give a task the host.
bool dangerous(Action action, const std::string& object) {
  switch (action) {
    case Action::kRunTask:
      return object == "root" || object == "0";
    case Action::kLaunchPrivileged:
    case Action::kAddCapability:
    case Action::kMountHostPath:
      return true;
    default:
      return false;
  }
}

constexpr const char* kNoRuleDangerous = "no rule allows it, and it needs an explicit grant";
constexpr const char* kNoRuleStrict = "no rule allows it, and the ACLs are not permissive";
constexpr const char* kNoRulePermissive = "no rule (permissive)";

bool underPath(const std::string& path, const std::string& directory) {
  if (directory == "/") return !path.empty() && path[0] == '/';
  if (path.compare(0, directory.size(), directory) != 0) return false;
  return path.size() == directory.size() || path[directory.size()] == '/';
}

Error fieldError(const std::string& source, const std::string& where, const std::string& what) {
  return Error{ErrorCode::kInvalidArgument, source + ": " + where + ": " + what};
}

}  // namespace

const char* actionName(Action action) { return spec(action).name; }
const char* objectName(Action action) {
  const char* object = spec(action).object;
  return object == nullptr ? "" : object;
}

bool Acls::Entity::matches(const std::string& name, bool paths) const {
  if (kind != Kind::kSome) return true;
  return allows(name, paths);
}

bool Acls::Entity::allows(const std::string& name, bool paths) const {
  if (kind == Kind::kAny) return true;
  if (kind == Kind::kNone) return false;
  for (const std::string& value : values) {
    if (paths ? underPath(name, value) : value == name) return true;
  }
  return false;
}

Result<Acls> Acls::parse(const std::string& text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, source + ": not JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return makeError(ErrorCode::kInvalidArgument, source + ": expected a JSON object");
  }
  auto entity = [&](const nlohmann::json& value, const std::string& where) -> Result<Entity> {
    const nlohmann::json* v = &value;
    if (v->is_object()) {  // Mesos's {"type": "ANY"} / {"values": [...]}
      if (v->size() != 1 || !(v->contains("type") || v->contains("values"))) {
        return makeError(fieldError(source, where, "expected {\"type\": ...} or {\"values\": [...]}"));
      }
      v = v->contains("type") ? &(*v)["type"] : &(*v)["values"];
    }
    Entity out;
    if (v->is_string()) {
      std::string word = v->get<std::string>();
      if (word == "ANY") return out;
      if (word == "NONE") {
        out.kind = Entity::Kind::kNone;
        return out;
      }
      return makeError(fieldError(source, where, "\"" + word + "\" is neither ANY, NONE nor a list"));
    }
    if (!v->is_array() || v->empty()) {
      return makeError(fieldError(source, where, "expected ANY, NONE or a non-empty list of names"));
    }
    out.kind = Entity::Kind::kSome;
    for (const auto& name : *v) {
      if (!name.is_string() || name.get<std::string>().empty()) {
        return makeError(fieldError(source, where, "names must be non-empty strings"));
      }
      out.values.push_back(name.get<std::string>());
    }
    return out;
  };

  Acls acls;
  size_t total = 0;
  for (const auto& [key, value] : doc.items()) {
    if (key == "permissive") {
      if (!value.is_boolean()) return makeError(fieldError(source, key, "expected true or false"));
      acls.permissive_ = value.get<bool>();
      continue;
    }
    const ActionSpec* action = nullptr;
    for (const ActionSpec& s : kActions) {
      if (key == s.name) action = &s;
    }
    if (action == nullptr) return makeError(fieldError(source, key, "unknown action"));
    if (!value.is_array()) return makeError(fieldError(source, key, "expected a list of rules"));
    std::vector<Rule>& rules = acls.rules_[action->action];
    for (size_t i = 0; i < value.size(); ++i) {
      std::string where = key + "[" + std::to_string(i) + "]";
      const nlohmann::json& rule = value[i];
      if (!rule.is_object()) return makeError(fieldError(source, where, "expected an object"));
      if (++total > kMaxRules) {
        return makeError(fieldError(source, where, "more than " + std::to_string(kMaxRules) + " rules"));
      }
      Rule parsed;
      for (const auto& [field, entityValue] : rule.items()) {
        bool isObject = action->object != nullptr && field == action->object;
        if (field != "principals" && !isObject) {
          std::string expected = action->object == nullptr
                                     ? std::string("\"principals\"")
                                     : std::string("\"principals\" and \"") + action->object + "\"";
          return makeError(fieldError(source, where, "unknown key \"" + field + "\" (expected " +
                                                          expected + ")"));
        }
        auto parsedEntity = entity(entityValue, where + "." + field);
        if (!parsedEntity) return makeError(parsedEntity.error());
        (isObject ? parsed.object : parsed.principals) = std::move(*parsedEntity);
      }
      if (!rule.contains("principals")) {
        return makeError(fieldError(source, where, "missing \"principals\""));
      }
      if (action->object != nullptr && !rule.contains(action->object)) {
        return makeError(fieldError(source, where, std::string("missing \"") + action->object + "\""));
      }
      rules.push_back(std::move(parsed));
    }
  }
  return acls;
}

Result<Acls> Acls::load(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return makeError(ErrorCode::kNotFound, "cannot read ACL file " + path + ": no such file");
  }
  if (st.st_size > static_cast<off_t>(kMaxFileBytes)) {
    return makeError(ErrorCode::kInvalidArgument,
                     path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                         std::to_string(kMaxFileBytes) + " an ACL file may have");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return makeError(ErrorCode::kIo, "cannot read ACL file " + path);
  return parse(text.str(), path);
}

Decision Acls::check(Action action, const std::string& principal, const std::string& object) const {
  bool paths = action == Action::kMountHostPath;
  auto it = rules_.find(action);
  if (it != rules_.end()) {
    for (size_t i = 0; i < it->second.size(); ++i) {
      const Rule& rule = it->second[i];
      // An unauthenticated caller is matched (and allowed) only by ANY/NONE.
      bool subjectMatches = principal.empty() ? rule.principals.kind != Entity::Kind::kSome
                                              : rule.principals.matches(principal, false);
      if (!subjectMatches || !rule.object.matches(object, paths)) continue;
      bool allowed = (principal.empty() ? rule.principals.kind == Entity::Kind::kAny
                                        : rule.principals.allows(principal, false)) &&
                     rule.object.allows(object, paths);
      return Decision{allowed, std::string(actionName(action)) + "[" + std::to_string(i) + "]"};
    }
  }
  if (dangerous(action, object)) return Decision{false, kNoRuleDangerous};
  return Decision{permissive_, permissive_ ? kNoRulePermissive : kNoRuleStrict};
}

size_t Acls::ruleCount() const {
  size_t n = 0;
  for (const auto& [action, rules] : rules_) n += rules.size();
  return n;
}

std::string denialMessage(Action action, const std::string& principal, const std::string& object,
                          const Decision& decision) {
  std::string who = principal.empty() ? std::string("an unauthenticated caller") : principal;
  std::string what = spec(action).object == nullptr
                         ? std::string(actionName(action))
                         : std::string(actionName(action)) + " with " + objectName(action) + " '" +
                               object + "'";
  if (decision.rule.starts_with("no rule")) {
    return "not authorized: " + who + " may not " + what + ": " + decision.rule;
  }
  return "not authorized: ACL rule " + decision.rule + " denies " + who + " " + what;
}

}  // namespace agora::acl
