#include "cli/sandbox_file.hpp"

#include <nlohmann/json.hpp>

#include "cli/global_options.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

SandboxFile::SandboxFile(std::string agentUrl, std::string path, std::chrono::milliseconds timeout)
    : base_(toHttpBase(agentUrl)), path_(std::move(path)), timeout_(timeout) {}

Result<std::string> SandboxFile::readNew() {
  std::string url =
      base_ + "/files/read?path=" + http::urlEncode(path_) + "&offset=" + std::to_string(offset_);
  auto response = http::get(url, timeout_);
  if (!response) {
    return makeError(
        response.error().withContext("cannot read " + path_ + " from the agent at " + base_));
  }
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status == 404) {
    return makeError(ErrorCode::kNotFound,
                     path_ + " does not exist (yet) on the agent at " + base_);
  }
  if (response->status != 200 || !body.is_object() || !body.contains("data") ||
      !body["data"].is_string()) {
    std::string detail = body.is_object() && body.contains("error") ? body["error"].dump()
                                                                    : response->body.substr(0, 200);
    return makeError(ErrorCode::kUnavailable, "the agent at " + base_ + " answered " +
                                                  std::to_string(response->status) + " for " +
                                                  path_ + ": " + detail);
  }
  std::string data = body["data"].get<std::string>();
  // The agent reports where the data starts; trust it over our own count.
  int64_t start = body.value("offset", offset_);
  offset_ = start + static_cast<int64_t>(data.size());
  return data;
}

Result<std::string> SandboxFile::readAll(size_t maxBytes) {
  std::string out;
  while (out.size() < maxBytes) {
    auto chunk = readNew();
    if (!chunk) return chunk;
    if (chunk->empty()) break;
    out += *chunk;
  }
  return out;
}

}  // namespace agora::cli
