#pragma once
// The agent's directories. The work dir holds what outlives a host reboot
// or is large; the runtime dir holds per-boot state (on tmpfs, e.g. under
// /run, it costs no disk I/O and is empty after a reboot):
//   WORK_DIR/executor/executor.sock                 ipc ROUTER for executors; the
//                                                   directory is the agent's only
//                                                   (0700): tasks cannot connect
//   WORK_DIR/meta/agent.ckpt                        the agent's identity
//   WORK_DIR/containers/<containerId>/rootfs/{upper,work}
//                                                   an image container's writable
//                                                   layer (moved to trash when it ends)
//   WORK_DIR/trash/                                 trees being removed in the
//                                                   background (dir_remover.hpp)
//   WORK_DIR/images/                                the image store (default)
//   WORK_DIR/mount-points/                          the shared top layer of image
//                                                   containers (makeMountPointLayer)
//   WORK_DIR/sandboxes/<frameworkId>/<taskId>/<containerId>/   stdout, stderr
//   RUNTIME_DIR/containers/<containerId>/launch.bin the container's LaunchSpec
//   RUNTIME_DIR/containers/<containerId>/{container,updates,exit}.ckpt
//                                                   recovery state (schemas/checkpoint.capnp)
//   RUNTIME_DIR/containers/<containerId>/rootfs/{merged,hostname}
//                                                   an image container's mount point
// The container functions below take either root: containerDir(workDir, id)
// and containerDir(runtimeDir, id) are the two halves of one container. The
// runtime dir may be the work dir.
// IDs are validated (validateId) before they become path components.

#include <string>

#include "common/checkpoint_file.hpp"
#include "common/result.hpp"

namespace agora::agent::paths {

std::string executorSocketDir(const std::string& workDir);
std::string executorSocket(const std::string& workDir);
// Creates (or narrows) executorSocketDir: owned by us, mode 0700.
Status makeExecutorSocketDir(const std::string& workDir);
std::string executorEndpoint(const std::string& workDir);  // "ipc://..."
std::string containersRoot(const std::string& workDir);
std::string containerDir(const std::string& workDir, const std::string& containerId);
std::string rootfsDir(const std::string& workDir, const std::string& containerId);
std::string imageStore(const std::string& workDir);
std::string trashDir(const std::string& workDir);
std::string mountPointLayer(const std::string& workDir);
std::string launchFile(const std::string& workDir, const std::string& containerId);
std::string metaDir(const std::string& workDir);
std::string agentCheckpoint(const std::string& workDir);
std::string containerCheckpoint(const std::string& workDir, const std::string& containerId);
std::string updatesCheckpoint(const std::string& workDir, const std::string& containerId);
std::string taskExitFile(const std::string& workDir, const std::string& containerId);
std::string sandboxesRoot(const std::string& workDir);
std::string sandbox(const std::string& workDir, const std::string& frameworkId,
                    const std::string& taskId, const std::string& containerId);

// mkdir -p with `mode` for created directories (common/checkpoint_file.hpp).
using agora::makeDirs;

}  // namespace agora::agent::paths
