#pragma once
// Read access to files in task sandboxes, for GET /files/read (Mesos
// semantics). Only regular files under WORK_DIR/sandboxes are served: paths
// with a ".." component, or whose real path (symlinks resolved) leaves the
// sandboxes directory, are refused.
//
// Thread-safe (no state besides the root); runs on HTTP threads.

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace agora::agent {

struct FileChunk {
  std::string data;
  int64_t offset = 0;
};

class SandboxFiles {
 public:
  static constexpr int64_t kMaxLength = 1 << 20;

  // sandboxesRoot: WORK_DIR/sandboxes (must exist).
  explicit SandboxFiles(std::string sandboxesRoot);

  // offset -1: no data, offset = the file's size. length -1: kMaxLength;
  // larger lengths are capped at kMaxLength. Errors: kInvalidArgument (bad
  // offset/length, not a regular file, relative path), kPermissionDenied
  // (outside the sandboxes), kNotFound.
  Result<FileChunk> read(const std::string& path, int64_t offset, int64_t length) const;

 private:
  Result<std::string> resolve(const std::string& path) const;

  std::string root_;
};

// Parses a decimal query parameter; `fallback` when absent. kInvalidArgument otherwise.
Result<int64_t> parseInt64(const std::string* text, int64_t fallback);

}  // namespace agora::agent
