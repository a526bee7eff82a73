#pragma once
// Image references in skopeo's transport syntax:
//   oci:DIR[:TAG]              an OCI image layout directory
//   oci-archive:FILE[:TAG]     a tar of an OCI image layout
//   docker-archive:FILE[:NAME:TAG]  `docker save` output (legacy or OCI-in-tar)
//   docker://HOST[:PORT]/NAME[:TAG][@sha256:HEX]  Docker Registry v2 / OCI
//                              distribution over plain HTTP
// Paths may not contain ':' (as in skopeo, the first ':' after the path ends it).

#include <string>

#include "common/result.hpp"

namespace agora::agent::images {

enum class Transport { kOciLayout, kOciArchive, kDockerArchive, kRegistry };

struct ImageReference {
  Transport transport = Transport::kOciLayout;
  std::string path;        // local transports: the directory or file
  std::string tag;         // oci*: the ref name (empty: the only manifest);
                           // docker-archive: "NAME:TAG" among RepoTags (empty: the only one);
                           // registry: the tag ("latest" when neither tag nor digest is given)
  std::string host;        // registry: "HOST[:PORT]"
  std::string repository;  // registry: "NAME" (path components, lower case)
  std::string digest;      // registry: "sha256:HEX" when pinned (wins over the tag)

  // The canonical text form, parseable again.
  std::string toString() const;
};

// Errors are kInvalidArgument: "bad image reference 'REF': WHAT".
Result<ImageReference> parseImageReference(const std::string& text);

}  // namespace agora::agent::images
