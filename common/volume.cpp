#include "common/volume.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace agora {

namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.push_back(std::move(part));
    start = end + 1;
  }
  return out;
}

// Empty when `path` is usable; else why not.
std::string pathProblem(const std::string& path, bool wantAbsolute) {
  if (path.empty()) return "is empty";
  if (path.size() > kMaxVolumePathLength) return "is longer than 4096 characters";
  if (path.find('\0') != std::string::npos) return "holds a NUL character";
  bool absolute = path[0] == '/';
  if (wantAbsolute && !absolute) return "must be absolute";
  if (!wantAbsolute && absolute) return "must be relative to the sandbox";
  auto parts = components(path);
  for (const auto& part : parts) {
    if (part == "..") return "must not contain '..'";
  }
  if (parts.empty()) return absolute ? "must not be '/'" : "must name a path inside the sandbox";
  return "";
}

const char* sourceName(Volume::Source source) {
  switch (source) {
    case Volume::Source::kHostPath: return "host path";
    case Volume::Source::kTmpfs: return "tmpfs";
    case Volume::Source::kSandboxPath: return "sandbox path";
  }
  return "unknown";
}

}  // namespace

std::string Volume::describe() const {
  std::string what = sourceName(source);
  if (source == Source::kTmpfs) {
    what += " " + std::to_string(tmpfsSizeMb) + " MB";
  } else {
    what += " " + path;
  }
  return "volume '" + containerPath + "' (" + what + (readOnly() ? ", ro)" : ")");
}

Volume Volume::hostPath(std::string host, std::string container, bool readOnly) {
  return Volume{std::move(container), readOnly ? VolumeMode::RO : VolumeMode::RW,
                Source::kHostPath, std::move(host), 0};
}

Volume Volume::tmpfs(std::string container, uint64_t sizeMb) {
  return Volume{std::move(container), VolumeMode::RW, Source::kTmpfs, "", sizeMb};
}

Volume Volume::sandboxPath(std::string inSandbox, std::string container, bool readOnly) {
  return Volume{std::move(container), readOnly ? VolumeMode::RO : VolumeMode::RW,
                Source::kSandboxPath, std::move(inSandbox), 0};
}

std::string normalizeVolumePath(const std::string& path) {
  std::string out;
  for (const auto& part : components(path)) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return !path.empty() && path[0] == '/' ? "/" + out : out;
}

Status validateVolume(const Volume& volume) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, volume.describe() + ": " + why);
  };
  if (auto why = pathProblem(volume.containerPath, volume.containerPath.starts_with("/"));
      !why.empty()) {
    return bad("container path " + why);
  }
  switch (volume.source) {
    case Volume::Source::kHostPath:
      if (auto why = pathProblem(volume.path, true); !why.empty()) return bad("host path " + why);
      break;
    case Volume::Source::kSandboxPath:
      if (auto why = pathProblem(volume.path, false); !why.empty()) {
        return bad("sandbox path " + why);
      }
      break;
    case Volume::Source::kTmpfs:
      if (volume.tmpfsSizeMb == 0 || volume.tmpfsSizeMb > kMaxTmpfsMb) {
        return bad("tmpfs size must be 1-" + std::to_string(kMaxTmpfsMb) + " MB");
      }
      break;
  }
  return {};
}

Status validateContainerPath(const std::string& path) {
  if (auto why = pathProblem(path, path.starts_with("/")); !why.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "container path '" + path + "' " + why);
  }
  return {};
}

Status validateVolumes(const std::vector<Volume>& volumes) {
  if (volumes.size() > kMaxVolumes) {
    return makeError(ErrorCode::kInvalidArgument, std::to_string(volumes.size()) +
                                                      " volumes; at most " +
                                                      std::to_string(kMaxVolumes) + " allowed");
  }
  std::set<std::string> seen;
  for (const Volume& volume : volumes) {
    if (Status s = validateVolume(volume); !s) return s;
    if (!seen.insert(normalizeVolumePath(volume.containerPath)).second) {
      return makeError(ErrorCode::kInvalidArgument,
                       volume.describe() + ": another volume uses the same container path");
    }
  }
  return {};
}

void toCapnp(const Volume& in, schema::Volume::Builder out) {
  out.setContainerPath(in.containerPath);
  out.setMode(in.mode);
  auto source = out.initSource();
  switch (in.source) {
    case Volume::Source::kHostPath: source.setHostPath(in.path); break;
    case Volume::Source::kTmpfs: source.initTmpfs().setSizeMb(in.tmpfsSizeMb); break;
    case Volume::Source::kSandboxPath: source.setSandboxPath(in.path); break;
  }
}

Result<Volume> fromCapnp(schema::Volume::Reader in) {
  Volume out;
  out.containerPath = in.getContainerPath();
  out.mode = in.getMode();
  if (out.mode != VolumeMode::RW && out.mode != VolumeMode::RO) {
    return makeError(ErrorCode::kInvalidArgument,
                     "volume '" + out.containerPath + "': unknown mode");
  }
  auto source = in.getSource();
  switch (source.which()) {
    case schema::Volume::Source::HOST_PATH:
      out.source = Volume::Source::kHostPath;
      out.path = source.getHostPath();
      break;
    case schema::Volume::Source::TMPFS:
      out.source = Volume::Source::kTmpfs;
      out.tmpfsSizeMb = source.getTmpfs().getSizeMb();
      break;
    case schema::Volume::Source::SANDBOX_PATH:
      out.source = Volume::Source::kSandboxPath;
      out.path = source.getSandboxPath();
      break;
    default:
      return makeError(ErrorCode::kInvalidArgument,
                       "volume '" + out.containerPath + "': unknown source");
  }
  return out;
}

nlohmann::json toJson(const Volume& volume) {
  nlohmann::json out = {{"container_path", volume.containerPath},
                        {"mode", volume.readOnly() ? "ro" : "rw"}};
  switch (volume.source) {
    case Volume::Source::kHostPath: out["host_path"] = volume.path; break;
    case Volume::Source::kTmpfs: out["tmpfs_size_mb"] = volume.tmpfsSizeMb; break;
    case Volume::Source::kSandboxPath: out["sandbox_path"] = volume.path; break;
  }
  return out;
}

}  // namespace agora
