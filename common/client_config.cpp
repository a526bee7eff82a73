#include "common/client_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/checkpoint_file.hpp"
#include "common/curve.hpp"
#include "common/http_auth.hpp"

namespace agora {

namespace {

constexpr std::pair<const char*, std::string ClientConfig::*> kFields[] = {
    {"master", &ClientConfig::master},
    {"token", &ClientConfig::token},
    {"ca_file", &ClientConfig::caFile},
    {"client_certificate", &ClientConfig::clientCertificate},
    {"client_key", &ClientConfig::clientKey},
    {"curve_key", &ClientConfig::curveKey},
    {"master_public_key", &ClientConfig::masterPublicKey},
};

// PREFIX.key/.pub, made unless both exist.
Status ensureKeyPair(const std::string& prefix) {
  std::error_code ec;
  if (std::filesystem::exists(prefix + ".key", ec) &&
      std::filesystem::exists(prefix + ".pub", ec)) {
    return {};
  }
  std::filesystem::remove(prefix + ".key", ec);
  std::filesystem::remove(prefix + ".pub", ec);
  auto pair = generateCurveKeyPair();
  if (!pair) return makeError(pair.error());
  return writeCurveKeyPair(prefix, *pair);
}

}  // namespace

Result<ClientConfig> readClientConfig(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return makeError(ErrorCode::kNotFound, "no client configuration at " + path);
  }
  if ((st.st_mode & 077) != 0) {
    return makeError(ErrorCode::kPermissionDenied,
                     path + " is readable by others and may hold a token: chmod 600 " + path);
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(ErrorCode::kInvalidArgument, path + ": expected a JSON object");
  }
  ClientConfig config;
  for (const auto& [key, value] : doc.items()) {
    bool known = false;
    for (const auto& [name, field] : kFields) {
      if (key != name) continue;
      if (!value.is_string()) {
        return makeError(ErrorCode::kInvalidArgument, path + ": " + key + ": expected a string");
      }
      config.*field = value.get<std::string>();
      known = true;
    }
    if (!known) return makeError(ErrorCode::kInvalidArgument, path + ": unknown field " + key);
  }
  return config;
}

Status writeClientConfig(const std::string& path, const ClientConfig& config) {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, field] : kFields) {
    if (!(config.*field).empty()) doc[name] = config.*field;
  }
  return writePrivateFile(path, doc.dump(2) + "\n");
}

Result<std::optional<ClientConfig>> findClientConfig(const std::string& explicitPath,
                                                     const std::string& environmentPath,
                                                     const std::string& home) {
  std::string path = !explicitPath.empty() ? explicitPath : environmentPath;
  if (!path.empty()) {
    auto config = readClientConfig(path);
    if (!config) return makeError(config.error());
    return std::optional<ClientConfig>(std::move(*config));
  }
  std::string dir = (home.empty() ? std::string("/root") : home) + "/.agora";
  for (const std::string& candidate : {dir + "/config", dir + "/dev/security/config"}) {
    auto config = readClientConfig(candidate);
    if (config) return std::optional<ClientConfig>(std::move(*config));
    if (config.error().code != ErrorCode::kNotFound) return makeError(config.error());
  }
  return std::optional<ClientConfig>();
}

Result<std::optional<CurveClientKeys>> loadCurveClientKeys(const std::string& keyFile,
                                                           const std::string& masterPublicKeyFile) {
  if (keyFile.empty() && masterPublicKeyFile.empty()) return std::optional<CurveClientKeys>();
  if (keyFile.empty() || masterPublicKeyFile.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "a CurveZMQ link needs both the scheduler's key pair (--curve-key) and the "
                     "master's public key (--master-public-key)");
  }
  auto pair = readCurveKeyPair(keyFile);
  if (!pair) return makeError(pair.error());
  auto master = readCurvePublicKey(masterPublicKeyFile);
  if (!master) return makeError(master.error());
  return std::optional<CurveClientKeys>(CurveClientKeys{*pair, *master});
}

Result<LocalCredentials> ensureLocalCredentials(const std::string& dir,
                                                const std::string& masterHttp) {
  LocalCredentials out;
  out.masterKey = dir + "/keys/master.key";
  out.masterPublicKey = dir + "/keys/master.pub";
  out.credentialsDir = dir + "/credentials";
  out.agentKey = dir + "/keys/agent.key";
  out.frameworkKey = dir + "/credentials/frameworks/local.key";
  out.tokensFile = dir + "/tokens.json";
  out.clientConfig = dir + "/config";
  std::error_code ec;
  for (const std::string& sub :
       {dir + "/keys", out.credentialsDir + "/agents", out.credentialsDir + "/frameworks"}) {
    std::filesystem::create_directories(sub, ec);
    if (ec) return makeError(ErrorCode::kIo, "cannot create " + sub + ": " + ec.message());
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  for (const std::string& prefix :
       {dir + "/keys/master", dir + "/keys/agent", out.credentialsDir + "/frameworks/local"}) {
    if (Status made = ensureKeyPair(prefix); !made) return makeError(made.error());
  }
  // The agent's public key joins the allow list; the framework's pair lives
  // there already (the master reads only *.pub).
  std::filesystem::copy_file(dir + "/keys/agent.pub", out.credentialsDir + "/agents/agent.pub",
                             std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot copy the agent's public key: " + ec.message());
  ClientConfig previous;
  if (auto read = readClientConfig(out.clientConfig); read) previous = *read;
  out.operatorToken = previous.token;
  if (out.operatorToken.empty()) {
    auto token = http::randomToken();
    if (!token) return makeError(token.error());
    out.operatorToken = *token;
  }
  if (Status s = http::writeTokensFile(out.tokensFile, {{"operator:local", out.operatorToken}});
      !s) {
    return makeError(s.error());
  }
  ClientConfig config;
  config.master = masterHttp;
  config.token = out.operatorToken;
  config.curveKey = out.frameworkKey;
  config.masterPublicKey = out.masterPublicKey;
  if (Status s = writeClientConfig(out.clientConfig, config); !s) return makeError(s.error());
  return out;
}

}  // namespace agora
