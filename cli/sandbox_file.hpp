#pragma once
// Incremental reads of one file in a task's sandbox through the agent's files
// API (GET AGENT/files/read?path=P&offset=N -> {"data": "...", "offset": N}).
// Not thread-safe; one reader per file.

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace agora::cli {

class SandboxFile {
 public:
  // agentUrl: "http://HOST:PORT" or "HOST:PORT"; path: absolute, in the sandbox.
  SandboxFile(std::string agentUrl, std::string path,
              std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // The bytes appended since the last call (empty when none). kNotFound while
  // the file does not exist yet; kUnavailable when the agent cannot be reached.
  Result<std::string> readNew();
  // readNew() until it returns nothing; at most `maxBytes` per call.
  Result<std::string> readAll(size_t maxBytes = 64u << 20);

  int64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
  std::string base_;
  std::string path_;
  std::chrono::milliseconds timeout_;
  int64_t offset_ = 0;
};

}  // namespace agora::cli
