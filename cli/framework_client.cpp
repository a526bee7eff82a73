#include "cli/framework_client.hpp"

#include "cli/master_client.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

Result<FrameworkClient> FrameworkClient::connect(const std::string& address,
                                                 const GlobalOptions& global,
                                                 const std::string& name) {
  if (!address.empty()) {
    std::string base = address.find("://") == std::string::npos ? "http://" + address : address;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return FrameworkClient(base, name);
  }
  MasterClient master(global.master);
  auto frameworks = master.getJson("/api/v1/frameworks");
  if (!frameworks) return makeError(frameworks.error());
  for (const auto& f : frameworks->value("frameworks", nlohmann::json::array())) {
    if (f.value("name", "") != name || !f.value("active", false)) continue;
    std::string url = f.value("webui_url", "");
    if (url.empty()) continue;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return FrameworkClient(url, name);
  }
  return makeError(ErrorCode::kUnavailable,
                   "no active " + name + " framework at the master " + global.master +
                       " advertises an API: start it (agora dev starts one) or give its "
                       "address");
}

Result<nlohmann::json> FrameworkClient::call(const std::string& method, const std::string& path,
                                             const std::string& body) const {
  auto response = http::request(method, base_ + path, body, std::chrono::seconds(15));
  if (!response) {
    return makeError(ErrorCode::kUnavailable,
                     "cannot reach " + name_ + " at " + base_ + ": " + response.error().message);
  }
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status / 100 != 2) {
    std::string message =
        parsed.is_object() ? parsed.value("error", response->body) : response->body;
    return makeError(
        response->status == 404 ? ErrorCode::kNotFound : ErrorCode::kFailedPrecondition, message);
  }
  if (parsed.is_discarded()) {
    return makeError(ErrorCode::kProtocol,
                     name_ + " answered no JSON: " + response->body.substr(0, 200));
  }
  return parsed;
}

}  // namespace agora::cli
