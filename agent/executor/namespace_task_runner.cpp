#include "agent/executor/namespace_task_runner.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "agent/executor/container_init.hpp"
#include "agent/executor/image_process.hpp"
#include "agent/executor/posix_task_runner.hpp"
#include "agent/executor/secret_files.hpp"
#include "agent/executor/security_policy.hpp"

namespace agora::agent {

namespace {

constexpr const char* kUserNamespaceDefaultUser = "nobody";

// Init runs little on it: its own calls plus the command's exec path.
constexpr size_t kInitStackBytes = 256 * 1024;

void closeAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

// The pipes between the executor and init; each closes what is still open.
struct InitPipes {
  int sync[2] = {-1, -1};
  int err[2] = {-1, -1};
  int status[2] = {-1, -1};
  ~InitPipes() { closeAll({sync[0], sync[1], err[0], err[1], status[0], status[1]}); }
  Status open() {
    if (pipe2(sync, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
        pipe2(status, O_CLOEXEC | O_NONBLOCK) != 0) {
      return makeError(errnoError("pipe", errno));
    }
    return {};
  }
  void closeChildEnds() {
    closeAll({sync[0], err[1], status[1]});
    sync[0] = err[1] = status[1] = -1;
  }
  int takeStatus() {
    int fd = status[0];
    status[0] = -1;
    return fd;
  }
};

void fillKeep(ContainerInitConfig& config, const InitPipes& pipes, const PreparedProcess& command) {
  std::vector<int> keep = {0, 1, 2, pipes.sync[0], pipes.err[1], pipes.status[1]};
  for (int fd : command.files()) {
    if (fd >= 0) keep.push_back(fd);
  }
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  config.keepCount = static_cast<int>(keep.size());
  std::copy(keep.begin(), keep.end(), config.keep);
}

// The host user that root inside a user namespace is: the command's user, or
// nobody. The task then runs as root inside, so no switch happens there.
Result<UserIds> userNamespaceOwner(const LaunchSpec& spec, ProcessOptions& options) {
  if (options.user) {
    UserIds owner = std::move(*options.user);
    options.user.reset();
    return owner;
  }
  auto nobody = resolveUser(kUserNamespaceDefaultUser);
  if (!nobody) return makeError(nobody.error().withContext("user namespace"));
  if (Status s = giveSandboxTo(spec, *nobody); !s) return makeError(s.error());
  return nobody;
}

Status writeFile(const std::string& path, const std::string& text, int extraFlags = 0) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | extraFlags, 0644);
  if (fd < 0) return makeError(errnoError("open " + path, errno));
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  close(fd);
  if (!ok) return makeError(errnoError("write " + path, err));
  return {};
}

// Root inside the user namespace of `pid` is `owner` on the host.
Status mapRootTo(pid_t pid, const UserIds& owner) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (Status s = writeFile(proc + "/uid_map", "0 " + std::to_string(owner.uid) + " 1\n"); !s) {
    return s;
  }
  return writeFile(proc + "/gid_map", "0 " + std::to_string(owner.gid) + " 1\n");
}

bool isUnder(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// SANDBOX/tmp, the task's own /tmp: sticky and writable by all as a /tmp
// is, owned by `owner`. One already there (from a fetched artifact) must be
// a directory, never a link out of the sandbox.
Status makeSandboxTmp(const std::string& sandbox, const MountOwner& owner) {
  const std::string path = sandbox + "/" + kSandboxTmpDir;
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return makeError(errnoError("mkdir " + path, errno));
  }
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return makeError(errnoError("open " + path + " (the task's /tmp)", errno));
  bool ok = fchown(fd, owner.uid, owner.gid) == 0 && fchmod(fd, 01777) == 0;
  int err = errno;
  close(fd);
  if (!ok)
    return makeError(errnoError("give " + path + " to uid " + std::to_string(owner.uid), err));
  return {};
}

// Whether the running kernel has the mqueue filesystem.
bool kernelHasMqueue() {
  static const bool has = [] {
    std::ifstream in("/proc/filesystems");
    for (std::string line; std::getline(in, line);) {
      if (line.ends_with("\tmqueue")) return true;
    }
    return false;
  }();
  return has;
}

// Without an image: its own /dev (a privileged task keeps the host's, with
// its own /dev/shm) and, unless a volume is its /tmp, its /tmp in the
// sandbox (made here), with what under the host's /tmp it must still reach
// there. Where the host's /tmp is a link the task keeps the host's,
// read-only under its read-only root.
Status planHostView(const LaunchSpec& spec, int flags, const MountOwner& owner,
                    RootfsOptions& options) {
  struct stat st;
  options.isolateDevices = !spec.task.container.privileged;
  options.privateShm = !options.isolateDevices && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode);
  char tmp[PATH_MAX];
  if (realpath("/tmp", tmp) == nullptr || std::string(tmp) != "/tmp") return {};
  char real[PATH_MAX];
  if (realpath(spec.sandbox.c_str(), real) == nullptr) {
    return makeError(errnoError("realpath " + spec.sandbox, errno));
  }
  const std::string sandbox = real;
  // In a user namespace init enters the sandbox first (see release()) and
  // may not reach it by path.
  bool isInitCwd = (flags & CLONE_NEWUSER) != 0;
  std::vector<KeptPath> kept;
  if (isUnder(sandbox, "/tmp")) kept.push_back(KeptPath{sandbox, false, isInitCwd});
  for (const MountEntry& m : spec.mounts) {
    if (m.target.empty() || m.target[0] != '/') continue;       // in the sandbox: comes with it
    if (realpath(m.target.c_str(), real) == nullptr) continue;  // PreparedMounts reports it
    const std::string target = real;
    if (target == "/tmp") return {};  // the task has its own /tmp already
    // What lies in a kept path comes with it (the binds are recursive).
    bool inKept = false;
    for (const KeptPath& k : kept) inKept |= isUnder(target, k.path);
    if (isUnder(target, "/tmp") && !inKept && stat(real, &st) == 0) {
      kept.push_back(KeptPath{target, !S_ISDIR(st.st_mode)});
    }
  }
  if (Status s = makeSandboxTmp(sandbox, owner); !s) return s;
  options.tmpSource = isInitCwd ? std::string(kSandboxTmpDir) : sandbox + "/" + kSandboxTmpDir;
  options.keptUnderTmp = std::move(kept);
  return {};
}

// The mount sequence of the container; with an image, its overlay dirs and
// hostname file are made here first.
Result<RootfsPlan> prepareRootfs(const LaunchSpec& spec, int flags, const std::string& hostname,
                                 const MountOwner& owner) {
  RootfsOptions options;
  options.sandbox = spec.sandbox;
  options.ownNetwork = (flags & CLONE_NEWNET) != 0;
  options.mqueue = kernelHasMqueue();
  if (!spec.rootfs) {
    if (Status s = planHostView(spec, flags, owner, options); !s) return makeError(s.error());
    return planRootfs(options);
  }
  const ImageRootfs& image = *spec.rootfs;
  if ((flags & CLONE_NEWUSER) != 0) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "image " + image.reference + ": images in a user namespace are not supported");
  }
  std::error_code ec;
  // A writable layer in memory: init makes upper/work in its tmpfs.
  std::vector<std::string> dirs = {image.mountPoint};
  if (image.memoryLayerDir.empty()) {
    dirs.insert(dirs.end(), {image.upperDir, image.workDir});
  } else {
    dirs.push_back(image.memoryLayerDir);
  }
  for (const std::string& dir : dirs) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(ErrorCode::kIo, "mkdir " + dir + ": " + ec.message());
  }
  options.image = &image;
  options.hostnameFile = std::filesystem::path(image.mountPoint).parent_path() / "hostname";
  if (Status s = writeFile(options.hostnameFile, hostname + "\n", O_CREAT | O_TRUNC); !s) {
    return makeError(s.error());
  }
  return planRootfs(options);
}

// Who owns what the container's mounts create: the host user a user
// namespace's root maps to, else the task's user (root when unset).
MountOwner mountOwnerFor(const std::optional<UserIds>& owner, const ProcessOptions& options) {
  if (owner) return MountOwner{owner->uid, owner->gid, false};
  if (options.user) return MountOwner{options.user->uid, options.user->gid, true};
  return MountOwner{0, 0, false};
}

}  // namespace

std::string defaultHostname(const std::string& containerId) {
  std::string name;
  for (char c : containerId) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') name.push_back(c);
  }
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && name.back() == '-') name.pop_back();
  while (!name.empty() && name.front() == '-') name.erase(name.begin());
  return name.empty() ? "container" : name;
}

Result<int> namespaceFlags(const ContainerInfo& container) {
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  switch (container.networkMode) {
    case NetworkMode::HOST:
      break;
    case NetworkMode::NONE:
      flags |= CLONE_NEWNET;
      break;
    case NetworkMode::BRIDGE:
      return makeError(ErrorCode::kFailedPrecondition,
                       "network mode bridge is not supported by this agent yet");
  }
  if (container.userNamespace) flags |= CLONE_NEWUSER;
  return flags;
}

namespace {

// Ends an init that will not be used; returns `error`.
Error abandonInit(pid_t pid, Error error) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return error;
}

}  // namespace

// Init cloned and released to build the container and exec the command;
// what it reports is read by finish().
struct NamespaceTaskRunner::Released {
  pid_t pid = 0;
  InitPipes pipes;
  std::optional<RootfsPlan> rootfs;
  std::unique_ptr<PreparedMounts> mounts;
  std::unique_ptr<PreparedProcess> command;
  std::string cwd;
};

NamespaceTaskRunner::NamespaceTaskRunner(ChildReaper& reaper) : reaper_(reaper) {}
NamespaceTaskRunner::~NamespaceTaskRunner() = default;

void NamespaceTaskRunner::begin(const LaunchSpec& spec) {
  if (!begun_) begun_ = release(spec);
}

Result<pid_t> NamespaceTaskRunner::start(const LaunchSpec& spec, ExitHandler onExit) {
  auto released = begun_ ? std::move(*begun_) : release(spec);
  begun_.reset();
  if (!released) return makeError(released.error());
  return finish(**released, std::move(onExit));
}

Result<std::unique_ptr<NamespaceTaskRunner::Released>> NamespaceTaskRunner::release(
    const LaunchSpec& spec) {
  const ContainerInfo& container = spec.task.container;
  auto flags = namespaceFlags(container);
  if (!flags) return makeError(flags.error());
  auto options = spec.rootfs ? imageProcessOptions(spec) : taskProcessOptions(spec);
  if (!options) return makeError(options.error());
  auto out = std::make_unique<Released>();
  std::optional<UserIds> owner;
  if (container.userNamespace && !spec.rootfs) {
    auto found = userNamespaceOwner(spec, *options);
    if (!found) return makeError(found.error());
    owner = std::move(*found);
    std::swap(out->cwd, options->cwd);  // init enters it while still privileged
  }
  std::string hostname =
      container.hostname.empty() ? defaultHostname(spec.containerId) : container.hostname;
  const MountOwner mountOwner = mountOwnerFor(owner, *options);
  if (Status s = writeSecretFiles(spec.sandbox, spec.task.secrets, mountOwner.uid, mountOwner.gid);
      !s) {
    return makeError(s.error());
  }
  auto rootfs = prepareRootfs(spec, *flags, hostname, mountOwner);
  if (!rootfs) return makeError(rootfs.error());
  out->rootfs.emplace(std::move(*rootfs));
  // Volumes go in before pivot_root: into the image's rootfs (its sandbox
  // being the bound copy there), or onto the host's tree.
  MountRoots roots{out->rootfs->root(),
                   spec.rootfs ? out->rootfs->root() + kContainerSandbox : spec.sandbox};
  auto mounts = PreparedMounts::create(spec.mounts, spec.sandbox, roots, mountOwner);
  if (!mounts) return makeError(mounts.error());
  out->mounts = std::move(*mounts);
  // The sandbox as the task sees it: the read-only root keeps it writable.
  std::optional<HostView> hostView;
  if (!spec.rootfs) {
    const auto& steps = out->rootfs->steps();
    auto planned = [&](MountStep::Kind kind, const char* target) {
      return std::any_of(steps.begin(), steps.end(), [&](const MountStep& s) {
        return s.kind == kind && (target == nullptr || s.target == target);
      });
    };
    hostView = HostView{planned(MountStep::Kind::kPrivateTmp, nullptr),
                        /*sandboxIsCwd=*/owner.has_value(),
                        /*ownDev=*/planned(MountStep::Kind::kMount, "dev")};
  }
  auto security =
      SecurityPolicy::create(container, spec.rootfs ? std::string(kContainerSandbox) : spec.sandbox,
                             spec.mounts, spec.seccomp ? &*spec.seccomp : nullptr, hostView);
  if (!security) return makeError(security.error().withContext("container security"));
  std::shared_ptr<const SecurityPolicy> policy = std::move(*security);
  options->security = policy;
  auto command = PreparedProcess::create(std::move(*options));
  if (!command) return makeError(command.error());
  out->command = std::move(*command);
  InitPipes& pipes = out->pipes;
  if (Status s = pipes.open(); !s) return makeError(s.error());
  ContainerInitConfig config;
  config.command = out->command.get();
  config.rootfs = &*out->rootfs;
  config.syncFd = pipes.sync[0];
  config.errFd = pipes.err[1];
  config.statusFd = pipes.status[1];
  config.hostname = hostname.c_str();
  config.loopbackUp = (*flags & CLONE_NEWNET) != 0;
  config.becomeRoot = owner.has_value();
  config.cwd = out->cwd.empty() ? nullptr : out->cwd.c_str();
  config.mounts = spec.mounts.empty() ? nullptr : out->mounts.get();
  config.security = policy.get();
  fillKeep(config, pipes, *out->command);

  // Init works on its own copy of this memory: the stack can go once cloned.
  auto stack = std::make_unique_for_overwrite<char[]>(kInitStackBytes);
  pid_t pid = clone(containerInit, stack.get() + kInitStackBytes, *flags | SIGCHLD, &config);
  if (pid < 0) return makeError(errnoError("clone the container's namespaces", errno));
  out->pid = pid;
  pipes.closeChildEnds();
  out->command->closeFiles();

  if (owner) {
    if (Status s = mapRootTo(pid, *owner); !s) {
      return makeError(abandonInit(pid, s.error().withContext("map the user namespace")));
    }
  }
  char go = 1;
  if (write(pipes.sync[1], &go, 1) != 1) {
    return makeError(abandonInit(pid, errnoError("release init", errno)));
  }
  // With an image, init's rootfs (overlay, /dev, pivot_root: milliseconds)
  // is the launch's path: let it start before our own (ZeroMQ), for which it
  // otherwise waited about 1 ms for a CPU. Without one, init has little to
  // do and our start is the path: yielding there measured slower.
  if (spec.rootfs) sched_yield();
  return out;
}

Result<pid_t> NamespaceTaskRunner::finish(Released& released, ExitHandler onExit) {
  pid_t pid = released.pid;
  auto abandon = [&](Error error) -> Result<pid_t> {
    return makeError(abandonInit(pid, std::move(error)));
  };
  if (auto failure = readChildFailure(released.pipes.err[0])) {
    if (failure->step == kStepRootfs) {
      return abandon(errnoError(released.rootfs->describe(failure->detail), failure->err));
    }
    if (PreparedMounts::isMountStep(failure->step)) {
      return abandon(released.mounts->describeFailure(*failure));
    }
    ProcessOptions described = released.command->options();
    if (!released.cwd.empty()) described.cwd = released.cwd;
    return abandon(describeChildFailure(*failure, described));
  }
  command_ = released.command->options();
  int statusFd = released.pipes.takeStatus();
  reaper_.watch(pid, [statusFd, onExit = std::move(onExit)](int initStatus) {
    int commandStatus = 0;
    bool reported = read(statusFd, &commandStatus, sizeof(commandStatus)) ==
                    static_cast<ssize_t>(sizeof(commandStatus));
    close(statusFd);
    // Without a report init itself was killed (SIGKILL from the kill path).
    onExit(reported ? commandStatus : initStatus);
  });
  return pid;
}

void NamespaceTaskRunner::signalGroup(pid_t pgid, int signal) {
  if (pgid > 0) kill(pgid, signal);
}

}  // namespace agora::agent
