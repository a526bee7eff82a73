#include "agent/images/image_config.hpp"

#include <nlohmann/json.hpp>

namespace agora::agent::images {

namespace {

using nlohmann::json;

Status readStrings(const json& parent, const char* key, const std::string& where,
                   std::vector<std::string>& out) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return {};
  if (!it->is_array()) {
    return makeError(ErrorCode::kProtocol, where + "." + key + " must be an array of strings");
  }
  for (const auto& item : *it) {
    if (!item.is_string()) {
      return makeError(ErrorCode::kProtocol, where + "." + key + " must be an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return {};
}

Status readString(const json& parent, const char* key, const std::string& where,
                  std::string& out) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return {};
  if (!it->is_string()) return makeError(ErrorCode::kProtocol, where + "." + key + " must be a string");
  out = it->get<std::string>();
  return {};
}

std::string envKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

Result<ImageConfig> parseImageConfig(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(ErrorCode::kProtocol, "image config is not a JSON object");
  }
  ImageConfig out;
  Status st = readString(doc, "os", "config", out.os);
  if (st) st = readString(doc, "architecture", "config", out.architecture);
  if (!st) return makeError(st.error());
  if (auto it = doc.find("config"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return makeError(ErrorCode::kProtocol, "config.config must be an object");
    const std::string where = "config.config";
    if (st) st = readStrings(*it, "Entrypoint", where, out.entrypoint);
    if (st) st = readStrings(*it, "Cmd", where, out.cmd);
    if (st) st = readStrings(*it, "Env", where, out.env);
    if (st) st = readString(*it, "WorkingDir", where, out.workingDir);
    if (st) st = readString(*it, "User", where, out.user);
    if (!st) return makeError(st.error());
  }
  if (auto it = doc.find("rootfs"); it != doc.end()) {
    if (!it->is_object()) return makeError(ErrorCode::kProtocol, "config.rootfs must be an object");
    if (st = readStrings(*it, "diff_ids", "config.rootfs", out.diffIds); !st) {
      return makeError(st.error());
    }
  }
  return out;
}

Result<ProcessSpec> mergeCommand(const ImageConfig& image, const CommandInfo& command) {
  ProcessSpec spec;
  if (command.shell && !command.value.empty()) {
    spec.argv = {"/bin/sh", "-c", command.value};
  } else if (!command.shell && !command.value.empty()) {
    spec.argv.push_back(command.value);
    for (size_t i = 1; i < command.arguments.size(); ++i) spec.argv.push_back(command.arguments[i]);
  } else {
    spec.argv = image.entrypoint;
    const auto& args = command.arguments.empty() ? image.cmd : command.arguments;
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  }
  if (spec.argv.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "nothing to run: the image has no Entrypoint or Cmd and the task gives no "
                     "command");
  }
  spec.env = image.env;
  for (const auto& [key, value] : command.environment) {
    std::erase_if(spec.env, [&](const std::string& kv) { return envKey(kv) == key; });
    spec.env.push_back(key + "=" + value);
  }
  spec.workingDir = image.workingDir.empty() ? "/" : image.workingDir;
  spec.user = command.user.empty() ? image.user : command.user;
  return spec;
}

}  // namespace agora::agent::images
