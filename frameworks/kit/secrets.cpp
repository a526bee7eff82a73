#include "frameworks/kit/secrets.hpp"

#include <glog/logging.h>

#include <nlohmann/json.hpp>

#include "common/task_secret.hpp"

namespace agora::kit {

namespace {

// MessagePack {"value": binary, "updated": seconds}: bytes kept as bytes.
std::string encode(const std::string& value, double updated) {
  nlohmann::json record = {
      {"value", nlohmann::json::binary(std::vector<uint8_t>(value.begin(), value.end()))},
      {"updated", updated}};
  std::vector<uint8_t> bytes = nlohmann::json::to_msgpack(record);
  return std::string(bytes.begin(), bytes.end());
}

Result<std::pair<std::string, double>> decode(const Record& record) {
  nlohmann::json parsed = nlohmann::json::from_msgpack(record.value, true, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("value") ||
      !parsed["value"].is_binary()) {
    return makeError(ErrorCode::kIo, "secret record " + record.key + " is unreadable");
  }
  const auto& bytes = parsed["value"].get_binary();
  double updated = parsed.value("updated", 0.0);
  return std::make_pair(std::string(bytes.begin(), bytes.end()), updated);
}

}  // namespace

Status SecretStore::validateName(const std::string& name) {
  // The same rule as a task's secrets (common/task_secret.hpp).
  return validateSecrets({TaskSecret{name, "", "X", ""}});
}

Status SecretStore::load() {
  if (loaded_) return {};
  auto records = store_.list(kPrefix);
  if (!records) return makeError(records.error());
  std::map<std::string, Entry> cache;
  for (const Record& record : *records) {
    auto decoded = decode(record);
    if (!decoded) return makeError(decoded.error());
    std::string name = record.key.substr(std::string(kPrefix).size());
    size_t bytes = decoded->first.size();
    cache[name] =
        Entry{std::move(decoded->first), Info{name, record.version, decoded->second, bytes}};
  }
  cache_ = std::move(cache);
  loaded_ = true;
  return {};
}

Status SecretStore::set(const std::string& name, const std::string& value, double now) {
  if (Status s = validateName(name); !s) return s;
  if (value.size() > kMaxSecretBytes) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "secret '" + name + "' is larger than " + std::to_string(kMaxSecretBytes / 1024) + " KiB");
  }
  if (Status s = load(); !s) return s;
  auto written = store_.put(kPrefix + name, encode(value, now));
  if (!written) return makeError(written.error());
  cache_[name] = Entry{value, Info{name, written->version, now, value.size()}};
  return {};
}

Result<bool> SecretStore::erase(const std::string& name) {
  if (Status s = load(); !s) return makeError(s.error());
  if (!cache_.count(name)) return false;
  if (Status s = store_.erase(kPrefix + name); !s) return makeError(s.error());
  cache_.erase(name);
  return true;
}

const std::string* SecretStore::find(const std::string& name) {
  if (Status s = load(); !s) {
    LOG(ERROR) << "cannot read secrets: " << s.error().message;
    return nullptr;
  }
  auto it = cache_.find(name);
  return it == cache_.end() ? nullptr : &it->second.value;
}

Result<std::vector<SecretStore::Info>> SecretStore::list() {
  if (Status s = load(); !s) return makeError(s.error());
  std::vector<Info> out;
  for (const auto& [name, entry] : cache_) out.push_back(entry.info);
  return out;
}

}  // namespace agora::kit
