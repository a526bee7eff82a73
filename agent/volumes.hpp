#pragma once
// The agent's side of container volumes: which host paths tasks may bind
// (--allowed-host-paths) and the mount list (LaunchSpec.mounts) that
// realizes a task's volumes. Everything here runs before the executor
// starts, so a refused volume fails the launch with nothing mounted.
//
// Thread: the agent's loop thread (realpath() on the host's filesystem).

#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "common/volume.hpp"

namespace agora::agent {

// Host directories under which host-path volumes may lie. Empty: none.
class HostPathPolicy {
 public:
  HostPathPolicy() = default;
  // "/a,/b" (empty entries ignored). Each entry must be an absolute path that
  // exists; it is kept canonical (symlinks resolved).
  static Result<HostPathPolicy> parse(const std::string& flag);

  // The canonical form of `hostPath` (every symlink and ".." resolved, so
  // neither can lead out of an allowed directory) when it lies in or under
  // an allowed directory; an error naming the path and the allowed list
  // otherwise.
  Result<std::string> resolve(const std::string& hostPath) const;

  const std::vector<std::string>& allowed() const { return allowed_; }

 private:
  std::vector<std::string> allowed_;
};

struct VolumeContext {
  const HostPathPolicy& hostPaths;
  bool namespaces = false;  // the task gets its own mount namespace
  std::string sandbox;      // absolute; no volume may hide it
};

// The mounts for `volumes` (already syntax-checked or not: they are checked
// again) and the mounts already `made` for them (persistent volumes, which
// must not share a container path with any other), parents before children. Without namespaces only read-write
// sandbox-path volumes at relative container paths are accepted (the
// executor links them). Every mount is nosuid and nodev, read-only ones add
// MS_RDONLY; tmpfs gets size= (the executor adds the task user's uid/gid).
Result<std::vector<MountEntry>> resolveVolumes(const std::vector<Volume>& volumes,
                                               const VolumeContext& context,
                                               std::vector<MountEntry> made = {});

}  // namespace agora::agent
