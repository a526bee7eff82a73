#include "agent/paths.hpp"

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

}  // namespace agora::agent::paths
