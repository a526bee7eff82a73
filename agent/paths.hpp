#pragma once
// The agent's work directory layout:
//   WORK_DIR/executor.sock                          ipc ROUTER for executors
//   WORK_DIR/meta/agent.ckpt                        the agent's identity
//   WORK_DIR/containers/<containerId>/launch.bin    the container's LaunchSpec
//   WORK_DIR/containers/<containerId>/{container,updates,exit}.ckpt
//                                                   recovery state (schemas/checkpoint.capnp)
//   WORK_DIR/containers/<containerId>/rootfs/{upper,work,merged,hostname}
//                                                   an image container's overlay
//                                                   (removed when it ends)
//   WORK_DIR/images/                                the image store (default)
//   WORK_DIR/sandboxes/<frameworkId>/<taskId>/<containerId>/   stdout, stderr
// IDs are validated (validateId) before they become path components.

#include <string>

#include "common/result.hpp"

namespace agora::agent::paths {

std::string executorSocket(const std::string& workDir);
std::string executorEndpoint(const std::string& workDir);  // "ipc://..."
std::string containersRoot(const std::string& workDir);
std::string containerDir(const std::string& workDir, const std::string& containerId);
std::string rootfsDir(const std::string& workDir, const std::string& containerId);
std::string imageStore(const std::string& workDir);
std::string launchFile(const std::string& workDir, const std::string& containerId);
std::string metaDir(const std::string& workDir);
std::string agentCheckpoint(const std::string& workDir);
std::string containerCheckpoint(const std::string& workDir, const std::string& containerId);
std::string updatesCheckpoint(const std::string& workDir, const std::string& containerId);
std::string taskExitFile(const std::string& workDir, const std::string& containerId);
std::string sandboxesRoot(const std::string& workDir);
std::string sandbox(const std::string& workDir, const std::string& frameworkId,
                    const std::string& taskId, const std::string& containerId);

// mkdir -p with `mode` for created directories.
Status makeDirs(const std::string& path, unsigned mode = 0755);

}  // namespace agora::agent::paths
