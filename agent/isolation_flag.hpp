#pragma once
// The agent's --isolation flag, as in Mesos: a comma-separated list of
// isolators ("cgroups", "namespaces"), or "posix" for none of them. Empty
// means the default: each isolator that is usable here (root, cgroups
// mounted and writable, namespaces creatable). An isolator named explicitly
// must be usable, or the agent refuses to start.

#include <string>

#include "common/result.hpp"

namespace agora::agent {

enum class IsolatorWant { kAuto, kOn, kOff };

struct IsolationChoice {
  IsolatorWant cgroups = IsolatorWant::kAuto;
  IsolatorWant namespaces = IsolatorWant::kAuto;
};

Result<IsolationChoice> parseIsolation(const std::string& flag);

// Whether to use an isolator given what was asked and why it is unusable
// here (empty: usable). An explicit request that cannot be met is an error
// naming `name` and the reason.
Result<bool> decideIsolator(const std::string& name, IsolatorWant want, const std::string& unusable);

// Why tasks cannot get their own namespaces here, or empty when they can:
// a short-lived child creates the namespaces a task gets and exits.
std::string namespacesUnusable();

}  // namespace agora::agent
