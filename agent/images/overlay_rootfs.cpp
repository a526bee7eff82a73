#include "agent/images/overlay_rootfs.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace agora::agent::images {

namespace {

Status makeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return makeError(ErrorCode::kIo, "mkdir " + path + ": " + ec.message());
  return {};
}

Status checkOptionPath(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return makeError(ErrorCode::kInvalidArgument, "overlay path '" + path + "' is not absolute");
  }
  if (path.find_first_of(":,\\") != std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     "overlay path '" + path + "' contains ':', ',' or '\\'");
  }
  return {};
}

}  // namespace

Status mountOverlayRootfs(const OverlayRootfs& rootfs) {
  if (rootfs.layerDirs.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "overlay rootfs needs at least one layer");
  }
  std::string lower;
  // overlayfs lists the topmost lower directory first.
  for (auto it = rootfs.layerDirs.rbegin(); it != rootfs.layerDirs.rend(); ++it) {
    if (auto ok = checkOptionPath(*it); !ok) return ok;
    lower += (lower.empty() ? "" : ":") + *it;
  }
  for (const auto* path : {&rootfs.upperDir, &rootfs.workDir, &rootfs.target}) {
    if (auto ok = checkOptionPath(*path); !ok) return ok;
    if (auto ok = makeDirs(*path); !ok) return ok;
  }
  std::string options =
      "lowerdir=" + lower + ",upperdir=" + rootfs.upperDir + ",workdir=" + rootfs.workDir;
  const long page = ::sysconf(_SC_PAGESIZE);
  if (static_cast<long>(options.size()) >= page) {
    return makeError(ErrorCode::kInvalidArgument,
                     "overlay options for " + std::to_string(rootfs.layerDirs.size()) +
                         " layers take " + std::to_string(options.size()) +
                         " bytes, more than the kernel's " + std::to_string(page));
  }
  if (::mount("overlay", rootfs.target.c_str(), "overlay", MS_NODEV, options.c_str()) != 0) {
    return makeError(errnoError("mount overlay at " + rootfs.target, errno));
  }
  return {};
}

Status unmountOverlayRootfs(const std::string& target) {
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    return makeError(errnoError("unmount " + target, errno));
  }
  return {};
}

}  // namespace agora::agent::images
