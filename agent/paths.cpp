#include "agent/paths.hpp"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

namespace agora::agent::paths {

std::string executorSocketDir(const std::string& workDir) { return workDir + "/executor"; }
std::string executorSocket(const std::string& workDir) {
  return executorSocketDir(workDir) + "/executor.sock";
}
Status makeExecutorSocketDir(const std::string& workDir) {
  const std::string dir = executorSocketDir(workDir);
  if (Status s = makeDirs(dir, 0700); !s) return s;
  // An older or hand-made directory may be wider: tasks must not reach the socket.
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return makeError(errnoError("stat " + dir, errno));
  if (!S_ISDIR(st.st_mode)) {
    return makeError(ErrorCode::kFailedPrecondition, dir + " is not a directory");
  }
  if (st.st_uid != geteuid() && chown(dir.c_str(), geteuid(), getegid()) != 0) {
    return makeError(errnoError("chown " + dir, errno));
  }
  if ((st.st_mode & 07777) != 0700 && chmod(dir.c_str(), 0700) != 0) {
    return makeError(errnoError("chmod 0700 " + dir, errno));
  }
  return {};
}
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

}  // namespace agora::agent::paths
