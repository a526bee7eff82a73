#pragma once
// Writes a task's file secrets (TaskInfo.secrets with a file) into
// SANDBOX/.secrets before its command starts: the directory mode 0500 and
// each file 0400, owned by the task's user, every name opened without
// following links. The agent's files API refuses the directory.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/task_secret.hpp"

namespace agora::agent {

// Nothing when no secret is a file.
Status writeSecretFiles(const std::string& sandbox, const std::vector<TaskSecret>& secrets,
                        uid_t uid, gid_t gid);

// Whether any secret is delivered as a file ($AGORA_SECRETS is then set).
bool hasFileSecrets(const std::vector<TaskSecret>& secrets);

}  // namespace agora::agent
