#include "common/task_secret.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

namespace agora {

namespace {

Status invalid(const std::string& what) { return makeError(ErrorCode::kInvalidArgument, what); }

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool validEnvName(const std::string& name) {
  if (name.empty() || name.size() > 255 || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool validFile(const std::string& path) {
  if (path.empty() || path.size() > 255 || path[0] == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Status validateSecrets(const std::vector<TaskSecret>& secrets) {
  if (secrets.size() > kMaxTaskSecrets) {
    return invalid("at most " + std::to_string(kMaxTaskSecrets) + " secrets per task");
  }
  std::set<std::string> envs, files;
  size_t total = 0;
  for (const TaskSecret& secret : secrets) {
    if (!validName(secret.name)) {
      return invalid("secret name '" + secret.name.substr(0, 64) +
                     "': 1-253 characters from A-Z a-z 0-9 . _ -");
    }
    const std::string what = "secret '" + secret.name + "'";
    if (secret.env.empty() == secret.file.empty()) {
      return invalid(what + ": give exactly one of env and file");
    }
    if (!secret.env.empty()) {
      if (!validEnvName(secret.env)) {
        return invalid(what + ": env '" + secret.env + "' is not a variable name");
      }
      if (secret.env.starts_with("AGORA_") || secret.env.starts_with("MESOS_")) {
        return invalid(what + ": env " + secret.env + " is set by the agent");
      }
      if (!envs.insert(secret.env).second) {
        return invalid(what + ": another secret already sets " + secret.env);
      }
    } else {
      if (!validFile(secret.file)) {
        return invalid(what + ": file '" + secret.file +
                       "' must be a relative path without '.' or '..' parts");
      }
      if (!files.insert(secret.file).second) {
        return invalid(what + ": another secret already writes " + secret.file);
      }
    }
    if (secret.value.size() > kMaxSecretBytes) {
      return invalid(what + ": larger than " + std::to_string(kMaxSecretBytes / 1024) + " KiB");
    }
    total += secret.value.size();
  }
  if (total > kMaxTaskSecretBytes) {
    return invalid("secrets larger than " + std::to_string(kMaxTaskSecretBytes / 1024) +
                   " KiB in all");
  }
  return {};
}

void toCapnp(const std::vector<TaskSecret>& in, capnp::List<schema::Secret>::Builder out) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setName(in[i].name);
    out[i].setValue(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(in[i].value.data()), in[i].value.size()));
    out[i].setEnv(in[i].env);
    out[i].setFile(in[i].file);
  }
}

Result<std::vector<TaskSecret>> fromCapnp(capnp::List<schema::Secret>::Reader in) {
  std::vector<TaskSecret> out;
  out.reserve(in.size());
  for (auto secret : in) {
    auto value = secret.getValue();
    out.push_back(TaskSecret{
        secret.getName(), std::string(reinterpret_cast<const char*>(value.begin()), value.size()),
        secret.getEnv(), secret.getFile()});
    if (out.size() > kMaxTaskSecrets) break;
  }
  if (Status s = validateSecrets(out); !s) return makeError(s.error());
  return out;
}

nlohmann::json toJson(const std::vector<TaskSecret>& secrets) {
  nlohmann::json out = nlohmann::json::array();
  for (const TaskSecret& secret : secrets) {
    nlohmann::json entry = {{"name", secret.name}};
    if (!secret.env.empty()) entry["env"] = secret.env;
    if (!secret.file.empty()) entry["file"] = secret.file;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace agora
