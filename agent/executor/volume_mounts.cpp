#include "agent/executor/volume_mounts.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "common/fd.hpp"

namespace agora::agent {

namespace {

constexpr uid_t kNoUid = static_cast<uid_t>(-1);

// Flags of the mount at `path` that a bind remount must keep (in a user
// namespace the kernel refuses to drop the locked ones).
unsigned long keptFlags(const char* path) {
  struct statfs fs;
  if (statfs(path, &fs) != 0) return 0;
  unsigned long kept = 0;
  if (fs.f_flags & ST_RDONLY) kept |= MS_RDONLY;
  if (fs.f_flags & ST_NOEXEC) kept |= MS_NOEXEC;
  if (fs.f_flags & ST_NOATIME) kept |= MS_NOATIME;
  if (fs.f_flags & ST_NODIRATIME) kept |= MS_NODIRATIME;
  if (fs.f_flags & ST_RELATIME) kept |= MS_RELATIME;
  return kept;
}

// Opens `name` under `dir` without following it, creating it when asked.
int openComponent(int dir, const char* name, bool create, bool asFile, uid_t uid, gid_t gid) {
  int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  int made;
  if (asFile) {
    made = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (made >= 0) close(made);
  } else {
    made = mkdirat(dir, name, 0755);
  }
  if (made < 0 && errno != EEXIST) return -1;
  if (made >= 0 && uid != kNoUid && fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return -1;
  }
  return openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

int openBeneath(int dirFd, const char* path, bool create, bool leafIsFile, uid_t uid, gid_t gid) {
  int cur = -1;  // owned once a component has been opened
  char name[NAME_MAX + 1];
  const char* p = path;
  for (;;) {
    while (*p == '/') ++p;
    if (*p == '\0') break;
    size_t len = 0;
    while (p[len] != '\0' && p[len] != '/') ++len;
    int err = 0;
    if (len > NAME_MAX) err = ENAMETOOLONG;
    if (len == 2 && p[0] == '.' && p[1] == '.') err = EXDEV;  // never leave the directory
    if (err != 0) {
      if (cur >= 0) close(cur);
      errno = err;
      return -1;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    p += len;
    while (*p == '/') ++p;
    bool leaf = *p == '\0';
    if (len == 1 && name[0] == '.') continue;
    int next = openComponent(cur >= 0 ? cur : dirFd, name, create, leaf && leafIsFile, uid, gid);
    struct stat st;
    if (next >= 0 && fstat(next, &st) != 0) err = errno;
    if (next < 0) err = errno;
    if (err == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
    if (err == 0 && !leaf && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    if (cur >= 0) close(cur);
    cur = next;
    if (err != 0) {
      if (cur >= 0) close(cur);
      errno = err;
      return -1;
    }
  }
  return cur >= 0 ? cur : fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
}

Result<std::unique_ptr<PreparedMounts>> PreparedMounts::create(
    const std::vector<MountEntry>& mounts, const std::string& hostSandbox, const MountRoots& roots,
    const MountOwner& owner) {
  std::unique_ptr<PreparedMounts> out(new PreparedMounts());
  if (mounts.empty()) return out;
  Fd sandbox{open(hostSandbox.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (sandbox.fd < 0) return makeError(errnoError("open the sandbox " + hostSandbox, errno));
  out->entries_ = mounts;
  // A deque never moves its strings, so the C pointers stay valid.
  auto strings = std::make_unique<std::deque<std::string>>();
  auto keep = [&](std::string s) { return strings->emplace_back(std::move(s)).c_str(); };
  for (const MountEntry& m : mounts) {
    auto fail = [&](Error e) { return makeError(e.withContext(m.description)); };
    if (m.source.empty() || m.target.empty()) {
      return fail(Error{ErrorCode::kInvalidArgument, "a mount needs a source and a target"});
    }
    PreparedMount p;
    bool sourceIsFile = false;
    std::string source = m.source;
    if (m.isBind() && m.source[0] == '/') {
      struct stat st;
      if (stat(m.source.c_str(), &st) != 0) return fail(errnoError("stat " + m.source, errno));
      sourceIsFile = !S_ISDIR(st.st_mode);
    } else if (m.isBind()) {
      Fd fd{openBeneath(sandbox.fd, m.source.c_str(), true, false, owner.uid, owner.gid)};
      struct stat st;
      if (fd.fd < 0 || fstat(fd.fd, &st) != 0) {
        return fail(
            errnoError("open " + m.source + " in the sandbox (no symlinks allowed)", errno));
      }
      sourceIsFile = !S_ISDIR(st.st_mode);
      source = hostSandbox + "/" + m.source;
    }
    p.source = keep(source);
    p.type = m.isBind() ? nullptr : keep(m.type);
    p.flags = m.flags;
    std::string data = m.options;
    if (m.type == "tmpfs" && owner.tmpfsIds) {
      data += (data.empty() ? "" : ",") + std::string("uid=") + std::to_string(owner.uid) +
              ",gid=" + std::to_string(owner.gid);
    }
    p.data = data.empty() ? nullptr : keep(data);
    if (m.target[0] != '/') {
      Fd fd{openBeneath(sandbox.fd, m.target.c_str(), true, sourceIsFile, owner.uid, owner.gid)};
      if (fd.fd < 0) {
        return fail(
            errnoError("create " + m.target + " in the sandbox (no symlinks allowed)", errno));
      }
      p.target = keep(roots.sandbox + "/" + m.target);
    } else if (roots.root == "/") {
      struct stat st;
      if (stat(m.target.c_str(), &st) != 0) {
        return fail(errnoError(
            "container path " + m.target + " (without an image it must exist on the host)", errno));
      }
      p.target = keep(m.target);
    } else {
      p.rootDir = keep(roots.root);
      p.inRoot = keep(m.target.substr(1));
      p.targetIsFile = sourceIsFile;
      p.target = keep(roots.root + m.target);
    }
    out->mounts_.push_back(p);
  }
  out->strings_ = std::move(strings);
  return out;
}

void PreparedMounts::apply(int errFd) const {
  for (size_t i = 0; i < mounts_.size(); ++i) {
    const PreparedMount& m = mounts_[i];
    int index = static_cast<int>(i);
    if (m.rootDir != nullptr) {
      int root = open(m.rootDir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      int target = root < 0 ? -1 : openBeneath(root, m.inRoot, true, m.targetIsFile, kNoUid, 0);
      if (target < 0) failChildAt(errFd, kStepMountTarget, index);
      close(target);
      close(root);
    }
    if (m.type != nullptr) {
      if (mount(m.source, m.target, m.type, m.flags, m.data) != 0) {
        failChildAt(errFd, kStepMount, index);
      }
      continue;
    }
    // Not recursive: mounts below the source stay out (a read-only
    // remount would not reach them).
    if (mount(m.source, m.target, nullptr, MS_BIND, nullptr) != 0) {
      failChildAt(errFd, kStepMount, index);
    }
    unsigned long flags = MS_BIND | MS_REMOUNT | m.flags | keptFlags(m.target);
    if (mount(nullptr, m.target, nullptr, flags, nullptr) != 0) {
      failChildAt(errFd, kStepMountRemount, index);
    }
  }
}

bool PreparedMounts::isMountStep(int step) {
  return step == kStepMountTarget || step == kStepMount || step == kStepMountRemount;
}

Error PreparedMounts::describeFailure(const ChildFailure& failure) const {
  if (failure.detail < 0 || static_cast<size_t>(failure.detail) >= mounts_.size()) {
    return errnoError("mount", failure.err);
  }
  const PreparedMount& m = mounts_[static_cast<size_t>(failure.detail)];
  std::string what;
  switch (failure.step) {
    case kStepMountTarget:
      what = std::string("create mount target ") + m.target + " (no symlinks allowed)";
      break;
    case kStepMount:
      what = m.type == nullptr ? std::string("bind ") + m.source + " on " + m.target
                               : std::string("mount ") + m.type + " on " + m.target;
      break;
    default:
      what = std::string("remount ") + m.target + " nosuid,nodev" +
             ((m.flags & MS_RDONLY) ? ",ro" : "");
  }
  return errnoError(what, failure.err)
      .withContext(entries_[static_cast<size_t>(failure.detail)].description);
}

Status linkSandboxMounts(const std::vector<MountEntry>& mounts, const std::string& sandbox,
                         const std::optional<MountOwner>& owner) {
  if (mounts.empty()) return {};
  Fd root{open(sandbox.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (root.fd < 0) return makeError(errnoError("open the sandbox " + sandbox, errno));
  uid_t uid = owner ? owner->uid : kNoUid;
  gid_t gid = owner ? owner->gid : 0;
  for (const MountEntry& m : mounts) {
    auto fail = [&](Error e) { return makeError(e.withContext(m.description)); };
    bool linkable = m.isBind() && !m.source.empty() && !m.target.empty() && m.target[0] != '/' &&
                    (m.flags & MS_RDONLY) == 0;
    if (!linkable) {
      return fail(Error{ErrorCode::kFailedPrecondition,
                        "needs the namespaces isolation, which this agent does not use"});
    }
    bool hostSource = m.source[0] == '/';  // a directory the agent made (persistent volume)
    if (!hostSource) {
      Fd source{openBeneath(root.fd, m.source.c_str(), true, false, uid, gid)};
      if (source.fd < 0) {
        return fail(
            errnoError("open " + m.source + " in the sandbox (no symlinks allowed)", errno));
      }
    }
    std::string parent = parentOf(m.target);
    Fd dir{openBeneath(root.fd, parent.c_str(), true, false, uid, gid)};
    if (dir.fd < 0) {
      return fail(errnoError("create " + parent + " in the sandbox (no symlinks allowed)", errno));
    }
    std::string link;
    for (char c : m.target) {
      if (c == '/' && !hostSource) link += "../";
    }
    link += m.source;
    std::string leaf = m.target.substr(parent.empty() ? 0 : parent.size() + 1);
    if (symlinkat(link.c_str(), dir.fd, leaf.c_str()) != 0) {
      return fail(errnoError("link " + m.target + " to " + link, errno));
    }
    if (uid != kNoUid && fchownat(dir.fd, leaf.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(errnoError("chown " + m.target, errno));
    }
  }
  return {};
}

}  // namespace agora::agent
