#pragma once
// A container's root filesystem: the image's read-only layers under one
// overlayfs mount with a per-container writable upper directory.
// Needs CAP_SYS_ADMIN in the mount namespace where it is called.

#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::agent::images {

struct OverlayRootfs {
  std::vector<std::string> layerDirs;  // bottom to top, absolute
  std::string upperDir;  // per container; created if missing; same filesystem as workDir
  std::string workDir;   // per container, empty; created if missing
  std::string target;    // mount point; created if missing
};

// Mounts the overlay at `target` with MS_NODEV (device nodes of an image never
// work; the container gets its own /dev). kInvalidArgument when there is no layer,
// a path contains ':' ',' or '\', or the options exceed the kernel's page.
Status mountOverlayRootfs(const OverlayRootfs& rootfs);

// Detaches the overlay at `target` (lazily, so a lingering process cannot
// keep it busy). kNotFound-free: succeeds if nothing is mounted there.
Status unmountOverlayRootfs(const std::string& target);

}  // namespace agora::agent::images
