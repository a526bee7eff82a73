#pragma once
// Read access to files in task sandboxes, for GET /files/read (Mesos
// semantics). Only regular files in a task's sandbox
// (WORK_DIR/sandboxes/FRAMEWORK/TASK/CONTAINER) are served, and only those
// the task's own user could read (the sandbox's owner; root's tasks may read
// anything): a hard link to a file the task could not read is refused.
// Every component is opened relative to the sandbox's descriptor without
// following a symbolic link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS, or a walk with O_NOFOLLOW where the kernel lacks
// it), so a task that swaps a directory for a symlink meanwhile cannot lead
// the agent out of its sandbox: there is no check-then-open.
//
// Thread-safe (no state besides the root and the counter); runs on HTTP
// threads.

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.hpp"

namespace prometheus {
class Counter;
}

namespace agora::agent {

struct FileChunk {
  std::string data;
  int64_t offset = 0;
};

class SandboxFiles {
 public:
  static constexpr int64_t kMaxLength = 1 << 20;

  // sandboxesRoot: WORK_DIR/sandboxes (must exist). `refused` (may be null,
  // thread-safe, outlives every copy) counts reads refused for leaving a
  // sandbox, a symbolic link, or a file the task's user could not read.
  explicit SandboxFiles(std::string sandboxesRoot, prometheus::Counter* refused = nullptr);

  // offset -1: no data, offset = the file's size. length -1: kMaxLength;
  // larger lengths are capped at kMaxLength. Errors: kInvalidArgument (bad
  // offset/length, not a regular file, relative path), kPermissionDenied
  // (outside a sandbox, through a symlink, not readable by the task's
  // user), kNotFound.
  // `authorize` (when given) is asked, once the file is found, whether the
  // caller may read the sandbox of the task's user (the sandbox's owner, by
  // name, or its uid where it has none); its error is returned as is.
  using SandboxAuthorizer = std::function<Status(const std::string& taskUser)>;
  Result<FileChunk> read(const std::string& path, int64_t offset, int64_t length,
                         const SandboxAuthorizer& authorize = {}) const;

 private:
  Result<int> open(const std::string& path, const SandboxAuthorizer& authorize) const;
  Error refuse(const std::string& why) const;

  std::string root_;
  prometheus::Counter* refused_;
};

// Opens `rel` beneath directory `dir` as O_PATH, never through a symbolic
// link (ELOOP) nor out of `dir` (EXDEV): openat2, or where the kernel lacks
// it (or `tryOpenat2` is false, for tests) a walk with O_NOFOLLOW. -1 with
// errno on failure.
int openBeneathNoLinks(int dir, const std::string& rel, bool tryOpenat2 = true);

// Parses a decimal query parameter; `fallback` when absent. kInvalidArgument otherwise.
Result<int64_t> parseInt64(const std::string* text, int64_t fallback);

}  // namespace agora::agent
