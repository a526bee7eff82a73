#include "agent/persistent_volumes.hpp"

#include <glog/logging.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "agent/executor/process_launcher.hpp"
#include "agent/paths.hpp"
#include "common/volume.hpp"

namespace agora::agent {

namespace {

std::string describe(const PersistentVolume& volume) {
  return "persistent volume '" + volume.disk.id + "' at '" + volume.disk.containerPath + "'";
}

// Makes the volume's directory, owned by the task's user, when missing.
Status makeVolumeDir(const std::string& dir, const TaskInfo& task) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return makeError(ErrorCode::kFailedPrecondition, dir + " exists and is not a directory");
    }
    return {};
  }
  std::string parent = dir.substr(0, dir.rfind('/'));
  if (Status s = paths::makeDirs(parent, 0755); !s) return s;
  if (mkdir(dir.c_str(), 0755) != 0) return makeError(errnoError("mkdir " + dir, errno));
  if (!task.command.user.empty()) {
    auto user = resolveUser(task.command.user);
    if (!user) return makeError(user.error().withContext("owner of " + dir));
    if (chown(dir.c_str(), user->uid, user->gid) != 0) {
      return makeError(errnoError("chown " + dir, errno));
    }
  }
  LOG(INFO) << "created the directory of persistent volume " << dir;
  return {};
}

}  // namespace

std::string persistentVolumeDir(const std::string& workDir, const PersistentVolume& volume) {
  std::string role = volume.reservation.role;
  std::replace(role.begin(), role.end(), '/', ' ');
  return workDir + "/volumes/roles/" + role + "/" + volume.disk.id;
}

Result<std::vector<MountEntry>> persistentVolumeMounts(const TaskInfo& task,
                                                       const std::string& workDir,
                                                       bool namespaces) {
  std::vector<MountEntry> mounts;
  for (const PersistentVolume& volume : task.resources.volumeList()) {
    const DiskPersistence& disk = volume.disk;
    auto fail = [&](const Error& error) { return makeError(error.withContext(describe(volume))); };
    if (Status s = validatePersistenceId(disk.id); !s) return fail(s.error());
    if (Status s = validateContainerPath(disk.containerPath); !s) return fail(s.error());
    bool relative = disk.containerPath[0] != '/';
    if (!namespaces && (!relative || disk.readOnly)) {
      return fail(Error{ErrorCode::kFailedPrecondition,
                        "needs the namespaces isolation, which this agent does not use "
                        "(without it only read-write volumes at relative container paths work)"});
    }
    std::string dir = persistentVolumeDir(workDir, volume);
    if (Status s = makeVolumeDir(dir, task); !s) return fail(s.error());
    MountEntry m;
    m.source = dir;
    m.target = normalizeVolumePath(disk.containerPath);
    m.flags = MS_NOSUID | MS_NODEV | (disk.readOnly ? MS_RDONLY : 0);
    m.description = describe(volume);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

Status deletePersistentVolume(const std::string& workDir, const PersistentVolume& volume) {
  if (Status s = validatePersistenceId(volume.disk.id); !s) return s;
  std::string dir = persistentVolumeDir(workDir, volume);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // removes symlinks, never what they point to
  if (ec) return makeError(ErrorCode::kInternal, "remove " + dir + ": " + ec.message());
  LOG(INFO) << "deleted " << describe(volume) << " (" << dir << ")";
  return {};
}

}  // namespace agora::agent
