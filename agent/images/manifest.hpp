#pragma once
// OCI and Docker v2 manifests and indexes (manifest lists): parsing,
// validation and platform selection.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace agora::agent::images {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct Descriptor {
  std::string mediaType;
  std::string digest;  // validated "sha256:HEX"
  int64_t size = -1;   // -1: unknown
  std::string location;  // local sources: path of the blob inside the source
};

struct Manifest {
  std::string digest;  // of the manifest's bytes; empty for docker-archive
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom to top
};

bool isIndexMediaType(std::string_view mediaType);

// The media type of a manifest or index document: its "mediaType" field, else
// the `hint` (e.g. a Content-Type or descriptor media type), else guessed from
// its shape ("manifests" -> index, "layers" -> manifest).
Result<std::string> documentMediaType(std::string_view json, std::string_view hint);

// Parses an image manifest (OCI or Docker schema 2). `what` names it in
// errors. Rejects non-layer media types (e.g. foreign or encrypted layers).
Result<Manifest> parseManifest(std::string_view json, const std::string& what);

// Parses an index / manifest list and picks the linux/amd64 image manifest
// (an entry without a platform counts as a match when it is the only one).
Result<Descriptor> pickPlatformManifest(std::string_view json, const std::string& what);

// Parses one descriptor object ("mediaType", "digest", "size").
Result<Descriptor> parseDescriptor(const nlohmann::json& object, const std::string& what);

}  // namespace agora::agent::images
