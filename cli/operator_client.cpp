#include "cli/operator_client.hpp"

#include <nlohmann/json.hpp>

#include "cli/global_options.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

Result<std::string> sendToMaster(const std::string& address, const std::string& method,
                                 const std::string& path, const std::string& body,
                                 std::chrono::milliseconds timeout) {
  auto response = http::request(method, toHttpBase(address) + path, body, timeout);
  if (!response) {
    return makeError(ErrorCode::kUnavailable,
                     "cannot reach the master at " + address + ": " + response.error().message +
                         " — is `agora dev` running? (or set --master / AGORA_MASTER)");
  }
  if (response->status >= 200 && response->status < 300) return std::move(response->body);
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    return makeError(response->status == 404 ? ErrorCode::kNotFound : ErrorCode::kFailedPrecondition,
                     json["error"].get<std::string>());
  }
  return makeError(ErrorCode::kUnavailable, "the master at " + address + " answered " +
                                                std::to_string(response->status) + " for " +
                                                method + " " + path + ": " +
                                                response->body.substr(0, 200));
}

}  // namespace agora::cli
