#pragma once
// Builds test images in the tests themselves: layer tars written with
// libarchive (busybox from the host's busybox-static), OCI layouts,
// oci-archives and docker-archives. Nothing binary is committed.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agora::agent::images::testing {

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink, kCharDevice };
  Type type = Type::kFile;
  std::string name;
  std::string content;  // kFile
  std::string link;     // kSymlink / kHardlink target
  int mode = 0644;
  int devMajor = 0, devMinor = 0;
};

TarEntry file(std::string name, std::string content, int mode = 0644);
TarEntry dir(std::string name);
TarEntry symlink(std::string name, std::string target);
TarEntry hardlink(std::string name, std::string target);
TarEntry charDevice(std::string name, int major, int minor);

// An uncompressed (or gzip-compressed) tar of `entries`, in order.
std::string makeTar(const std::vector<TarEntry>& entries, bool gzip = false);

// Reads a whole file; aborts the test binary on failure.
std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& bytes);

// The host's busybox-static as a layer: bin/busybox, bin/sh and bin/ls
// symlinks, etc/hello, etc/doomed and opq/a.
std::vector<TarEntry> busyboxLayer();

struct Layer {
  std::string tar;   // uncompressed
  std::string blob;  // as stored (gzip-compressed when built so)
};
Layer makeLayer(const std::vector<TarEntry>& entries, bool gzip);

// An image config with the given layers' diff_ids.
nlohmann::json makeConfig(const std::vector<Layer>& layers,
                          const std::vector<std::string>& entrypoint,
                          const std::vector<std::string>& cmd);

// An OCI image layout directory being filled with images.
class OciLayout {
 public:
  explicit OciLayout(std::string dir);
  std::string addBlob(const std::string& bytes);  // returns its digest
  // Stores the config, layers and manifest; tags it in index.json when `tag`
  // is set. Returns the manifest digest.
  std::string addImage(const std::vector<Layer>& layers, const nlohmann::json& config,
                       const std::string& tag);
  // Tags an index of image manifests, each with its linux architecture.
  std::string addIndex(const std::vector<std::pair<std::string, std::string>>& digestArch,
                       const std::string& tag);
  void tag(const std::string& digest, const std::string& mediaType, int64_t size,
           const std::string& tag);
  std::string blobPath(const std::string& digest) const;
  const std::string& dir() const { return dir_; }

 private:
  void writeIndex();
  std::string dir_;
  nlohmann::json index_;
};

// Tar of a whole directory tree (an oci-archive when it is an OCI layout).
std::string tarDirectory(const std::string& dir);

// `docker save` legacy output: manifest.json, <config hex>.json, <n>/layer.tar.
std::string makeDockerArchive(const std::vector<Layer>& layers, const nlohmann::json& config,
                              const std::string& repoTag);

}  // namespace agora::agent::images::testing
