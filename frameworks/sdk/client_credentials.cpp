#include "frameworks/sdk/client_credentials.hpp"

#include <cstdlib>

#include "common/client_config.hpp"
#include "common/http_client.hpp"

namespace agora::sdk {

Result<std::optional<CurveClientKeys>> useClientConfig(const std::string& configPath) {
  const char* environment = std::getenv("AGORA_CONFIG");
  const char* home = std::getenv("HOME");
  auto config = findClientConfig(configPath, environment != nullptr ? environment : "",
                                 home != nullptr ? home : "");
  if (!config) return makeError(config.error());
  if (!*config) return std::optional<CurveClientKeys>();
  const ClientConfig& found = **config;
  http::setDefaultCredentials(
      {http::ClientTls{found.caFile, found.clientCertificate, found.clientKey}, found.token});
  return loadCurveClientKeys((*config)->curveKey, (*config)->masterPublicKey);
}

}  // namespace agora::sdk
