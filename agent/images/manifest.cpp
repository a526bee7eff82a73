#include "agent/images/manifest.hpp"

#include <nlohmann/json.hpp>

#include "agent/images/digest.hpp"

namespace agora::agent::images {

namespace {

using nlohmann::json;

Error protocol(const std::string& what, const std::string& why) {
  return Error{ErrorCode::kProtocol, what + ": " + why};
}

bool isLayerMediaType(std::string_view mt) {
  if (mt.starts_with("application/vnd.oci.image.layer.nondistributable")) return false;
  return mt.starts_with("application/vnd.oci.image.layer.v1.tar") ||
         mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         mt == "application/vnd.docker.image.rootfs.diff.tar" || mt.empty();
}

Result<json> parseObject(std::string_view text, const std::string& what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(protocol(what, "not a JSON object"));
  }
  return doc;
}

std::string stringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool isIndexMediaType(std::string_view mediaType) {
  return mediaType == kOciIndex || mediaType == kDockerManifestList;
}

Result<Descriptor> parseDescriptor(const json& d, const std::string& what) {
  if (!d.is_object()) return makeError(protocol(what, "descriptor is not an object"));
  Descriptor out;
  auto mt = d.find("mediaType");
  if (mt != d.end() && mt->is_string()) out.mediaType = mt->get<std::string>();
  auto digest = d.find("digest");
  if (digest == d.end() || !digest->is_string()) {
    return makeError(protocol(what, "descriptor without a digest"));
  }
  out.digest = digest->get<std::string>();
  if (auto ok = validateDigest(out.digest); !ok) return makeError(protocol(what, ok.error().message));
  auto size = d.find("size");
  if (size != d.end()) {
    if (!size->is_number_integer() || size->get<int64_t>() < 0) {
      return makeError(protocol(what, "descriptor " + out.digest + " has a bad size"));
    }
    out.size = size->get<int64_t>();
  }
  return out;
}

Result<std::string> documentMediaType(std::string_view text, std::string_view hint) {
  auto doc = parseObject(text, "manifest");
  if (!doc) return makeError(doc.error());
  if (auto mt = doc->find("mediaType"); mt != doc->end() && mt->is_string()) {
    return mt->get<std::string>();
  }
  std::string h(hint.substr(0, hint.find(';')));
  if (isIndexMediaType(h) || h == kOciManifest || h == kDockerManifest) return h;
  if (doc->contains("manifests")) return std::string(kOciIndex);
  if (doc->contains("layers")) return std::string(kOciManifest);
  if (doc->contains("fsLayers")) {
    return makeError(ErrorCode::kProtocol, "Docker schema 1 manifests are not supported");
  }
  return makeError(ErrorCode::kProtocol, "document is neither an image manifest nor an index");
}

Result<Manifest> parseManifest(std::string_view text, const std::string& what) {
  auto doc = parseObject(text, what);
  if (!doc) return makeError(doc.error());
  if (auto v = doc->find("schemaVersion"); v == doc->end() || *v != 2) {
    return makeError(protocol(what, "unsupported schemaVersion (only 2)"));
  }
  Manifest out;
  auto config = doc->find("config");
  if (config == doc->end()) return makeError(protocol(what, "missing config"));
  auto cfg = parseDescriptor(*config, what + " config");
  if (!cfg) return makeError(cfg.error());
  out.config = *cfg;
  auto layers = doc->find("layers");
  if (layers == doc->end() || !layers->is_array()) {
    return makeError(protocol(what, "missing layers array"));
  }
  for (const auto& item : *layers) {
    auto layer = parseDescriptor(item, what + " layer");
    if (!layer) return makeError(layer.error());
    if (!isLayerMediaType(layer->mediaType)) {
      return makeError(protocol(what, "layer " + layer->digest + " has unsupported media type '" +
                                          layer->mediaType + "'"));
    }
    out.layers.push_back(*layer);
  }
  return out;
}

Result<Descriptor> pickPlatformManifest(std::string_view text, const std::string& what) {
  auto doc = parseObject(text, what);
  if (!doc) return makeError(doc.error());
  auto manifests = doc->find("manifests");
  if (manifests == doc->end() || !manifests->is_array() || manifests->empty()) {
    return makeError(protocol(what, "index lists no manifests"));
  }
  std::vector<std::string> seen;
  for (const auto& item : *manifests) {
    auto platform = item.find("platform");
    if (platform == item.end() || !platform->is_object()) {
      if (manifests->size() == 1) return parseDescriptor(item, what);
      seen.push_back("(none)");
      continue;
    }
    std::string os = stringField(*platform, "os");
    std::string arch = stringField(*platform, "architecture");
    if (os == "linux" && arch == "amd64") return parseDescriptor(item, what);
    seen.push_back(os + "/" + arch);
  }
  std::string list;
  for (const auto& s : seen) list += (list.empty() ? "" : ", ") + s;
  return makeError(ErrorCode::kNotFound, what + ": no linux/amd64 image (has " + list + ")");
}

}  // namespace agora::agent::images
