#include "agent/paths.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace agora::agent::paths {

std::string executorSocket(const std::string& workDir) { return workDir + "/executor.sock"; }
std::string executorEndpoint(const std::string& workDir) {
  return "ipc://" + executorSocket(workDir);
}
std::string containersRoot(const std::string& workDir) { return workDir + "/containers"; }
std::string trashDir(const std::string& workDir) { return workDir + "/trash"; }
std::string containerDir(const std::string& workDir, const std::string& containerId) {
  return containersRoot(workDir) + "/" + containerId;
}
std::string rootfsDir(const std::string& workDir, const std::string& containerId) {
  return containerDir(workDir, containerId) + "/rootfs";
}

std::string imageStore(const std::string& workDir) { return workDir + "/images"; }
std::string mountPointLayer(const std::string& workDir) { return workDir + "/mount-points"; }

std::string launchFile(const std::string& workDir, const std::string& containerId) {
  return containerDir(workDir, containerId) + "/launch.bin";
}
std::string metaDir(const std::string& workDir) { return workDir + "/meta"; }
std::string agentCheckpoint(const std::string& workDir) { return metaDir(workDir) + "/agent.ckpt"; }
std::string containerCheckpoint(const std::string& workDir, const std::string& containerId) {
  return containerDir(workDir, containerId) + "/container.ckpt";
}
std::string updatesCheckpoint(const std::string& workDir, const std::string& containerId) {
  return containerDir(workDir, containerId) + "/updates.ckpt";
}
std::string taskExitFile(const std::string& workDir, const std::string& containerId) {
  return containerDir(workDir, containerId) + "/exit.ckpt";
}
std::string sandboxesRoot(const std::string& workDir) { return workDir + "/sandboxes"; }
std::string sandbox(const std::string& workDir, const std::string& frameworkId,
                    const std::string& taskId, const std::string& containerId) {
  return sandboxesRoot(workDir) + "/" + frameworkId + "/" + taskId + "/" + containerId;
}

Status makeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return makeError(ErrorCode::kInvalidArgument, "empty path");
  // The directory itself first: on a launch's path its parents exist, and
  // one mkdir beats one per component.
  bool created = mkdir(path.c_str(), mode) == 0;
  if (!created && errno == ENOENT) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) return makeError(errnoError("mkdir " + path, ENOENT));
    if (Status parent = makeDirs(path.substr(0, slash), mode); !parent) return parent;
    created = mkdir(path.c_str(), mode) == 0;
  }
  if (created) return {};
  if (errno != EEXIST) return makeError(errnoError("mkdir " + path, errno));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return makeError(errnoError("stat " + path, errno));
  if (!S_ISDIR(st.st_mode))
    return makeError(ErrorCode::kAlreadyExists, path + " is not a directory");
  return {};
}

}  // namespace agora::agent::paths
