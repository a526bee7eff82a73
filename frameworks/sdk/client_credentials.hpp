#pragma once
// A framework's credentials from the client configuration the `agora` tool
// also reads (common/client_config.hpp), so a scheduler reaches a secured
// cluster, `agora dev`'s included, with no flags of its own.

#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/zmq_transport.hpp"

namespace agora::sdk {

// Reads the client configuration — `configPath` (a --config flag) when
// given, else $AGORA_CONFIG, else ~/.agora/config, else `agora dev`'s
// (~/.agora/dev/security/config) — makes its token and TLS files this
// process's HTTP credentials (http::setDefaultCredentials, for
// resolveMasterEndpoint and the master's API), and returns the CurveZMQ keys
// to subscribe with (DriverOptions::curve); nullopt when it names none (a
// plain link) or there is no configuration.
Result<std::optional<CurveClientKeys>> useClientConfig(const std::string& configPath = "");

}  // namespace agora::sdk
