#include "agent/images/image_source.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "agent/images/layer_unpacker.hpp"

namespace agora::agent::images {

Result<std::string> readSmallFile(const std::string& path, size_t maxBytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return makeError(errnoError(path, errno));
  if (static_cast<size_t>(st.st_size) > maxBytes) {
    return makeError(ErrorCode::kProtocol, path + ": " + std::to_string(st.st_size) +
                                               " bytes, more than the " +
                                               std::to_string(maxBytes) + " allowed");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(errnoError("open " + path, errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

Result<std::string> canonicalPath(const std::string& path, const std::string& what) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return makeError(errnoError(what + ": " + path, errno));
  return std::string(resolved);
}

// Unpacks the archive's files (no owners, no whiteouts) into scratchDir/archive.
Result<std::string> unpackArchive(const std::string& file, const std::string& scratchDir,
                                  const std::string& what) {
  auto path = canonicalPath(file, what);
  if (!path) return makeError(path.error());
  std::string dest = scratchDir + "/archive";
  if (::mkdir(dest.c_str(), 0700) != 0) return makeError(errnoError("mkdir " + dest, errno));
  auto digest = unpackLayer(*path, dest, UnpackOptions{.convertWhiteouts = false,
                                                       .restoreOwners = false});
  if (!digest) return makeError(digest.error().withContext(what));
  return canonicalPath(dest, what);
}

}  // namespace

Result<std::unique_ptr<ImageSource>> openImageSource(const ImageReference& ref,
                                                     const std::string& scratchDir) {
  const std::string what = ref.toString();
  switch (ref.transport) {
    case Transport::kOciLayout: {
      auto root = canonicalPath(ref.path, what);
      if (!root) return makeError(root.error());
      return makeOciLayoutSource(*root, ref.tag, what);
    }
    case Transport::kOciArchive: {
      auto root = unpackArchive(ref.path, scratchDir, what);
      if (!root) return makeError(root.error());
      return makeOciLayoutSource(*root, ref.tag, what);
    }
    case Transport::kDockerArchive: {
      auto root = unpackArchive(ref.path, scratchDir, what);
      if (!root) return makeError(root.error());
      return makeDockerArchiveSource(*root, ref.tag, what);
    }
    case Transport::kRegistry: return makeRegistrySource(ref);
  }
  return makeError(ErrorCode::kInternal, "unknown transport");
}

}  // namespace agora::agent::images
