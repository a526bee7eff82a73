#include "tests/agent/images/image_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <glog/logging.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/images/digest.hpp"
#include "agent/images/manifest.hpp"

namespace agora::agent::images::testing {

namespace fs = std::filesystem;

TarEntry file(std::string name, std::string content, int mode) {
  return TarEntry{TarEntry::Type::kFile, std::move(name), std::move(content), "", mode};
}
TarEntry dir(std::string name) { return TarEntry{TarEntry::Type::kDir, std::move(name), "", "", 0755}; }
TarEntry symlink(std::string name, std::string target) {
  return TarEntry{TarEntry::Type::kSymlink, std::move(name), "", std::move(target), 0777};
}
TarEntry hardlink(std::string name, std::string target) {
  return TarEntry{TarEntry::Type::kHardlink, std::move(name), "", std::move(target), 0644};
}
TarEntry charDevice(std::string name, int major, int minor) {
  return TarEntry{TarEntry::Type::kCharDevice, std::move(name), "", "", 0666, major, minor};
}

namespace {

la_ssize_t appendCallback(archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void setType(archive_entry* e, const TarEntry& entry) {
  switch (entry.type) {
    case TarEntry::Type::kFile:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(entry.content.size()));
      break;
    case TarEntry::Type::kDir: archive_entry_set_filetype(e, AE_IFDIR); break;
    case TarEntry::Type::kSymlink:
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, entry.link.c_str());
      break;
    case TarEntry::Type::kHardlink:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, entry.link.c_str());
      break;
    case TarEntry::Type::kCharDevice:
      archive_entry_set_filetype(e, AE_IFCHR);
      archive_entry_set_rdevmajor(e, entry.devMajor);
      archive_entry_set_rdevminor(e, entry.devMinor);
      break;
  }
}

}  // namespace

std::string makeTar(const std::vector<TarEntry>& entries, bool gzip) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  CHECK_EQ(archive_write_open(a, &out, nullptr, appendCallback, nullptr), ARCHIVE_OK);
  for (const auto& entry : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, entry.name.c_str());
    archive_entry_set_perm(e, static_cast<mode_t>(entry.mode));
    archive_entry_set_mtime(e, 1700000000, 0);
    setType(e, entry);
    CHECK_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (entry.type == TarEntry::Type::kFile && !entry.content.empty()) {
      archive_write_data(a, entry.content.data(), entry.content.size());
    }
    archive_entry_free(e);
  }
  CHECK_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHECK(in) << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  CHECK(out) << "cannot write " << path;
}

std::vector<TarEntry> busyboxLayer() {
  return {dir("bin"),
          file("bin/busybox", readFile("/bin/busybox"), 0755),
          symlink("bin/sh", "busybox"),
          symlink("bin/ls", "/bin/busybox"),
          dir("etc"),
          file("etc/hello", "hello\n"),
          file("etc/doomed", "bye\n"),
          dir("opq"),
          file("opq/a", "a\n")};
}

Layer makeLayer(const std::vector<TarEntry>& entries, bool gzip) {
  Layer layer;
  layer.tar = makeTar(entries, false);
  layer.blob = gzip ? makeTar(entries, true) : layer.tar;
  return layer;
}

nlohmann::json makeConfig(const std::vector<Layer>& layers,
                          const std::vector<std::string>& entrypoint,
                          const std::vector<std::string>& cmd) {
  nlohmann::json diffIds = nlohmann::json::array();
  for (const auto& layer : layers) diffIds.push_back(sha256Digest(layer.tar));
  nlohmann::json config = {{"Env", {"PATH=/bin", "GREETING=hi"}}, {"WorkingDir", "/etc"}};
  if (!entrypoint.empty()) config["Entrypoint"] = entrypoint;
  if (!cmd.empty()) config["Cmd"] = cmd;
  return {{"architecture", "amd64"},
          {"os", "linux"},
          {"config", config},
          {"rootfs", {{"type", "layers"}, {"diff_ids", diffIds}}}};
}

OciLayout::OciLayout(std::string dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_ + "/blobs/sha256");
  writeFile(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  index_ = {{"schemaVersion", 2}, {"manifests", nlohmann::json::array()}};
  writeIndex();
}

std::string OciLayout::blobPath(const std::string& digest) const {
  return dir_ + "/blobs/sha256/" + digestHex(digest);
}

std::string OciLayout::addBlob(const std::string& bytes) {
  std::string digest = sha256Digest(bytes);
  writeFile(blobPath(digest), bytes);
  return digest;
}

std::string OciLayout::addImage(const std::vector<Layer>& layers, const nlohmann::json& config,
                                const std::string& tagName) {
  std::string configBytes = config.dump();
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", std::string(kOciManifest)},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", addBlob(configBytes)},
        {"size", configBytes.size()}}},
      {"layers", nlohmann::json::array()}};
  for (const auto& layer : layers) {
    bool gz = layer.blob != layer.tar;
    manifest["layers"].push_back(
        {{"mediaType", gz ? "application/vnd.oci.image.layer.v1.tar+gzip"
                          : "application/vnd.oci.image.layer.v1.tar"},
         {"digest", addBlob(layer.blob)},
         {"size", layer.blob.size()}});
  }
  std::string bytes = manifest.dump();
  std::string digest = addBlob(bytes);
  if (!tagName.empty()) tag(digest, std::string(kOciManifest), static_cast<int64_t>(bytes.size()), tagName);
  return digest;
}

std::string OciLayout::addIndex(const std::vector<std::pair<std::string, std::string>>& digestArch,
                                const std::string& tagName) {
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& [digest, arch] : digestArch) {
    manifests.push_back({{"mediaType", std::string(kOciManifest)},
                         {"digest", digest},
                         {"size", readFile(blobPath(digest)).size()},
                         {"platform", {{"os", "linux"}, {"architecture", arch}}}});
  }
  nlohmann::json index = {
      {"schemaVersion", 2}, {"mediaType", std::string(kOciIndex)}, {"manifests", manifests}};
  std::string bytes = index.dump();
  std::string digest = addBlob(bytes);
  tag(digest, std::string(kOciIndex), static_cast<int64_t>(bytes.size()), tagName);
  return digest;
}

void OciLayout::tag(const std::string& digest, const std::string& mediaType, int64_t size,
                    const std::string& tagName) {
  index_["manifests"].push_back(
      {{"mediaType", mediaType},
       {"digest", digest},
       {"size", size},
       {"annotations", {{"org.opencontainers.image.ref.name", tagName}}}});
  writeIndex();
}

void OciLayout::writeIndex() { writeFile(dir_ + "/index.json", index_.dump()); }

std::string tarDirectory(const std::string& root) {
  std::vector<TarEntry> entries;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(entry.path(), root);
    if (entry.is_directory()) {
      entries.push_back(dir(rel));
    } else {
      entries.push_back(file(rel, readFile(entry.path())));
    }
  }
  return makeTar(entries);
}

std::string makeDockerArchive(const std::vector<Layer>& layers, const nlohmann::json& config,
                              const std::string& repoTag) {
  std::string configBytes = config.dump();
  std::string configName = digestHex(sha256Digest(configBytes)) + ".json";
  std::vector<TarEntry> entries = {file(configName, configBytes)};
  nlohmann::json layerNames = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string id = "layer" + std::to_string(i);
    entries.push_back(dir(id));
    entries.push_back(file(id + "/layer.tar", layers[i].tar));
    layerNames.push_back(id + "/layer.tar");
  }
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", configName}, {"RepoTags", {repoTag}}, {"Layers", layerNames}}});
  entries.push_back(file("manifest.json", manifest.dump()));
  return makeTar(entries);
}

}  // namespace agora::agent::images::testing
