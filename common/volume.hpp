#pragma once
// Container volumes (schemas/common.capnp Volume): the model, its syntax
// checks shared by the master (task validation), the agent and the CLI, and
// its wire and JSON forms. Whether a host path may be used is the agent's
// decision (agent/volumes.hpp), not checked here.

#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

using VolumeMode = schema::VolumeMode;

struct Volume {
  enum class Source { kHostPath, kTmpfs, kSandboxPath };

  std::string containerPath;  // absolute: in the container's root; relative: in the sandbox
  VolumeMode mode = VolumeMode::RW;
  Source source = Source::kHostPath;
  std::string path;          // the host path or sandbox path; empty for tmpfs
  uint64_t tmpfsSizeMb = 0;  // tmpfs only

  bool readOnly() const { return mode == VolumeMode::RO; }
  bool inSandbox() const { return !containerPath.empty() && containerPath[0] != '/'; }
  // "volume '/data' (host path /srv/data, ro)", for messages.
  std::string describe() const;

  static Volume hostPath(std::string host, std::string container, bool readOnly = false);
  static Volume tmpfs(std::string container, uint64_t sizeMb);
  static Volume sandboxPath(std::string inSandbox, std::string container, bool readOnly = false);
};

constexpr uint64_t kMaxTmpfsMb = 1u << 20;  // 1 TiB
constexpr size_t kMaxVolumes = 64;
constexpr size_t kMaxVolumePathLength = 4096;

// Drops empty and "." components and a trailing '/': "a//./b/" -> "a/b",
// "/x/" -> "/x", "./" -> "". Keeps ".." (validation rejects it).
std::string normalizeVolumePath(const std::string& path);

// One volume's syntax: a container path that is non-empty, free of ".."
// and NUL, and names neither the root nor the sandbox itself; an absolute
// host path / a relative sandbox path under the same rules; a tmpfs size
// in [1, kMaxTmpfsMb]. Messages start with the volume's description.
Status validateVolume(const Volume& volume);

// A container path under validateVolume()'s rules (a persistent volume's);
// the message starts with "container path".
Status validateContainerPath(const std::string& path);

// Every volume, at most kMaxVolumes, and no two at the same (normalized)
// container path.
Status validateVolumes(const std::vector<Volume>& volumes);

// Readers may throw kj::Exception on corrupt input (see model.hpp).
void toCapnp(const Volume& in, schema::Volume::Builder out);
// Structure only (known mode and source); validateVolume() checks the rest.
Result<Volume> fromCapnp(schema::Volume::Reader in);
nlohmann::json toJson(const Volume& volume);

}  // namespace agora
