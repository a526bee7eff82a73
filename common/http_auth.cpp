#include "common/http_auth.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/checkpoint_file.hpp"

namespace agora::http {

namespace {

constexpr size_t kMaxTokensFileBytes = size_t{1} << 20;

Response unauthorized(const std::string& why) {
  Response response = errorResponse(401, why);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"agora\"");
  return response;
}

// Compares in time independent of where the strings differ.
bool sameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "YYYY-MM-DDTHH:MM:SSZ" as seconds since the epoch.
std::optional<std::time_t> parseUtcTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  std::time_t t = timegm(&tm);
  if (t <= 0) return std::nullopt;
  return t;
}

}  // namespace

Authenticator::Authenticator(bool anonymousRead) { options_.anonymousRead = anonymousRead; }

Result<std::unique_ptr<Authenticator>> Authenticator::create(AuthOptions options) {
  auto authenticator = std::make_unique<Authenticator>(options.anonymousRead);
  authenticator->options_ = std::move(options);
  if (!authenticator->options_.tokensFile.empty()) {
    if (Status loaded = authenticator->reload(); !loaded) return makeError(loaded.error());
  }
  return authenticator;
}

Result<Authenticator::Tokens> Authenticator::loadTokens(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return makeError(ErrorCode::kNotFound, "cannot read tokens file " + path + ": no such file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return makeError(
        ErrorCode::kPermissionDenied,
        "tokens file " + path + " is readable by others (mode " + mode + "): chmod 600 " + path);
  }
  if (st.st_size > static_cast<off_t>(kMaxTokensFileBytes)) {
    return makeError(ErrorCode::kInvalidArgument, path + ": larger than 1 MiB");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return makeError(ErrorCode::kIo, "cannot read tokens file " + path);
  auto invalid = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, path + ": " + why);
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    return invalid(std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("tokens") || !doc["tokens"].is_array()) {
    return invalid("expected {\"tokens\": [{\"identity\": ..., \"token\": ...}]}");
  }
  Tokens tokens;
  for (size_t i = 0; i < doc["tokens"].size(); ++i) {
    const auto& entry = doc["tokens"][i];
    std::string where = "tokens[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("identity") || !entry["identity"].is_string() ||
        !entry.contains("token") || !entry["token"].is_string()) {
      return invalid(where + ": expected {\"identity\": STRING, \"token\": STRING}");
    }
    TokenEntry known{entry["identity"].get<std::string>(), 0, ""};
    std::string token = entry["token"].get<std::string>();
    if (known.identity.empty()) return invalid(where + ": empty identity");
    if (token.size() < 16) return invalid(where + ": a token needs at least 16 characters");
    if (entry.contains("expires")) {
      auto expires = entry["expires"].is_string()
                         ? parseUtcTime(entry["expires"].get<std::string>())
                         : std::nullopt;
      if (!expires) {
        return invalid(where + ": expires: expected a UTC time like \"2027-01-31T18:00:00Z\"");
      }
      known.expires = *expires;
      known.expiresText = entry["expires"].get<std::string>();
    }
    if (!tokens.emplace(token, std::move(known)).second) {
      return invalid(where + ": token used twice");
    }
  }
  return tokens;
}

Status Authenticator::reload() {
  if (options_.tokensFile.empty()) return {};  // certificates only
  auto tokens = loadTokens(options_.tokensFile);
  if (!tokens) return makeError(tokens.error());
  tokens_.publish(std::make_shared<const Tokens>(std::move(*tokens)), tokens_.generation());
  return {};
}

Result<std::string> Authenticator::identify(const Request& request) const {
  auto header = request.headers.find("authorization");
  if (header != request.headers.end()) {
    constexpr std::string_view kBearer = "Bearer ";
    const std::string& value = header->second;
    if (value.size() <= kBearer.size() || value.compare(0, kBearer.size(), kBearer) != 0) {
      return makeError(ErrorCode::kPermissionDenied,
                       "unsupported Authorization header: send 'Authorization: Bearer TOKEN'");
    }
    std::string token = value.substr(kBearer.size());
    std::shared_ptr<const Tokens> tokens = tokens_.get();
    // Every entry is compared, so the time taken says nothing about the token.
    const TokenEntry* found = nullptr;
    for (const auto& [known, entry] : *tokens) {
      if (sameSecret(known, token)) found = &entry;
    }
    if (found == nullptr) return makeError(ErrorCode::kPermissionDenied, "invalid token");
    if (found->expires != 0 && std::time(nullptr) >= found->expires) {
      return makeError(ErrorCode::kPermissionDenied, "token expired at " + found->expiresText);
    }
    return found->identity;
  }
  return request.clientCertificateName;
}

std::optional<Response> Authenticator::gate(const Request& request) const {
  auto identity = identify(request);
  if (!identity) return unauthorized(identity.error().message);
  if (!identity->empty()) return std::nullopt;
  if (isRead(request)) {
    if (options_.anonymousRead) return std::nullopt;
    return unauthorized(
        "authentication required: send 'Authorization: Bearer TOKEN' (or a client "
        "certificate)");
  }
  return unauthorized("authentication required to " + request.method + " " + request.path +
                      ": send 'Authorization: Bearer TOKEN' (or a client certificate)");
}

Result<std::string> randomToken() {
  unsigned char bytes[32];
  if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    return makeError(ErrorCode::kIo, "getrandom failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

Status writeTokensFile(const std::string& path, const std::map<std::string, std::string>& tokens) {
  nlohmann::json doc{{"tokens", nlohmann::json::array()}};
  for (const auto& [identity, token] : tokens) {
    doc["tokens"].push_back({{"identity", identity}, {"token", token}});
  }
  return writePrivateFile(path, doc.dump(2) + "\n");
}

}  // namespace agora::http
