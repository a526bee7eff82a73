// Image sources backed by local files: OCI image layouts (directories, and
// unpacked oci-archives) and `docker save` archives (legacy layout with
// manifest.json + <id>/layer.tar, and the OCI-in-tar layout of Docker 25+).

#include <nlohmann/json.hpp>

#include "agent/images/digest.hpp"
#include "agent/images/image_config.hpp"
#include "agent/images/image_source.hpp"
#include "agent/images/layer_unpacker.hpp"

namespace agora::agent::images {

namespace {

using nlohmann::json;

constexpr int kMaxIndexDepth = 4;

std::string blobLocation(const std::string& digest) { return "blobs/sha256/" + digestHex(digest); }

Result<json> readJson(const std::string& root, const std::string& relative,
                      const std::string& what) {
  auto path = resolveInside(root, relative);
  if (!path) return makeError(path.error().withContext(what));
  auto text = readSmallFile(*path);
  if (!text) return makeError(text.error().withContext(what));
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return makeError(ErrorCode::kProtocol, what + ": " + relative + " is not JSON");
  return doc;
}

class OciLayoutSource : public ImageSource {
 public:
  OciLayoutSource(std::string root, std::string tag, std::string what)
      : root_(std::move(root)), tag_(std::move(tag)), what_(std::move(what)) {}

  Result<Manifest> resolve() override {
    if (!resolveInside(root_, "oci-layout")) {
      return makeError(ErrorCode::kNotFound,
                       what_ + ": not an OCI image layout (no oci-layout file)");
    }
    auto index = readJson(root_, "index.json", what_);
    if (!index) return makeError(index.error());
    auto desc = pickByTag(*index);
    if (!desc) return makeError(desc.error());
    for (int depth = 0; depth < kMaxIndexDepth; ++depth) {
      auto bytes = readVerified(*desc);
      if (!bytes) return makeError(bytes.error());
      auto mediaType = documentMediaType(*bytes, desc->mediaType);
      if (!mediaType) return makeError(mediaType.error().withContext(what_ + " " + desc->digest));
      if (isIndexMediaType(*mediaType)) {
        desc = pickPlatformManifest(*bytes, what_ + " index " + desc->digest);
        if (!desc) return makeError(desc.error());
        continue;
      }
      auto manifest = parseManifest(*bytes, what_ + " manifest " + desc->digest);
      if (!manifest) return makeError(manifest.error());
      manifest->digest = desc->digest;
      manifest->config.location = blobLocation(manifest->config.digest);
      for (auto& layer : manifest->layers) layer.location = blobLocation(layer.digest);
      return manifest;
    }
    return makeError(ErrorCode::kProtocol, what_ + ": indexes nested too deeply");
  }

  Result<std::string> blobFile(const Descriptor& blob, const std::string&) override {
    auto path = resolveInside(root_, blobLocation(blob.digest));
    if (!path) return makeError(path.error().withContext(what_ + ": blob " + blob.digest));
    return path;
  }

 private:
  Result<Descriptor> pickByTag(const json& index) {
    auto manifests = index.find("manifests");
    if (manifests == index.end() || !manifests->is_array() || manifests->empty()) {
      return makeError(ErrorCode::kNotFound, what_ + ": index.json lists no images");
    }
    if (tag_.empty()) {
      if (manifests->size() != 1) {
        return makeError(ErrorCode::kInvalidArgument,
                         what_ + ": the layout holds " + std::to_string(manifests->size()) +
                             " images; name one with :TAG");
      }
      return parseDescriptor(manifests->front(), what_ + " index.json");
    }
    std::string tags;
    for (const auto& item : *manifests) {
      std::string name;
      if (auto a = item.find("annotations"); a != item.end() && a->is_object()) {
        auto n = a->find("org.opencontainers.image.ref.name");
        if (n != a->end() && n->is_string()) name = n->get<std::string>();
      }
      if (name == tag_) return parseDescriptor(item, what_ + " index.json");
      if (!name.empty()) tags += (tags.empty() ? "" : ", ") + name;
    }
    return makeError(ErrorCode::kNotFound, what_ + ": no image tagged '" + tag_ +
                                               "' (tags: " + (tags.empty() ? "none" : tags) + ")");
  }

  Result<std::string> readVerified(const Descriptor& desc) {
    auto path = blobFile(desc, "");
    if (!path) return makeError(path.error());
    auto bytes = readSmallFile(*path);
    if (!bytes) return makeError(bytes.error().withContext(what_));
    if (auto ok = checkDigest(what_ + ": manifest " + desc.digest, desc.digest, sha256Digest(*bytes));
        !ok) {
      return makeError(ok.error());
    }
    return bytes;
  }

  std::string root_, tag_, what_;
};

class DockerArchiveSource : public ImageSource {
 public:
  DockerArchiveSource(std::string root, std::string tag, std::string what)
      : root_(std::move(root)), tag_(std::move(tag)), what_(std::move(what)) {}

  Result<Manifest> resolve() override {
    auto doc = readJson(root_, "manifest.json", what_ + ": not a docker-archive");
    if (!doc) return makeError(doc.error());
    auto entry = pickEntry(*doc);
    if (!entry) return makeError(entry.error());
    const json& e = **entry;
    auto configPath = e.find("Config");
    auto layers = e.find("Layers");
    if (configPath == e.end() || !configPath->is_string() || layers == e.end() ||
        !layers->is_array()) {
      return makeError(ErrorCode::kProtocol, what_ + ": manifest.json entry lacks Config or Layers");
    }
    Manifest out;
    out.config.location = configPath->get<std::string>();
    auto path = resolveInside(root_, out.config.location);
    if (!path) return makeError(path.error().withContext(what_));
    auto bytes = readSmallFile(*path);
    if (!bytes) return makeError(bytes.error().withContext(what_));
    // The config's digest is its name (legacy "<hex>.json" or "blobs/sha256/<hex>").
    out.config.digest = digestFromName(out.config.location, ".json");
    if (out.config.digest.empty()) out.config.digest = sha256Digest(*bytes);
    auto config = parseImageConfig(*bytes);
    if (!config) return makeError(config.error().withContext(what_));
    if (config->diffIds.size() != layers->size()) {
      return makeError(ErrorCode::kProtocol,
                       what_ + ": " + std::to_string(layers->size()) + " layers but the config lists " +
                           std::to_string(config->diffIds.size()) + " diff_ids");
    }
    for (size_t i = 0; i < layers->size(); ++i) {
      if (!(*layers)[i].is_string()) {
        return makeError(ErrorCode::kProtocol, what_ + ": manifest.json Layers must be strings");
      }
      Descriptor layer;
      layer.location = (*layers)[i].get<std::string>();
      // Legacy layers are uncompressed tars: their digest is the diff_id.
      layer.digest = digestFromName(layer.location, "");
      if (layer.digest.empty()) layer.digest = config->diffIds[i];
      if (auto ok = validateDigest(layer.digest); !ok) {
        return makeError(ok.error().withContext(what_ + ": layer " + layer.location));
      }
      out.layers.push_back(layer);
    }
    return out;
  }

  Result<std::string> blobFile(const Descriptor& blob, const std::string&) override {
    auto path = resolveInside(root_, blob.location);
    if (!path) return makeError(path.error().withContext(what_));
    return path;
  }

 private:
  // "blobs/sha256/<hex>" -> "sha256:<hex>"; "<hex><suffix>" likewise; else "".
  static std::string digestFromName(const std::string& name, const std::string& suffix) {
    std::string hex = name;
    if (hex.starts_with("blobs/sha256/")) {
      hex = hex.substr(13);
    } else if (!suffix.empty() && hex.ends_with(suffix)) {
      hex = hex.substr(0, hex.size() - suffix.size());
    } else {
      return "";
    }
    std::string digest = "sha256:" + hex;
    return validateDigest(digest) ? digest : "";
  }

  Result<const json*> pickEntry(const json& doc) {
    if (!doc.is_array() || doc.empty()) {
      return makeError(ErrorCode::kProtocol, what_ + ": manifest.json lists no images");
    }
    if (tag_.empty()) {
      if (doc.size() != 1) {
        return makeError(ErrorCode::kInvalidArgument,
                         what_ + ": the archive holds " + std::to_string(doc.size()) +
                             " images; name one with :NAME:TAG");
      }
      return &doc.front();
    }
    for (const auto& entry : doc) {
      auto tags = entry.find("RepoTags");
      if (tags == entry.end() || !tags->is_array()) continue;
      for (const auto& t : *tags) {
        if (t.is_string() && (t == tag_ || t == "docker.io/library/" + tag_)) return &entry;
      }
    }
    return makeError(ErrorCode::kNotFound, what_ + ": no image tagged '" + tag_ + "'");
  }

  std::string root_, tag_, what_;
};

}  // namespace

std::unique_ptr<ImageSource> makeOciLayoutSource(std::string root, std::string tag,
                                                 std::string what) {
  return std::make_unique<OciLayoutSource>(std::move(root), std::move(tag), std::move(what));
}

std::unique_ptr<ImageSource> makeDockerArchiveSource(std::string root, std::string tag,
                                                     std::string what) {
  return std::make_unique<DockerArchiveSource>(std::move(root), std::move(tag), std::move(what));
}

}  // namespace agora::agent::images
