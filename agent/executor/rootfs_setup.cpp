#include "agent/executor/rootfs_setup.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "agent/executor/process_launcher.hpp"
#include "agent/executor/volume_mounts.hpp"

namespace agora::agent {

namespace {

using Kind = MountStep::Kind;

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000  // linux/fcntl.h; glibc may lack it
#endif

constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// ---- init side: async-signal-safe only ----

// "/proc/self/fd/N" into `buf` (at least 32 bytes).
const char* fdPath(int fd, char* buf) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0);
  const char prefix[] = "/proc/self/fd/";
  memcpy(buf, prefix, sizeof(prefix) - 1);
  char* out = buf + sizeof(prefix) - 1;
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
  return buf;
}

// Opens directory `name` under `dir` without following a symlink, creating
// it when missing. Closes `dir`. -1 with errno on failure.
int enterDir(int dir, const char* name, bool create) {
  int next = openat(dir, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
  if (next < 0 && errno == ENOENT && create && mkdirat(dir, name, 0755) == 0) {
    next = openat(dir, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
  }
  int err = errno;
  close(dir);
  errno = err;
  return next;
}

// Opens file `name` under `dir` as a mount point: created when missing, and
// a symlink there is replaced by an empty file (it is the container's copy).
int openFile(int dir, const char* name) {
  int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
    close(fd);
    fd = -1;
    if (unlinkat(dir, name, 0) != 0) return -1;
    errno = ENOENT;
  }
  if (fd < 0 && errno == ENOENT) {
    int created = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (created < 0) return -1;
    close(created);
    fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  return fd;
}

enum class Leaf { kDir, kFile, kParent };

// Walks `rel` under `root` (see the header). kParent opens the directory
// holding the last component and points `*leaf` at that component.
int openInRoot(const char* root, const char* rel, Leaf want, const char** leaf = nullptr) {
  int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char name[256];
  const char* p = rel;
  while (dir >= 0 && *p != '\0') {
    const char* start = p;
    const char* end = p;
    while (*end != '\0' && *end != '/') ++end;
    size_t len = static_cast<size_t>(end - p);
    const bool last = *end == '\0';
    if (len >= sizeof(name)) {
      close(dir);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    p = last ? end : end + 1;
    if (len == 0 || (len == 1 && name[0] == '.')) continue;
    if (len == 2 && name[0] == '.' && name[1] == '.') {  // would climb out of the root
      close(dir);
      errno = EINVAL;
      return -1;
    }
    if (last && want == Leaf::kParent) {
      *leaf = start;
      return dir;
    }
    if (last && want == Leaf::kFile) {
      int fd = openFile(dir, name);
      int err = errno;
      close(dir);
      errno = err;
      return fd;
    }
    dir = enterDir(dir, name, true);
  }
  return dir;
}

// Sets `attrs` (MOUNT_ATTR_*) on the mount `fd` is the root of.
bool setMountAttrs(int fd, uint64_t attrs, bool recursive) {
  mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.attr_set = attrs;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  return syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof(attr)) == 0;
}

bool pivotInto(const char* root) {
  if (chdir(root) != 0) return false;
  if (syscall(SYS_pivot_root, ".", ".") != 0) return false;
  // The old root is stacked under the new one at "/": detach it.
  if (umount2(".", MNT_DETACH) != 0) return false;
  return chdir("/") == 0;
}

// The step's source (the sandbox's tmp) bound at its target, nosuid and
// nodev, with each carried path bound back in from a descriptor opened
// before the bind hid it (recursively: the volumes made inside them come
// along).
bool privateTmp(const MountStep& s, const char* root) {
  int held[MountStep::kMaxCarried + 1];
  size_t opened = 0;
  auto closeHeld = [&] {
    int err = errno;
    for (size_t i = 0; i < opened; ++i) close(held[i]);
    errno = err;
  };
  // A relative source is in init's working directory (the sandbox).
  held[opened] = open(s.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (held[opened] < 0) return false;
  ++opened;
  int rootFd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootFd < 0) {
    closeHeld();
    return false;
  }
  for (size_t i = 0; i < s.carried.size() && i < MountStep::kMaxCarried; ++i, ++opened) {
    // The parent resolved them (realpath); nothing in them has run yet.
    const KeptPath& kept = s.carried[i];
    held[opened] = kept.isInitCwd
                       ? open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)
                       : openat(rootFd, kept.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (held[opened] < 0) {
      closeHeld();
      int err = errno;
      close(rootFd);
      errno = err;
      return false;
    }
  }
  close(rootFd);
  char path[32], from[32];
  auto bindAt = [&](int source, const char* rel, bool file) {
    int target = openInRoot(root, rel, file ? Leaf::kFile : Leaf::kDir);
    bool ok = target >= 0 && mount(fdPath(source, from), fdPath(target, path), nullptr,
                                   MS_BIND | MS_REC, nullptr) == 0;
    if (target >= 0) {
      int err = errno;
      close(target);
      errno = err;
    }
    return ok;
  };
  bool ok = bindAt(held[0], s.target.c_str(), false);
  if (ok) {
    // Opened again: the walk now ends on the bind just made.
    int tmp = openInRoot(root, s.target.c_str(), Leaf::kDir);
    ok = tmp >= 0 && setMountAttrs(tmp, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
    if (tmp >= 0) {
      int err = errno;
      close(tmp);
      errno = err;
    }
  }
  for (size_t i = 1; ok && i < opened; ++i) {
    const KeptPath& kept = s.carried[i - 1];
    ok = bindAt(held[i], kept.path.c_str(), kept.file);
  }
  closeHeld();
  return ok;
}

// A detached clone of the host's `s.source` into held[s.slot].
bool hold(const MountStep& s, int* held) {
  if (s.slot < 0 || s.slot >= MountStep::kMaxHeld || held[s.slot] >= 0) {
    errno = EINVAL;
    return false;
  }
  held[s.slot] = static_cast<int>(
      syscall(SYS_open_tree, AT_FDCWD, s.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  return held[s.slot] >= 0;
}

// The clone held in held[s.slot] moved onto `target` (an O_PATH descriptor).
bool moveHeld(const MountStep& s, int* held, int target) {
  if (s.slot < 0 || s.slot >= MountStep::kMaxHeld || held[s.slot] < 0) {
    errno = EINVAL;
    return false;
  }
  bool ok = syscall(SYS_move_mount, held[s.slot], "", target, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0;
  int err = errno;
  close(held[s.slot]);
  held[s.slot] = -1;
  errno = err;
  return ok;
}

// `held`: the clones kHold steps keep, kMaxHeld slots (-1: empty).
bool runStep(const MountStep& s, const char* root, int* held) {
  char path[32];
  const char* t = s.target.c_str();
  switch (s.kind) {
    case Kind::kMakePrivate:
      return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    case Kind::kMemoryLayer:
      return mount("tmpfs", s.source.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, s.data.c_str()) == 0;
    case Kind::kHostMkdir:
      return mkdir(s.source.c_str(), 0755) == 0;
    case Kind::kOverlay:
      if (mount("overlay", root, "overlay", s.flags, s.data.c_str()) == 0) return true;
      return errno == EINVAL && !s.fallbackData.empty() &&
             mount("overlay", root, "overlay", s.flags, s.fallbackData.c_str()) == 0;
    case Kind::kPivotRoot:
      return pivotInto(root);
    case Kind::kPrivateTmp:
      return privateTmp(s, root);
    case Kind::kHold:
      return hold(s, held);
    case Kind::kVolumes:
      return true;  // run() makes them
    case Kind::kSymlink: {
      const char* leaf = nullptr;
      int dir = openInRoot(root, t, Leaf::kParent, &leaf);
      if (dir < 0) return false;
      bool ok = symlinkat(s.source.c_str(), dir, leaf) == 0;
      int err = errno;
      close(dir);
      errno = err;
      return ok;
    }
    default:
      break;
  }
  int fd = openInRoot(root, t, s.file ? Leaf::kFile : Leaf::kDir);
  if (fd < 0) return false;
  bool ok = true;
  if (s.kind == Kind::kMount) {
    ok = mount(s.source.c_str(), fdPath(fd, path), s.fstype.c_str(), s.flags,
               s.data.empty() ? nullptr : s.data.c_str()) == 0;
  } else if (s.kind == Kind::kBind && s.slot >= 0) {
    ok = moveHeld(s, held, fd);
  } else if (s.kind == Kind::kBind) {
    ok = mount(s.source.c_str(), fdPath(fd, path), nullptr, MS_BIND | s.flags, nullptr) == 0;
  } else if (s.kind == Kind::kReadOnly) {
    ok = setMountAttrs(fd, MOUNT_ATTR_RDONLY, s.recursive);
  } else if (s.kind == Kind::kNoDev) {
    ok = setMountAttrs(fd, MOUNT_ATTR_NODEV, s.recursive);
  }
  int err = errno;
  close(fd);
  errno = err;
  return ok;
}

// ---- parent side ----

MountStep step(Kind kind, std::string what, std::string target) {
  MountStep s;
  s.kind = kind;
  s.what = std::move(what);
  s.target = std::move(target);
  return s;
}

MountStep fresh(const char* fstype, const std::string& target, unsigned long flags,
                std::string data) {
  MountStep s = step(Kind::kMount, std::string("mount ") + fstype + " at /" + target, target);
  s.source = fstype;
  s.fstype = fstype;
  s.flags = flags;
  s.data = std::move(data);
  return s;
}

MountStep bindMount(const std::string& source, const std::string& target, bool file,
               unsigned long flags = 0) {
  MountStep s = step(Kind::kBind, "bind " + source + " at /" + target, target);
  s.source = source;
  s.file = file;
  s.flags = flags;
  return s;
}

MountStep readOnly(const std::string& target, bool file, bool recursive) {
  MountStep s = step(Kind::kReadOnly, "make /" + target + " read-only", target);
  s.file = file;
  s.recursive = recursive;
  return s;
}

Result<std::string> overlayData(const ImageRootfs& image) {
  std::string lower;
  for (auto it = image.layerDirs.rbegin(); it != image.layerDirs.rend(); ++it) {
    lower += (lower.empty() ? "" : ":") + *it;  // topmost first
  }
  std::string data = "lowerdir=" + lower + ",upperdir=" + image.upperDir +
                     ",workdir=" + image.workDir;
  for (const std::string* path : {&image.upperDir, &image.workDir}) {
    if (path->find_first_of(":,\\") != std::string::npos) {
      return makeError(ErrorCode::kInvalidArgument, "overlay dir '" + *path +
                                                        "' contains ':', ',' or '\\'");
    }
  }
  if (data.size() >= static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    return makeError(ErrorCode::kInvalidArgument,
                     "overlay options for " + std::to_string(image.layerDirs.size()) +
                         " layers exceed the kernel's page");
  }
  return data;
}

MountStep noDev(const std::string& target, bool recursive) {
  MountStep s =
      step(Kind::kNoDev,
           target.empty() ? std::string("make every mount nodev") : "make /" + target + " nodev",
           target);
  s.recursive = recursive;
  return s;
}

// Clones of the host's device nodes for addDev(), taken while they are
// reachable and as the host mounts them.
void addDevSources(RootfsPlan& plan) {
  int slot = 0;
  for (const char* name : kDevNodes) {
    std::string source = std::string("/dev/") + name;
    MountStep s = step(Kind::kHold, "clone the host's " + source, "");
    s.source = std::move(source);
    s.slot = slot++;
    plan.add(std::move(s));
  }
  static_assert(std::size(kDevNodes) <= MountStep::kMaxHeld);
}

// The container's /dev (see the header); REQUIRES: addDevSources() before.
void addDev(RootfsPlan& plan, bool mqueue) {
  plan.add(fresh("tmpfs", "dev", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k"));
  int slot = 0;
  for (const char* name : kDevNodes) {
    std::string target = std::string("dev/") + name;
    MountStep s = bindMount("/" + target, target, /*file=*/true);
    s.what = "bind the host's /" + target + " at /" + target;
    s.slot = slot++;
    plan.add(std::move(s));
  }
  plan.add(fresh("devpts", "dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
  plan.add(fresh("tmpfs", "dev/shm", kNoSuidDevExec, "mode=1777,size=65536k"));
  if (mqueue) plan.add(fresh("mqueue", "dev/mqueue", kNoSuidDevExec, ""));
  const std::pair<const char*, const char*> links[] = {{"dev/ptmx", "pts/ptmx"},
                                                       {"dev/fd", "/proc/self/fd"},
                                                       {"dev/stdin", "/proc/self/fd/0"},
                                                       {"dev/stdout", "/proc/self/fd/1"},
                                                       {"dev/stderr", "/proc/self/fd/2"}};
  for (const auto& [target, link] : links) {
    MountStep s = step(Kind::kSymlink, std::string("symlink /") + target, target);
    s.source = link;
    plan.add(std::move(s));
  }
}

void addImageMounts(RootfsPlan& plan, const RootfsOptions& o) {
  addDevSources(plan);
  addDev(plan, o.mqueue);
  if (o.ownNetwork) {
    plan.add(fresh("sysfs", "sys", kNoSuidDevExec | MS_RDONLY, ""));
  } else {
    plan.add(bindMount("/sys", "sys", /*file=*/false, MS_REC));
    plan.add(readOnly("sys", /*file=*/false, /*recursive=*/true));
  }
  plan.add(fresh("tmpfs", "tmp", MS_NOSUID | MS_NODEV, "mode=1777"));
  std::string sandbox = std::string(kContainerSandbox).substr(1);
  plan.add(bindMount(o.sandbox, sandbox, /*file=*/false, MS_REC));
  // It lies on a host filesystem: a device node made there (CAP_MKNOD)
  // would open the host's disks.
  plan.add(noDev(sandbox, /*recursive=*/true));
  // Like Docker: the host's resolver files, the container's own hostname.
  std::vector<std::pair<std::string, std::string>> etc = {{"/etc/hosts", "etc/hosts"},
                                                          {"/etc/resolv.conf", "etc/resolv.conf"}};
  if (!o.hostnameFile.empty()) etc.emplace_back(o.hostnameFile, "etc/hostname");
  for (const auto& [source, target] : etc) {
    if (access(source.c_str(), R_OK) != 0) continue;
    plan.add(bindMount(source, target, /*file=*/true));
    plan.add(readOnly(target, /*file=*/true, /*recursive=*/false));
  }
  const std::string& workingDir = o.image->workingDir;
  if (size_t start = workingDir.find_first_not_of('/'); start != std::string::npos) {
    plan.add(step(Kind::kMkdir, "create the working directory " + workingDir,
                  workingDir.substr(start)));
  }
}

}  // namespace

std::string RootfsPlan::describe(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= steps_.size()) return "set up the rootfs";
  return steps_[static_cast<size_t>(index)].what;
}

void RootfsPlan::run(int errFd, const PreparedMounts* volumes) const {
  const char* root = root_.c_str();
  int held[MountStep::kMaxHeld];
  for (int& fd : held) fd = -1;
  bool volumesDone = volumes == nullptr;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!volumesDone && steps_[i].kind == MountStep::Kind::kVolumes) {
      volumes->apply(errFd);
      volumesDone = true;
    }
    if (!runStep(steps_[i], root, held)) failChildAt(errFd, kStepRootfs, static_cast<int>(i));
  }
  if (!volumesDone) volumes->apply(errFd);
  for (int fd : held) {
    if (fd >= 0) close(fd);
  }
}

// The writable layer in memory: a tmpfs only this mount namespace sees,
// holding the overlay's upper and work dirs.
void addMemoryLayer(RootfsPlan& plan, const ImageRootfs& image) {
  MountStep layer =
      step(Kind::kMemoryLayer, "mount the writable layer (tmpfs) at " + image.memoryLayerDir, "");
  layer.source = image.memoryLayerDir;
  layer.data = "mode=755";
  if (image.memoryLayerBytes > 0) layer.data += ",size=" + std::to_string(image.memoryLayerBytes);
  plan.add(std::move(layer));
  for (const std::string* dir : {&image.upperDir, &image.workDir}) {
    MountStep made = step(Kind::kHostMkdir, "create " + *dir, "");
    made.source = *dir;
    plan.add(std::move(made));
  }
}

Result<RootfsPlan> planRootfs(const RootfsOptions& o) {
  RootfsPlan plan(o.image ? o.image->mountPoint : "/");
  plan.add(step(Kind::kMakePrivate, "make / rprivate", ""));
  if (o.image) {
    if (!o.image->memoryLayerDir.empty()) addMemoryLayer(plan, *o.image);
    auto data = overlayData(*o.image);
    if (!data) return makeError(data.error().withContext("image " + o.image->reference));
    MountStep overlay = step(Kind::kOverlay, "mount the overlay rootfs of image " +
                                                 o.image->reference + " at " + plan.root(), "");
    // volatile (Linux 5.10+): the upper dir is discarded with the container,
    // so its unmount need not sync the whole upper filesystem.
    overlay.data = *data + ",volatile";
    overlay.fallbackData = std::move(*data);
    overlay.flags = MS_NODEV;  // device nodes come from our /dev only
    plan.add(std::move(overlay));
  }
  plan.add(fresh("proc", "proc", kNoSuidDevExec, ""));
  // SEAM security: masks of /proc paths go here, right after /proc.
  if (o.image) {
    addImageMounts(plan, o);
    plan.add(step(Kind::kVolumes, "make the volumes", ""));
    plan.add(step(Kind::kPivotRoot, "pivot_root into " + plan.root(), ""));
    return plan;
  }
  if (o.isolateDevices) {
    // A read-only mount does not stop writes to a device node: nodev does.
    addDevSources(plan);
    plan.add(noDev("", /*recursive=*/true));
    addDev(plan, o.mqueue);
  } else if (o.privateShm) {
    // The host's /dev/shm is the host's (POSIX shared memory is not namespaced).
    plan.add(fresh("tmpfs", "dev/shm", kNoSuidDevExec, "mode=1777,size=65536k"));
  }
  plan.add(step(Kind::kVolumes, "make the volumes", ""));
  if (!o.tmpSource.empty()) {
    if (o.keptUnderTmp.size() > MountStep::kMaxCarried) {
      return makeError(ErrorCode::kInvalidArgument,
                       std::to_string(o.keptUnderTmp.size()) + " paths under /tmp to keep, over " +
                           std::to_string(MountStep::kMaxCarried));
    }
    MountStep tmp = step(Kind::kPrivateTmp, "bind " + o.tmpSource + " at /tmp", "tmp");
    tmp.source = o.tmpSource;
    for (const KeptPath& kept : o.keptUnderTmp) {
      size_t start = kept.path.find_first_not_of('/');
      KeptPath rel = kept;
      rel.path = start == std::string::npos ? "" : kept.path.substr(start);
      tmp.carried.push_back(std::move(rel));
      tmp.what += (tmp.carried.size() == 1 ? ", keeping " : ", ") + kept.path;
    }
    plan.add(std::move(tmp));
  }
  return plan;
}

Status makeMountPointLayer(const std::string& dir) {
  // The targets planRootfs() mounts on in every image container.
  const std::string sandbox = std::string(kContainerSandbox).substr(1);
  for (const std::string& sub : {std::string("proc"), std::string("dev"), std::string("sys"),
                                 std::string("tmp"), sandbox, std::string("etc")}) {
    std::error_code ec;
    std::filesystem::create_directories(dir + "/" + sub, ec);
    if (ec) return makeError(ErrorCode::kIo, "mkdir " + dir + "/" + sub + ": " + ec.message());
  }
  for (const char* file : {"etc/hosts", "etc/resolv.conf", "etc/hostname"}) {
    std::string path = dir + "/" + file;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return makeError(errnoError("create " + path, errno));
    close(fd);
  }
  return {};
}

}  // namespace agora::agent
