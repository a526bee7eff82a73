#pragma once
// The mount sequence container init runs in its new mount namespace, as an
// ordered list of steps built in the parent (every string prepared there) and
// run by init with async-signal-safe calls only.
//
// With an image (RootfsOptions::image), in this order:
//   1. make / rprivate (nothing propagates back to the host)
//   2. mount the overlay rootfs (image layers + the container's upper/work;
//      volatile where the kernel has it; nodev); a writable layer in memory
//      (ImageRootfs::memoryLayerDir) is a tmpfs mounted first, holding
//      upper/work
//   3. /proc                    <- SEAM security: mask /proc paths right after
//   4. the container's /dev (below), /sys read-only, /tmp tmpfs (nosuid, nodev)
//   5. the sandbox at /mnt/agora/sandbox (nodev); /etc/hosts, /etc/resolv.conf
//      (the host's) and /etc/hostname (the container's) read-only; the
//      WorkingDir
//                               <- volumes (PreparedMounts), made by run()
//   6. pivot_root into the rootfs and detach the old root
// Without an image (root() is "/"): steps 1 and 3; with
// RootfsOptions::isolateDevices every mount of the host made nodev and the
// container's /dev over the host's (otherwise, optionally, a private
// /dev/shm); the volumes seam, then (RootfsOptions::tmpSource) a private
// /tmp: the sandbox's tmp directory bound over the host's /tmp (nosuid,
// nodev), into which the sandbox and any volume under the host's /tmp are
// bound back (from descriptors opened before it hides them).
//
// The container's /dev: a tmpfs (nosuid, nodev) holding the host's null,
// zero, full, random, urandom and tty bound in (kDevNodes; a bind keeps its
// source's mount flags, so these open while nothing else made there does),
// a devpts of its own (newinstance) with ptmx, a private /dev/shm tmpfs, the
// container's mqueue where the kernel has it, and the fd, stdin, stdout,
// stderr links. The nodes are cloned (open_tree) before anything is made
// nodev or hidden, then moved into place.
// Capabilities and seccomp come later, just before exec (SEAM security in
// PreparedProcess::exec).
//
// Every target is a path relative to the root, walked one component at a
// time without following symbolic links (missing directories and mount
// point files are created), so an image cannot redirect a mount onto the
// host with a symlink. Mounts then go through /proc/self/fd/N.

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "common/result.hpp"

namespace agora::agent {

class PreparedMounts;

// Where inside an image container the sandbox is (AGORA_SANDBOX).
inline constexpr const char* kContainerSandbox = "/mnt/agora/sandbox";

// A path under the host's /tmp that a task without an image keeps in its
// own /tmp (RootfsOptions::keptUnderTmp).
struct KeptPath {
  std::string path;  // absolute, resolved (MountStep::carried: relative to the root)
  bool file = false;
  // Opened as init's working directory (init entered it while still
  // privileged: in a user namespace the path may be closed to it).
  bool isInitCwd = false;
  bool operator==(const KeptPath&) const = default;
};

struct MountStep {
  enum class Kind {
    kMakePrivate,  // / and everything under it rprivate
    kMemoryLayer,  // a tmpfs at host path `source`, options in `data`
    kHostMkdir,    // host path `source` (its parent exists), mode 0755
    kOverlay,      // overlayfs at the root (a host path), options in `data`
    kMount,        // a fresh `fstype` at target (a directory)
    kBind,         // host `source` (or the clone held in `slot`) onto target (a
                   // file when `file`), MS_REC in flags
    kReadOnly,     // the mount at target read-only (all below it when `recursive`)
    kNoDev,        // the mount at target nodev (all below it when `recursive`)
    kHold,         // a detached clone of host path `source`, kept in slot `slot`
    kSymlink,      // target -> source
    kMkdir,        // target and its parents
    kPivotRoot,    // into the root; the old root detached
    kVolumes,      // the volumes (PreparedMounts) are made here
    kPrivateTmp,   // `source` bound at target, `carried` bound back in
  };
  Kind kind = Kind::kMkdir;
  std::string what;    // for errors: "mount tmpfs at /dev"
  std::string source;
  std::string target;  // relative to the root ("dev/null"); kOverlay: unused
  std::string fstype;
  std::string data;
  std::string fallbackData;  // kOverlay: retried with these when the kernel refuses `data`
  unsigned long flags = 0;
  bool file = false;
  bool recursive = false;
  int slot = -1;  // kHold, kBind: a clone held by run(), below kMaxHeld
  static constexpr int kMaxHeld = 8;
  // kPrivateTmp: paths under target as the host has them (relative to the
  // root), at most kMaxCarried.
  std::vector<KeptPath> carried;
  static constexpr size_t kMaxCarried = 32;
};

class RootfsPlan {
 public:
  // `root`: absolute; "/" for the host's filesystem.
  explicit RootfsPlan(std::string root) : root_(std::move(root)) {}
  RootfsPlan(const RootfsPlan&) = delete;
  RootfsPlan& operator=(const RootfsPlan&) = delete;
  RootfsPlan(RootfsPlan&&) = default;

  void add(MountStep step) { steps_.push_back(std::move(step)); }
  const std::string& root() const { return root_; }
  const std::vector<MountStep>& steps() const { return steps_; }
  // "mount proc at /proc" for a step index reported by run().
  std::string describe(int index) const;

  // Init side: runs every step, making `volumes` (may be null) at the
  // kVolumes step (at the end without one). A failed step is reported on errFd
  // as a ChildFailure (kStepRootfs, errno, the step's index) and ends init.
  // Async-signal-safe.
  void run(int errFd, const PreparedMounts* volumes) const;

 private:
  std::string root_;
  std::vector<MountStep> steps_;
};

struct RootfsOptions {
  const ImageRootfs* image = nullptr;  // null: the host's filesystem
  std::string sandbox;                 // host path
  std::string hostnameFile;            // host file holding the container's hostname
  bool ownNetwork = false;             // fresh sysfs instead of a bind of the host's
  // Without an image: the directory bound at /tmp as the task's own (the
  // sandbox's tmp; a relative path is in init's working directory); empty:
  // the host's /tmp.
  std::string tmpSource = {};
  // Without an image: host paths under /tmp the task must still reach there
  // (its sandbox, volume targets).
  std::vector<KeptPath> keptUnderTmp = {};
  bool privateShm = false;  // without an image: a /dev/shm of its own (the host has one)
  // Without an image: the container's /dev instead of the host's, and every
  // mount of the host nodev: no device node opens but those of kDevNodes.
  bool isolateDevices = false;
  bool mqueue = false;  // the container's /dev gets an mqueue (the kernel has it)
};

// The host's device nodes the container's /dev holds.
inline constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Images and user namespaces do not combine yet: the layers and the
// container's overlay dirs belong to the host's root.

Result<RootfsPlan> planRootfs(const RootfsOptions& options);

// Creates under `dir` the directories and empty files an image container's
// mounts go on (proc, dev, sys, tmp, the sandbox, etc/hosts, etc/resolv.conf,
// etc/hostname): a read-only lower layer shared by every container, on top of
// the image's (like Docker's init layer), so that starting a container
// creates nothing in its upper dir. Adds only what is missing: the layer must
// not change under running containers.
Status makeMountPointLayer(const std::string& dir);

}  // namespace agora::agent
