#include "agent/images/image_store.hpp"

#include <glog/logging.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/images/digest.hpp"
#include "agent/images/image_source.hpp"
#include "agent/images/layer_unpacker.hpp"
#include "agent/images/reference.hpp"

namespace agora::agent::images {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kManifestDigestKey = "org.agora.image.source-manifest";
constexpr const char* kReferenceKey = "org.agora.image.reference";

Status makeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return makeError(errnoError("mkdir " + path, errno));
  }
  return {};
}

// Removes a directory tree; failures are logged, the next gc retries.
void removeTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) LOG(WARNING) << "image store: cannot remove " << path << ": " << ec.message();
}

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out) return makeError(ErrorCode::kIo, "write " + tmp + " failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return makeError(errnoError("rename " + tmp, err));
  }
  return {};
}

// A scratch directory under tmp/, removed when the pull ends.
struct Scratch {
  std::string path;
  ~Scratch() {
    if (!path.empty()) removeTree(path);
  }
};

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::create(const std::string& dir) {
  if (auto ok = makeDir(dir); !ok) return makeError(ok.error().withContext("image store"));
  char resolved[PATH_MAX];
  if (!::realpath(dir.c_str(), resolved)) {
    return makeError(errnoError("image store: realpath " + dir, errno));
  }
  std::unique_ptr<ImageStore> store(new ImageStore(resolved));
  const std::string& root = store->root_;
  for (const char* sub : {"/blobs", "/blobs/sha256", "/layers", "/images", "/tmp"}) {
    if (auto ok = makeDir(root + sub); !ok) return makeError(ok.error().withContext("image store"));
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root + "/tmp", ec)) removeTree(entry.path());
  if (auto ok = store->loadRecords(); !ok) return makeError(ok.error().withContext("image store"));
  return store;
}

Status ImageStore::loadRecords() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ + "/images", ec)) {
    std::string name = entry.path().filename();
    if (!name.ends_with(".json")) continue;
    std::string id = "sha256:" + name.substr(0, name.size() - 5);
    auto image = validateDigest(id) ? loadImage(id) : makeError(ErrorCode::kProtocol, "bad name");
    if (!image) {
      LOG(WARNING) << "image store: dropping record " << entry.path() << ": "
                   << image.error().message;
      ::unlink(entry.path().c_str());
      continue;
    }
    addImage(id, image->layerDigests);
  }
  if (ec) return makeError(ErrorCode::kIo, "list " + root_ + "/images: " + ec.message());
  return {};
}

Result<Image> ImageStore::loadImage(const std::string& imageId) const {
  const std::string hex = digestHex(imageId);
  auto text = readSmallFile(root_ + "/images/" + hex + ".json");
  if (!text) return makeError(text.error());
  auto manifest = parseManifest(*text, "image record " + imageId);
  if (!manifest) return makeError(manifest.error());
  auto configText = readSmallFile(root_ + "/blobs/sha256/" + hex);
  if (!configText) return makeError(configText.error());
  auto config = parseImageConfig(*configText);
  if (!config) return makeError(config.error().withContext("image " + imageId));
  Image image;
  image.id = imageId;
  json doc = json::parse(*text, nullptr, false);
  if (auto a = doc.find("annotations"); a != doc.end() && a->is_object()) {
    if (auto d = a->find(kManifestDigestKey); d != a->end() && d->is_string()) {
      image.manifestDigest = d->get<std::string>();
    }
  }
  for (const auto& layer : manifest->layers) {
    std::string dir = layerDir(layer.digest);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return makeError(ErrorCode::kNotFound, "image " + imageId + ": layer " + layer.digest +
                                                 " is missing from the store");
    }
    image.layerDigests.push_back(layer.digest);
    image.layerDirs.push_back(dir);
  }
  image.config = std::move(*config);
  return image;
}

Result<Image> ImageStore::pull(const std::string& text) {
  auto ref = parseImageReference(text);
  if (!ref) return makeError(ref.error());
  Scratch scratch;
  std::string tmpl = root_ + "/tmp/pull-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return makeError(errnoError("mkdtemp " + tmpl, errno));
  scratch.path = tmpl;
  const std::string what = "pull " + text;

  auto source = openImageSource(*ref, scratch.path);
  if (!source) return makeError(source.error().withContext("pull"));
  auto manifest = (*source)->resolve();
  if (!manifest) return makeError(manifest.error().withContext("pull"));
  const std::string id = manifest->config.digest;
  if (images_.contains(id)) return get(id);  // configs name their layers: nothing new

  auto configText = fetchConfig(**source, manifest->config, scratch.path);
  if (!configText) return makeError(configText.error().withContext(what));
  auto config = parseImageConfig(*configText);
  if (!config) return makeError(config.error().withContext(what + ": config " + id));
  if (config->diffIds.size() != manifest->layers.size()) {
    return makeError(ErrorCode::kProtocol,
                     what + ": the manifest lists " + std::to_string(manifest->layers.size()) +
                         " layers but the config " + std::to_string(config->diffIds.size()));
  }
  for (size_t i = 0; i < manifest->layers.size(); ++i) {
    if (auto ok = ensureLayer(**source, manifest->layers[i], config->diffIds[i], scratch.path);
        !ok) {
      return makeError(ok.error().withContext(what));
    }
  }
  if (auto ok = writeRecord(id, *manifest, ref->toString()); !ok) {
    return makeError(ok.error().withContext(what));
  }
  std::vector<std::string> layers;
  for (const auto& layer : manifest->layers) layers.push_back(layer.digest);
  addImage(id, std::move(layers));
  return get(id);
}

Result<std::string> ImageStore::fetchConfig(ImageSource& source, const Descriptor& config,
                                            const std::string& scratch) {
  const std::string stored = root_ + "/blobs/sha256/" + digestHex(config.digest);
  if (::access(stored.c_str(), F_OK) == 0) return readSmallFile(stored);
  auto file = source.blobFile(config, scratch + "/config");
  if (!file) return makeError(file.error());
  auto text = readSmallFile(*file);
  if (!text) return makeError(text.error());
  if (auto ok = checkDigest("config " + config.digest, config.digest, sha256Digest(*text)); !ok) {
    return makeError(ok.error());
  }
  if (auto ok = writeFileAtomically(stored, *text); !ok) return makeError(ok.error());
  return text;
}

Status ImageStore::ensureLayer(ImageSource& source, const Descriptor& layer,
                               const std::string& diffId, const std::string& scratch) {
  const std::string hex = digestHex(layer.digest);
  const std::string dest = layerDir(layer.digest);
  if (::access(dest.c_str(), F_OK) == 0) return {};
  const std::string what = "layer " + layer.digest;
  auto file = source.blobFile(layer, scratch + "/blob-" + hex);
  if (!file) return makeError(file.error().withContext(what));
  struct stat st;
  if (::stat(file->c_str(), &st) != 0) return makeError(errnoError(what + ": stat " + *file, errno));
  if (layer.size >= 0 && st.st_size != layer.size) {
    return makeError(ErrorCode::kProtocol, what + ": " + std::to_string(st.st_size) +
                                               " bytes but the manifest says " +
                                               std::to_string(layer.size));
  }
  const std::string tmp = scratch + "/layer-" + hex;
  if (::mkdir(tmp.c_str(), 0755) != 0) return makeError(errnoError("mkdir " + tmp, errno));
  auto digest = unpackLayer(*file, tmp, UnpackOptions{});
  if (!digest) return makeError(digest.error().withContext(what));
  if (auto ok = checkDigest(what, layer.digest, *digest); !ok) return ok;
  if (diffId != layer.digest) {  // compressed: the config vouches for the tar inside
    auto uncompressed = uncompressedDigest(*file);
    if (!uncompressed) return makeError(uncompressed.error().withContext(what));
    if (auto ok = checkDigest(what + ": uncompressed content (the config's diff_id)", diffId,
                              *uncompressed);
        !ok) {
      return ok;
    }
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    return makeError(errnoError(what + ": rename " + tmp + " to " + dest, errno));
  }
  if (file->starts_with(scratch + "/")) ::unlink(file->c_str());
  return {};
}

Status ImageStore::writeRecord(const std::string& imageId, const Manifest& manifest,
                               const std::string& reference) {
  auto descriptor = [](const std::string& mediaType, const std::string& digest, int64_t size) {
    json d = {{"mediaType", mediaType}, {"digest", digest}};
    if (size >= 0) d["size"] = size;
    return d;
  };
  json doc = {{"schemaVersion", 2}, {"mediaType", std::string(kOciManifest)}};
  doc["config"] = descriptor("application/vnd.oci.image.config.v1+json", manifest.config.digest,
                             manifest.config.size);
  doc["layers"] = json::array();
  for (const auto& layer : manifest.layers) {
    doc["layers"].push_back(
        descriptor("application/vnd.oci.image.layer.v1.tar", layer.digest, layer.size));
  }
  doc["annotations"] = {{kReferenceKey, reference}};
  if (!manifest.digest.empty()) doc["annotations"][kManifestDigestKey] = manifest.digest;
  return writeFileAtomically(root_ + "/images/" + digestHex(imageId) + ".json", doc.dump(2));
}

void ImageStore::addImage(const std::string& imageId, std::vector<std::string> layers) {
  for (const auto& layer : layers) ++layerRefs_[layer];
  images_[imageId] = std::move(layers);
}

Result<Image> ImageStore::get(const std::string& imageId) const {
  if (!images_.contains(imageId)) {
    return makeError(ErrorCode::kNotFound, "image " + imageId + " is not in the store");
  }
  return loadImage(imageId);
}

Status ImageStore::acquire(const std::string& imageId) {
  if (!images_.contains(imageId)) {
    return makeError(ErrorCode::kNotFound, "image " + imageId + " is not in the store");
  }
  ++acquired_[imageId];
  return {};
}

void ImageStore::release(const std::string& imageId) {
  auto it = acquired_.find(imageId);
  if (it == acquired_.end()) {
    LOG(WARNING) << "image store: release of " << imageId << " which no container holds";
    return;
  }
  if (--it->second == 0) acquired_.erase(it);
}

GcResult ImageStore::gc() {
  GcResult result;
  for (auto it = images_.begin(); it != images_.end();) {
    if (acquired_.contains(it->first)) {
      ++it;
      continue;
    }
    const std::string hex = digestHex(it->first);
    ::unlink((root_ + "/images/" + hex + ".json").c_str());
    ::unlink((root_ + "/blobs/sha256/" + hex).c_str());
    for (const auto& layer : it->second) {
      if (--layerRefs_[layer] == 0) layerRefs_.erase(layer);
    }
    ++result.imagesRemoved;
    it = images_.erase(it);
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ + "/layers", ec)) {
    std::string digest = "sha256:" + entry.path().filename().string();
    if (layerRefs_.contains(digest)) continue;
    // Rename first so a half-removed layer never looks complete.
    std::string trash = root_ + "/tmp/gc-" + entry.path().filename().string();
    if (::rename(entry.path().c_str(), trash.c_str()) != 0) {
      LOG(WARNING) << "image store: cannot move " << entry.path() << ": " << std::strerror(errno);
      continue;
    }
    removeTree(trash);
    ++result.layersRemoved;
  }
  // Configs of pulls that failed after fetching them.
  for (const auto& entry : fs::directory_iterator(root_ + "/blobs/sha256", ec)) {
    if (!images_.contains("sha256:" + entry.path().filename().string())) {
      ::unlink(entry.path().c_str());
    }
  }
  for (const auto& entry : fs::directory_iterator(root_ + "/tmp", ec)) removeTree(entry.path());
  return result;
}

std::vector<std::string> ImageStore::imageIds() const {
  std::vector<std::string> out;
  for (const auto& [id, layers] : images_) out.push_back(id);
  return out;
}

int ImageStore::imageUsers(const std::string& imageId) const {
  auto it = acquired_.find(imageId);
  return it == acquired_.end() ? 0 : it->second;
}

int ImageStore::layerUsers(const std::string& layerDigest) const {
  auto it = layerRefs_.find(layerDigest);
  return it == layerRefs_.end() ? 0 : it->second;
}

std::string ImageStore::layerDir(const std::string& layerDigest) const {
  return root_ + "/layers/" + digestHex(layerDigest);
}

}  // namespace agora::agent::images
