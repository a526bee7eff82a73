#pragma once
// The agent's side of persistent volumes (schemas/PROTOCOL.md, "Persistent
// volumes"). A volume's data lives in WORK_DIR/volumes/roles/ROLE/ID (ROLE
// with each '/' as ' ', which no role name holds), made on the first launch
// of a task that has the volume in its resources and owned by that task's
// user. It is mounted through the task's mount list, outlives the task and
// the agent's restarts, and is deleted only when the master reports the
// volume destroyed and no container uses it: the agent needs no copy of the
// master's registry to keep the data.
//
// Thread: the agent's loop thread.

#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "common/model.hpp"
#include "common/resources.hpp"

namespace agora::agent {

std::string persistentVolumeDir(const std::string& workDir, const PersistentVolume& volume);

// The mounts for the persistent volumes in `task.resources`, making each
// volume's directory if missing. Each is a bind of the directory at the
// volume's container path (nosuid, nodev; read-only for mode RO). Without
// namespaces only read-write volumes at relative container paths work (the
// executor links them into the sandbox).
Result<std::vector<MountEntry>> persistentVolumeMounts(const TaskInfo& task,
                                                       const std::string& workDir,
                                                       bool namespaces);

// Deletes the volume's directory (never following a symlink out of it).
// A missing directory is not an error.
Status deletePersistentVolume(const std::string& workDir, const PersistentVolume& volume);

}  // namespace agora::agent
