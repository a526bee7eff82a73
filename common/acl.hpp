#pragma once
// Access control lists: who (a principal: a framework's or agent's CurveZMQ
// key name, an operator's token or certificate identity) may do what to
// which object. Mesos's ACL model, read from a JSON file:
//
//   {
//     "permissive": true,
//     "register_frameworks": [{"principals": ["framework:billing"], "roles": ["billing"]},
//                             {"principals": "ANY", "roles": "NONE"}],
//     "run_tasks": [{"principals": ["framework:ops"], "users": ["root"]}]
//   }
//
// An entity is "ANY", "NONE" or a list of names (Mesos's {"type": "ANY"} and
// {"values": [...]} forms are read too). The rules of an action are checked
// in order; the first whose principals and object both *match* decides, and
// it allows when both its entities *allow*: ANY matches and allows every
// name, a list matches and allows the names in it, NONE matches every name
// and allows none (so {"principals": "NONE", "roles": ["prod"]} keeps
// everyone out of prod, and {"principals": ["x"], "roles": "NONE"} keeps x
// out of every role). A caller without a principal is matched only by ANY
// and NONE. When no rule matches, "permissive" (default true) decides --
// except for the actions marked dangerous below, which need a rule that
// allows them. Paths (mount_host_paths) match a listed directory and
// everything under it.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::acl {

enum class Action {
  kRegisterFramework,  // register_frameworks: principals -> roles
  kRunTask,            // run_tasks: principals -> users (dangerous for "root")
  kLaunchPrivileged,   // launch_privileged: principals (dangerous)
  kAddCapability,      // add_capabilities: principals -> capabilities (dangerous)
  kMountHostPath,      // mount_host_paths: principals -> paths (dangerous)
  kReserve,            // reserve_resources: principals -> roles
  kUnreserve,          // unreserve_resources: principals -> reserver_principals
  kCreateVolume,       // create_volumes: principals -> roles
  kDestroyVolume,      // destroy_volumes: principals -> creator_principals
  kKillTask,           // kill_tasks (operators): principals -> framework_principals
  kUpdateQuota,        // update_quotas: principals -> roles
  kUpdateWeight,       // update_weights: principals -> roles
  kAccessSandbox,      // access_sandboxes (operators): principals -> users
  kTeardownFramework,  // teardown_frameworks (operators): principals -> framework_principals
};
inline constexpr size_t kActionCount = 14;

// The file's name of the action ("run_tasks") and of its object ("users").
const char* actionName(Action action);
const char* objectName(Action action);

struct Decision {
  bool allowed = false;
  // What decided: "run_tasks[2]" (the third rule), or a text starting
  // "no rule" (permissive, not permissive, or a dangerous action).
  std::string rule;
  explicit operator bool() const { return allowed; }
};

class Acls {
 public:
  // No rules, permissive: only the dangerous actions are denied.
  Acls() = default;

  // `source` names the file in errors. Rejects unknown actions or keys,
  // malformed entities, and anything over kMaxRules rules in all.
  static Result<Acls> parse(const std::string& text, const std::string& source);
  // REQUIRES nothing of the file but that it be at most kMaxFileBytes.
  static Result<Acls> load(const std::string& path);

  static constexpr size_t kMaxFileBytes = size_t{1} << 20;
  static constexpr size_t kMaxRules = 10000;

  // `principal` empty: an unauthenticated caller.
  Decision check(Action action, const std::string& principal, const std::string& object) const;
  bool permissive() const { return permissive_; }
  size_t ruleCount() const;

 private:
  struct Entity {
    enum class Kind { kAny, kNone, kSome } kind = Kind::kAny;
    std::vector<std::string> values;
    bool matches(const std::string& name, bool paths) const;
    bool allows(const std::string& name, bool paths) const;
  };
  struct Rule {
    Entity principals;
    Entity object;
  };

  bool permissive_ = true;
  std::map<Action, std::vector<Rule>> rules_;
};

// "acl 'run_tasks[0]' denies framework:x the users 'root'" -- the message a
// denial is reported with.
std::string denialMessage(Action action, const std::string& principal, const std::string& object,
                          const Decision& decision);

}  // namespace agora::acl
