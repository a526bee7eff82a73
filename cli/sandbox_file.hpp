#pragma once
// Incremental reads of one file in a task's sandbox through the agent's files
// API, in raw mode (GET AGENT/files/read?path=P&offset=N&raw=1 -> the bytes,
// their offset in X-Agora-Offset): task output is bytes, and the JSON form
// replaces invalid UTF-8, including a character cut at a chunk's end. An agent
// answering JSON (no raw mode) is still read, as text.
// Not thread-safe; one reader per file.

#include <chrono>
#include <cstdint>
#include <functional>
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
  // readNew() until it returns nothing or `maxBytes` were read, handing each
  // chunk to `sink` as it arrives (nothing is held back); the byte count.
  Result<int64_t> readAvailable(const std::function<void(const std::string&)>& sink,
                                int64_t maxBytes = INT64_MAX);

  int64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }
  const std::string& agentBase() const { return base_; }

 private:
  std::string base_;
  std::string path_;
  std::chrono::milliseconds timeout_;
  int64_t offset_ = 0;
};

}  // namespace agora::cli
