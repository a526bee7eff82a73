#pragma once
// Makes a LaunchSpec's mounts (volumes and any later kind of mount) in a
// container. The executor prepares them before cloning the container's
// init: it checks and creates everything inside the sandbox there, never
// following a symlink (the task has not run yet, so nothing in the sandbox
// can change before init mounts), and turns every path and option into the C
// strings init uses. Init then mounts, in its own mount namespace (private
// propagation), after the container's root is in place and before it
// becomes `/` (pivot_root), using async-signal-safe calls only.
//
// Targets: a relative one is in the sandbox; an absolute one is in the
// container's root. With the host's `/` as root it must exist already; in a
// separate root (an image's rootfs) init creates what is missing, component
// by component, refusing any symlink on the way.

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/process_launcher.hpp"

namespace agora::agent {

// Where init finds things when it mounts.
struct MountRoots {
  std::string root = "/";  // the container's root: "/" or its mounted rootfs
  std::string sandbox;     // the sandbox as reachable then (the host path without an image)
};

// Who owns what the executor creates in the sandbox and each tmpfs. With a
// user namespace, the host user its root maps to (tmpfs then needs no uid).
struct MountOwner {
  uid_t uid = 0;
  gid_t gid = 0;
  bool tmpfsIds = true;  // add uid=,gid= to tmpfs options
};

// One mount for init, every pointer into PreparedMounts' storage.
struct PreparedMount {
  const char* source = nullptr;
  const char* target = nullptr;  // full path at mount time
  const char* type = nullptr;    // nullptr: bind, then remount with flags
  unsigned long flags = 0;
  const char* data = nullptr;
  // In a separate root: create the target (relative to rootDir) in init.
  const char* rootDir = nullptr;
  const char* inRoot = nullptr;
  bool targetIsFile = false;
};

class PreparedMounts {
 public:
  // `hostSandbox` is the sandbox's host path, where sandbox sources and
  // relative targets are checked and created (owned by `owner`).
  static Result<std::unique_ptr<PreparedMounts>> create(const std::vector<MountEntry>& mounts,
                                                        const std::string& hostSandbox,
                                                        const MountRoots& roots,
                                                        const MountOwner& owner);
  PreparedMounts(const PreparedMounts&) = delete;
  PreparedMounts& operator=(const PreparedMounts&) = delete;

  // Init side: makes every mount in order; reports a failure on errFd as
  // kStepMountTarget / kStepMount / kStepMountRemount with the mount's index
  // as detail, and _exits. Async-signal-safe.
  void apply(int errFd) const;

  // "volume '/data' (host path /srv/data): mount /srv/data on /data: ...".
  Error describeFailure(const ChildFailure& failure) const;
  static bool isMountStep(int step);

 private:
  PreparedMounts() = default;

  std::vector<MountEntry> entries_;
  std::unique_ptr<std::deque<std::string>> strings_;  // what mounts_ points into
  std::vector<PreparedMount> mounts_;
};

// Without namespaces: makes each mount (only a read-write bind at a relative
// target is accepted) a symlink from its target to its source: relative for
// a sandbox path, absolute for an absolute source (a directory the agent
// made, see agent/persistent_volumes.hpp; the agent refuses host paths
// without namespaces), creating what is missing (owned by `owner`). Fails,
// naming the mount, for anything else or an existing target.
Status linkSandboxMounts(const std::vector<MountEntry>& mounts, const std::string& sandbox,
                         const std::optional<MountOwner>& owner);

// Opens `path` (relative) beneath the directory `dirFd` as an O_PATH
// descriptor, one component at a time, never following a symlink (ELOOP)
// and never leaving through "..". With `create`, missing directories are
// made (mode 0755) and so is the last component (an empty 0644 file when
// `leafIsFile`); new entries get `uid`/`gid` unless uid is -1. Returns -1
// with errno on failure. Async-signal-safe.
int openBeneath(int dirFd, const char* path, bool create, bool leafIsFile, uid_t uid, gid_t gid);

}  // namespace agora::agent
