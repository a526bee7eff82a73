#pragma once
// The agent's content-addressed image store.
//
// Layout under the store directory:
//   blobs/sha256/HEX   image configs, verified against their digests
//   layers/HEX/        one unpacked layer per layer digest (overlayfs whiteouts),
//                      shared by every image and container that uses it
//   images/HEX.json    one record per image, named by its config digest (the
//                      image id): an OCI image manifest listing its layers
//   tmp/               scratch space of pulls; emptied on create and by gc
// Every blob is checked against its digest before it is used; a layer is
// unpacked into tmp/ and renamed into layers/ only once complete and verified,
// so a crash never leaves a partial layer. Nothing is written outside the
// store directory.
//
// Thread contract: not thread-safe. Every method must be called from one
// thread at a time — the agent's image worker thread, since pull() blocks on
// the network and the disk (seconds to minutes). The event loop posts jobs to
// that thread and gets results posted back. A launch runs pull() then
// acquire() in one job so gc() cannot slip in between.
//
// Container references (acquire/release) live in memory: after a restart the
// agent must acquire the images of recovered containers before its first gc().

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/images/image_config.hpp"
#include "common/result.hpp"

namespace agora::agent::images {

class ImageSource;
struct Descriptor;
struct Manifest;

struct Image {
  std::string id;              // config digest "sha256:HEX"
  std::string manifestDigest;  // of the source's manifest; empty for docker-archive
  std::vector<std::string> layerDigests;
  std::vector<std::string> layerDirs;  // absolute, bottom to top
  ImageConfig config;
};

struct GcResult {
  int imagesRemoved = 0;
  int layersRemoved = 0;
};

class ImageStore {
 public:
  // Creates the directories if needed, removes scratch leftovers and loads
  // the image records (dropping any whose layers are missing).
  static Result<std::unique_ptr<ImageStore>> create(const std::string& dir);

  // Fetches, verifies and unpacks what the store does not have yet. `reference`
  // is skopeo-style (see reference.hpp). Errors name the reference and what
  // is wrong; nothing partial is left behind.
  Result<Image> pull(const std::string& reference);

  // kNotFound for an unknown id.
  Result<Image> get(const std::string& imageId) const;

  // Counts a container using the image; gc() keeps it until released.
  Status acquire(const std::string& imageId);
  void release(const std::string& imageId);

  // Removes images no container holds, then layers and configs no image uses.
  GcResult gc();

  std::vector<std::string> imageIds() const;
  int imageUsers(const std::string& imageId) const;   // containers holding it
  int layerUsers(const std::string& layerDigest) const;  // images using it
  std::string layerDir(const std::string& layerDigest) const;
  const std::string& root() const { return root_; }

 private:
  explicit ImageStore(std::string root) : root_(std::move(root)) {}

  Status loadRecords();
  Result<Image> loadImage(const std::string& imageId) const;
  Result<std::string> fetchConfig(ImageSource& source, const Descriptor& config,
                                  const std::string& scratch);
  Status ensureLayer(ImageSource& source, const Descriptor& layer, const std::string& diffId,
                     const std::string& scratch);
  Status writeRecord(const std::string& imageId, const Manifest& manifest,
                     const std::string& reference);
  void addImage(const std::string& imageId, std::vector<std::string> layers);

  std::string root_;
  std::map<std::string, std::vector<std::string>> images_;  // id -> layer digests
  std::map<std::string, int> layerRefs_;                    // digest -> images using it
  std::map<std::string, int> acquired_;                     // id -> containers
};

}  // namespace agora::agent::images
