#include "cli/sandbox_file.hpp"

#include <nlohmann/json.hpp>

#include "cli/global_options.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

SandboxFile::SandboxFile(std::string agentUrl, std::string path, std::chrono::milliseconds timeout)
    : base_(toHttpBase(agentUrl)), path_(std::move(path)), timeout_(timeout) {}

namespace {

// A JSON answer (an agent without raw mode): its "data", as text.
Result<std::pair<std::string, int64_t>> parseJsonChunk(const std::string& text, int64_t offset) {
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_object() || !body.contains("data") || !body["data"].is_string()) {
    return makeError(ErrorCode::kProtocol, "not a files API answer: " + text.substr(0, 200));
  }
  return std::pair{body["data"].get<std::string>(), body.value("offset", offset)};
}

}  // namespace

Result<std::string> SandboxFile::readNew() {
  std::string url = base_ + "/files/read?path=" + http::urlEncode(path_) +
                    "&offset=" + std::to_string(offset_) + "&raw=1";
  auto response = http::get(url, timeout_);
  if (!response) {
    return makeError(
        response.error().withContext("cannot read " + path_ + " from the agent at " + base_));
  }
  if (response->status == 404) {
    return makeError(ErrorCode::kNotFound,
                     path_ + " does not exist (yet) on the agent at " + base_);
  }
  if (response->status != 200) {
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    std::string detail = body.is_object() && body.contains("error") ? body["error"].dump()
                                                                    : response->body.substr(0, 200);
    return makeError(ErrorCode::kUnavailable, "the agent at " + base_ + " answered " +
                                                  std::to_string(response->status) + " for " +
                                                  path_ + ": " + detail);
  }
  std::string data;
  int64_t start = offset_;
  auto header = response->headers.find("x-agora-offset");
  if (header != response->headers.end()) {
    try {
      start = std::stoll(header->second);
    } catch (const std::exception&) {
      return makeError(ErrorCode::kProtocol, "the agent at " + base_ + " sent X-Agora-Offset '" +
                                                 header->second.substr(0, 32) + "'");
    }
    data = std::move(response->body);
  } else {
    auto parsed = parseJsonChunk(response->body, offset_);
    if (!parsed) {
      return makeError(parsed.error().withContext("the agent at " + base_ + ", " + path_));
    }
    data = std::move(parsed->first);
    start = parsed->second;
  }
  // The agent reports where the data starts; trust it over our own count.
  offset_ = start + static_cast<int64_t>(data.size());
  return data;
}

Result<int64_t> SandboxFile::readAvailable(const std::function<void(const std::string&)>& sink,
                                           int64_t maxBytes) {
  int64_t total = 0;
  while (total < maxBytes) {
    auto chunk = readNew();
    if (!chunk) return makeError(chunk.error());
    if (chunk->empty()) break;
    total += static_cast<int64_t>(chunk->size());
    sink(*chunk);
  }
  return total;
}

}  // namespace agora::cli
