#include "agent/executor/image_process.hpp"

#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "agent/executor/posix_task_runner.hpp"
#include "agent/executor/rootfs_setup.hpp"

namespace agora::agent {

namespace {

// The image's version of `rel` (e.g. "etc/passwd"): the topmost layer's,
// nullopt when no layer has it or the top one that mentions it deleted it.
std::optional<std::string> imageFile(const std::vector<std::string>& layerDirs,
                                     const std::string& rel) {
  const size_t slash = rel.rfind('/');
  const std::string whiteout = rel.substr(0, slash + 1) + ".wh." + rel.substr(slash + 1);
  for (auto it = layerDirs.rbegin(); it != layerDirs.rend(); ++it) {
    struct stat st;
    if (::lstat((*it + "/" + whiteout).c_str(), &st) == 0) return std::nullopt;
    std::string path = *it + "/" + rel;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  return std::nullopt;
}

std::optional<unsigned> number(const std::string& text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Fields of the line whose field `keyField` is `key` in a colon-separated file.
std::optional<std::vector<std::string>> findEntry(const std::string& text, size_t keyField,
                                                  const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream parts(line);
    std::string field;
    while (std::getline(parts, field, ':')) fields.push_back(field);
    if (fields.size() > keyField && fields[keyField] == key) return fields;
  }
  return std::nullopt;
}

constexpr uint32_t kNobodyId = 65534;

Result<gid_t> resolveGroup(const std::vector<std::string>& layerDirs, const std::string& group) {
  if (auto gid = number(group)) return static_cast<gid_t>(*gid);
  auto groups = imageFile(layerDirs, "etc/group");
  auto entry = groups ? findEntry(*groups, 0, group) : std::nullopt;
  if (!entry || entry->size() < 3 || !number((*entry)[2])) {
    return makeError(ErrorCode::kNotFound, "group '" + group + "' is not in the image's /etc/group");
  }
  return static_cast<gid_t>(*number((*entry)[2]));
}

}  // namespace

Result<UserIds> resolveImageUser(const std::vector<std::string>& layerDirs,
                                 const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  UserIds ids;
  ids.name = user;
  ids.home = "/";
  auto passwd = imageFile(layerDirs, "etc/passwd");
  const bool numeric = number(user).has_value();
  auto entry = passwd ? findEntry(*passwd, numeric ? 2 : 0, user) : std::nullopt;
  if (entry && entry->size() >= 4 && number((*entry)[2]) && number((*entry)[3])) {
    ids.name = (*entry)[0];
    ids.uid = *number((*entry)[2]);
    ids.gid = *number((*entry)[3]);
    if (entry->size() >= 6 && !(*entry)[5].empty()) ids.home = (*entry)[5];
  } else if (numeric) {
    ids.uid = *number(user);
  } else if (user == "nobody") {
    // The unprivileged user tasks fall back to: images without an entry
    // for it (scratch, distroless) get the ID every distribution gives it,
    // the kernel's overflow ID.
    ids.uid = kNobodyId;
    ids.gid = kNobodyId;
  } else {
    return makeError(ErrorCode::kNotFound, "user '" + user + "' is not in the image's /etc/passwd");
  }
  if (colon != std::string::npos) {
    auto gid = resolveGroup(layerDirs, spec.substr(colon + 1));
    if (!gid) return makeError(gid.error());
    ids.gid = *gid;
  }
  ids.groups = {ids.gid};
  return ids;
}

Result<ProcessOptions> imageProcessOptions(const LaunchSpec& spec) {
  const ImageRootfs& image = *spec.rootfs;
  ProcessOptions options;
  options.argv = image.argv;
  options.pathFromEnv = true;
  std::vector<std::string> env = image.env;
  auto has = [&](const char* key) {
    for (const auto& kv : env) {
      if (kv.starts_with(std::string(key) + "=")) return true;
    }
    return false;
  };
  if (!has("PATH")) env.push_back(std::string("PATH=") + kDefaultTaskPath);
  options.cwd = image.workingDir.empty() ? kContainerSandbox : image.workingDir;
  options.stdoutPath = spec.sandbox + "/stdout";
  options.stderrPath = spec.sandbox + "/stderr";
  options.newProcessGroup = true;
  std::string home = "/root";
  if (!image.user.empty()) {
    auto user = resolveImageUser(image.layerDirs, image.user);
    if (!user) return makeError(user.error().withContext("image " + image.reference));
    home = user->home;
    if (user->uid != 0) {
      if (Status s = giveSandboxTo(spec, *user); !s) return makeError(s.error());
    }
    options.user = std::move(*user);
  }
  if (!has("HOME")) env.push_back("HOME=" + home);
  options.env = taskEnvironment(spec, env, kContainerSandbox);
  return options;
}

}  // namespace agora::agent
