#pragma once
// Talks to a framework's HTTP API (frameworks/kit/api.hpp; agora-service's
// by default): found through the master (the active framework of that name
// advertises its API as its webui_url), or given as an address.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

inline constexpr const char* kServiceFrameworkName = "agora-service";

class FrameworkClient {
 public:
  // `address`: "HOST:PORT" or a URL; empty: ask the master of `global` for
  // the active framework named `name`.
  static Result<FrameworkClient> connect(const std::string& address, const GlobalOptions& global,
                                         const std::string& name = kServiceFrameworkName);

  // The JSON of a 2xx answer; an Error with the API's message otherwise.
  Result<nlohmann::json> call(const std::string& method, const std::string& path,
                              const std::string& body = "") const;
  const std::string& base() const { return base_; }

 private:
  FrameworkClient(std::string base, std::string name)
      : base_(std::move(base)), name_(std::move(name)) {}
  std::string base_;  // http://HOST:PORT
  std::string name_;
};

}  // namespace agora::cli
