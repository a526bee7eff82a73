#pragma once
// Talks to the service framework's HTTP API (agora-service): found through
// the master (the active framework named agora-service advertises its API
// as its webui_url), or given with --service / AGORA_SERVICE.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

inline constexpr const char* kServiceFrameworkName = "agora-service";

class ServiceClient {
 public:
  // `address`: "HOST:PORT" or a URL; empty: ask the master of `global`.
  static Result<ServiceClient> connect(const std::string& address, const GlobalOptions& global);

  // The JSON of a 2xx answer; an Error with the API's message otherwise.
  Result<nlohmann::json> call(const std::string& method, const std::string& path,
                              const std::string& body = "") const;
  const std::string& base() const { return base_; }

 private:
  explicit ServiceClient(std::string base) : base_(std::move(base)) {}
  std::string base_;  // http://HOST:PORT
};

}  // namespace agora::cli
