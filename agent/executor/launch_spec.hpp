#pragma once
// The launch description the agent writes for each container
// (WORK_DIR/containers/ID/launch.bin, a packed schema::LaunchSpec) and the
// executor reads at start.

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

// See schema::ImageRootfs.
struct ImageRootfs {
  std::string reference;
  std::string imageId;
  std::vector<std::string> layerDirs;  // bottom to top
  std::string upperDir;
  std::string workDir;
  std::string mountPoint;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workingDir;  // empty: the sandbox
  std::string user;        // empty: root
  std::string memoryLayerDir;  // non-empty: the writable layer is a tmpfs here
  uint64_t memoryLayerBytes = 0;
};

// One mount made in the container before the task starts (schema::Mount
// states the path conventions: absolute targets are in the container's
// root, relative ones in the sandbox; relative bind sources are in the
// sandbox).
struct MountEntry {
  std::string source;
  std::string target;
  std::string type;  // empty: bind
  uint64_t flags = 0;  // MS_*
  std::string options;
  std::string description;  // for messages
  bool isBind() const { return type.empty(); }
  bool operator==(const MountEntry&) const = default;
};

// See schema::SeccompProgram.
struct SeccompProgram {
  uint64_t capabilities = 0;
  std::vector<sock_filter> program;
  bool operator==(const SeccompProgram& other) const;
};

struct LaunchSpec {
  std::string containerId;
  std::string frameworkId;
  TaskInfo task;
  std::string sandbox;        // absolute path
  std::string agentEndpoint;  // "ipc://WORK_DIR/executor/executor.sock"
  bool namespaces = false;    // start the task in its own namespaces
  std::optional<ImageRootfs> rootfs;  // the task's image, provisioned by the agent
  std::vector<MountEntry> mounts = {};  // made in the container, in order
  std::optional<SeccompProgram> seccomp = std::nullopt;  // compiled by the agent
  std::string secret = {};  // the executor's proof of identity (executor_identity.hpp)
};

std::string encodeLaunchSpec(const LaunchSpec& spec);
Result<LaunchSpec> decodeLaunchSpec(std::string_view bytes);

// Writes atomically (temporary file + rename), mode 0600.
Status writeLaunchSpec(const std::string& path, const LaunchSpec& spec);
Result<LaunchSpec> readLaunchSpec(const std::string& path);

}  // namespace agora::agent
