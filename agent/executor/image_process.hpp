#pragma once
// How the task's command starts inside an image's root filesystem: the argv,
// environment, working directory and user the agent merged from the image
// config and the task (Docker's rules), with users and groups looked up in
// the image's own /etc/passwd and /etc/group, not the host's.

#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/process_launcher.hpp"
#include "common/result.hpp"

namespace agora::agent {

// REQUIRES: spec.rootfs. The command's cwd and AGORA_SANDBOX are container
// paths (valid after pivot_root); its stdout/stderr files are opened on the host.
Result<ProcessOptions> imageProcessOptions(const LaunchSpec& spec);

// "NAME|UID[:GROUP|GID]" resolved in the image whose layers are `layerDirs`
// (bottom to top): the topmost layer holding etc/passwd (etc/group) wins.
// A numeric UID needs no entry (its group is then 0, as with Docker).
Result<UserIds> resolveImageUser(const std::vector<std::string>& layerDirs,
                                 const std::string& user);

}  // namespace agora::agent
