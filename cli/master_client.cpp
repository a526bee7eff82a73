#include "cli/master_client.hpp"

#include "cli/global_options.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

MasterClient::MasterClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), base_(toHttpBase(address_)), timeout_(timeout) {}

Result<std::string> MasterClient::getRaw(const std::string& path) const {
  auto response = http::get(base_ + path, timeout_);
  if (!response) {
    const Error& e = response.error();
    std::string hint = e.code == ErrorCode::kInvalidArgument
                           ? " (check --master / AGORA_MASTER)"
                           : " — is `agora dev` running? (or set --master / AGORA_MASTER)";
    return makeError(e.code, "cannot reach the master at " + address_ + ": " + e.message + hint);
  }
  if (response->status != 200) {
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    std::string detail = body.is_object() && body.contains("error") && body["error"].is_string()
                             ? body["error"].get<std::string>()
                             : response->body.substr(0, 200);
    return makeError(response->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                     "the master at " + address_ + " answered " + std::to_string(response->status) +
                         " for " + path + ": " + detail);
  }
  return std::move(response->body);
}

Result<nlohmann::json> MasterClient::getJson(const std::string& path) const {
  auto body = getRaw(path);
  if (!body) return makeError(body.error());
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return makeError(ErrorCode::kProtocol,
                     "the master at " + address_ + " sent malformed JSON for " + path);
  }
  return json;
}

Result<nlohmann::json> MasterClient::task(const std::string& taskId) const {
  auto json = getJson("/api/v1/tasks");
  if (!json) return makeError(json.error());
  const auto& tasks = (*json)["tasks"];
  if (tasks.is_array()) {
    for (const auto& entry : tasks) {
      if (entry.is_object() && entry.value("id", "") == taskId) return entry;
    }
  }
  return makeError(ErrorCode::kNotFound, "the master at " + address_ + " knows no task '" + taskId +
                                             "' (`agora tasks` lists them)");
}

}  // namespace agora::cli
