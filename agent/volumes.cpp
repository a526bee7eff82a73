#include "agent/volumes.hpp"

#include <stdlib.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <memory>

namespace agora::agent {

namespace {

Result<std::string> canonical(const std::string& path) {
  std::unique_ptr<char, decltype(&free)> resolved(realpath(path.c_str(), nullptr), &free);
  if (!resolved) return makeError(errnoError("resolve " + path, errno));
  return std::string(resolved.get());
}

bool isUnder(const std::string& path, const std::string& dir) {
  return dir == "/" || path == dir || path.starts_with(dir + "/");
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

size_t depth(const std::string& path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

Result<MountEntry> mountFor(const Volume& volume, const VolumeContext& context) {
  MountEntry m;
  m.target = normalizeVolumePath(volume.containerPath);
  m.flags = MS_NOSUID | MS_NODEV | (volume.readOnly() ? MS_RDONLY : 0);
  m.description = volume.describe();
  switch (volume.source) {
    case Volume::Source::kHostPath: {
      auto resolved = context.hostPaths.resolve(volume.path);
      if (!resolved) return makeError(resolved.error());
      m.source = std::move(*resolved);
      break;
    }
    case Volume::Source::kSandboxPath:
      m.source = normalizeVolumePath(volume.path);
      break;
    case Volume::Source::kTmpfs:
      m.source = "tmpfs";
      m.type = "tmpfs";
      m.options = "size=" + std::to_string(volume.tmpfsSizeMb) + "m,mode=0755";
      break;
  }
  return m;
}

}  // namespace

Result<HostPathPolicy> HostPathPolicy::parse(const std::string& flag) {
  HostPathPolicy policy;
  size_t start = 0;
  while (start <= flag.size()) {
    size_t end = flag.find(',', start);
    if (end == std::string::npos) end = flag.size();
    std::string entry = flag.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    if (entry[0] != '/') {
      return makeError(ErrorCode::kInvalidArgument,
                       "allowed host path '" + entry + "' is not absolute");
    }
    auto resolved = canonical(entry);
    if (!resolved) return makeError(resolved.error().withContext("allowed host path"));
    policy.allowed_.push_back(std::move(*resolved));
  }
  return policy;
}

Result<std::string> HostPathPolicy::resolve(const std::string& hostPath) const {
  if (allowed_.empty()) {
    return makeError(ErrorCode::kPermissionDenied,
                     "host path " + hostPath +
                         " is refused: this agent allows no host paths (--allowed-host-paths "
                         "is empty)");
  }
  auto resolved = canonical(hostPath);
  if (!resolved) return makeError(resolved.error().withContext("host path"));
  for (const auto& dir : allowed_) {
    if (isUnder(*resolved, dir)) return resolved;
  }
  std::string shown = *resolved == hostPath ? hostPath : hostPath + " (resolved: " + *resolved + ")";
  return makeError(ErrorCode::kPermissionDenied,
                   "host path " + shown + " is not under an allowed host path (--allowed-host-paths: " +
                       joined(allowed_) + ")");
}

Result<std::vector<MountEntry>> resolveVolumes(const std::vector<Volume>& volumes,
                                               const VolumeContext& context,
                                               std::vector<MountEntry> made) {
  if (Status s = validateVolumes(volumes); !s) return makeError(s.error());
  std::vector<MountEntry> mounts;
  for (const MountEntry& m : made) {
    bool clash = std::any_of(volumes.begin(), volumes.end(), [&](const Volume& v) {
      return normalizeVolumePath(v.containerPath) == m.target;
    });
    clash = clash || std::count_if(made.begin(), made.end(), [&](const MountEntry& other) {
                       return other.target == m.target;
                     }) > 1;
    if (clash) {
      return makeError(ErrorCode::kInvalidArgument,
                       m.description + ": another volume has the container path " + m.target);
    }
    if (m.target[0] == '/' && isUnder(context.sandbox, m.target)) {
      return makeError(ErrorCode::kInvalidArgument,
                       m.description + ": would hide the task's sandbox " + context.sandbox);
    }
  }
  for (const Volume& volume : volumes) {
    bool linkable = volume.source == Volume::Source::kSandboxPath && volume.inSandbox() &&
                    !volume.readOnly();
    if (!context.namespaces && !linkable) {
      return makeError(ErrorCode::kFailedPrecondition,
                       volume.describe() +
                           ": needs the namespaces isolation, which this agent does not use "
                           "(without it only read-write sandbox-path volumes at relative "
                           "container paths work)");
    }
    std::string target = normalizeVolumePath(volume.containerPath);
    if (!volume.inSandbox() && isUnder(context.sandbox, target)) {
      return makeError(ErrorCode::kInvalidArgument,
                       volume.describe() + ": would hide the task's sandbox " + context.sandbox);
    }
    auto mount = mountFor(volume, context);
    if (!mount) return makeError(mount.error().withContext(volume.describe()));
    mounts.push_back(std::move(*mount));
  }
  std::move(made.begin(), made.end(), std::back_inserter(mounts));
  // The container's root first, then the sandbox; parents before children.
  std::stable_sort(mounts.begin(), mounts.end(), [](const MountEntry& a, const MountEntry& b) {
    bool aRoot = a.target[0] == '/', bRoot = b.target[0] == '/';
    if (aRoot != bRoot) return aRoot;
    return depth(a.target) < depth(b.target);
  });
  return mounts;
}

}  // namespace agora::agent
