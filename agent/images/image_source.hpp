#pragma once
// Where image content comes from: an OCI layout (also an unpacked
// oci-archive), a `docker save` archive, or a registry. A source resolves a
// reference to one image manifest and hands out blobs; the ImageStore verifies
// every blob it gets against its digest.

#include <memory>
#include <string>

#include "agent/images/manifest.hpp"
#include "agent/images/reference.hpp"
#include "common/result.hpp"

namespace agora::agent::images {

class ImageSource {
 public:
  virtual ~ImageSource() = default;

  // The image manifest the reference names (linux/amd64 from an index). Every
  // manifest and index read on the way is checked against its digest.
  virtual Result<Manifest> resolve() = 0;

  // A readable file holding the blob: a local source returns its own file, a
  // remote one downloads into `scratchPath`. The content is not yet verified.
  virtual Result<std::string> blobFile(const Descriptor& blob, const std::string& scratchPath) = 0;
};

// `scratchDir`: an empty directory the caller removes after the pull (archives
// are unpacked there, with the same safety rules as layers).
Result<std::unique_ptr<ImageSource>> openImageSource(const ImageReference& ref,
                                                     const std::string& scratchDir);

// Reads a whole small file (manifests, configs); kProtocol above `maxBytes`.
Result<std::string> readSmallFile(const std::string& path, size_t maxBytes = 4 << 20);

// Per-transport constructors. `root` is canonical.
std::unique_ptr<ImageSource> makeOciLayoutSource(std::string root, std::string tag,
                                                 std::string what);
std::unique_ptr<ImageSource> makeDockerArchiveSource(std::string root, std::string tag,
                                                     std::string what);
std::unique_ptr<ImageSource> makeRegistrySource(ImageReference ref);

}  // namespace agora::agent::images
