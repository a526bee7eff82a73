#pragma once
// A secret value given to one task (schema::Secret): the plain form, its
// validation and conversions. Only the framework and the task's executor see
// a value: toJson renders where it goes, never what it is.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

struct TaskSecret {
  std::string name;   // the framework's name for it (messages only)
  std::string value;  // bytes
  std::string env;    // an environment variable of the command, or
  std::string file;   // a path under the sandbox's secrets directory
};

// The directory in the sandbox that file secrets are written to, named to
// the task by $AGORA_SECRETS; the agent's files API does not serve it.
inline constexpr const char* kSandboxSecretsDir = ".secrets";
inline constexpr size_t kMaxSecretBytes = 64 * 1024;
inline constexpr size_t kMaxTaskSecretBytes = 1024 * 1024;
inline constexpr size_t kMaxTaskSecrets = 256;

// kInvalidArgument naming the secret: a name of 1-253 characters from
// [A-Za-z0-9._-]; exactly one of env (a variable name that is not AGORA_* or
// MESOS_*) and file (relative, without empty, "." or ".." components, at most
// 255 bytes); values of at most kMaxSecretBytes, kMaxTaskSecretBytes in all;
// no two secrets with the same variable or file; at most kMaxTaskSecrets.
Status validateSecrets(const std::vector<TaskSecret>& secrets);

void toCapnp(const std::vector<TaskSecret>& in, capnp::List<schema::Secret>::Builder out);
// Validates.
Result<std::vector<TaskSecret>> fromCapnp(capnp::List<schema::Secret>::Reader in);

// [{"name": …, "env": …} | {"name": …, "file": …}]: never a value.
nlohmann::json toJson(const std::vector<TaskSecret>& secrets);

}  // namespace agora
