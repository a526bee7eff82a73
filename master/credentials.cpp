#include "master/credentials.hpp"

#include <filesystem>

namespace agora::master {

Result<std::optional<CurveServerKeys>> loadCurveCredentials(const std::string& keyFile,
                                                            const std::string& credentialsDir) {
  if (keyFile.empty() && credentialsDir.empty()) return std::optional<CurveServerKeys>();
  if (keyFile.empty() || credentialsDir.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--curve-key and --credentials go together: the master's key pair and the "
                     "keys allowed to connect");
  }
  auto pair = readCurveKeyPair(keyFile);
  if (!pair) return makeError(pair.error().withContext("--curve-key"));
  CurveServerKeys keys{*pair, {}};
  for (const char* kind : {"agent", "framework"}) {
    std::string dir = credentialsDir + "/" + kind + "s";
    if (!std::filesystem::is_directory(dir)) continue;
    auto allowed = readCurveAllowList(dir);
    if (!allowed) return makeError(allowed.error().withContext("--credentials"));
    for (const auto& [key, name] : *allowed) keys.allowed[key] = std::string(kind) + ":" + name;
  }
  if (keys.allowed.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--credentials " + credentialsDir +
                         ": no agents/NAME.pub or frameworks/NAME.pub: nobody could connect");
  }
  return std::optional<CurveServerKeys>(std::move(keys));
}

}  // namespace agora::master
