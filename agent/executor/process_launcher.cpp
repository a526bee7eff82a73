#include "agent/executor/process_launcher.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "agent/executor/security_policy.hpp"

extern char** environ;

namespace agora::agent {

namespace {

const char* stepName(int step) {
  switch (step) {
    case kStepSync: return "wait for parent";
    case kStepSession: return "setsid/setpgid";
    case kStepStdin: return "redirect stdin";
    case kStepStdout: return "redirect stdout";
    case kStepStderr: return "redirect stderr";
    case kStepChdir: return "chdir";
    case kStepGroups: return "setgroups";
    case kStepGid: return "setgid";
    case kStepUid: return "setuid";
    case kStepExec: return "exec";
    case kStepJoin: return "join";
    case kStepUserIds: return "become root in the user namespace";
    case kStepHostname: return "sethostname";
    case kStepLoopback: return "bring lo up";
    case kStepFork: return "fork the command";
    case kStepRootfs: return "set up the container's filesystem";
    case kStepMountTarget: return "create a mount target";
    case kStepMount: return "mount";
    case kStepMountRemount: return "remount";
    case kStepMaskPaths: return "mask the kernel's /proc and /sys paths";
    case kStepReadOnlyPaths: return "make /proc/sys, /sys and the like read-only";
    case kStepReadOnlyRoot: return "make the root filesystem read-only";
    case kStepCapBounding: return "drop capabilities from the bounding set";
    case kStepCapabilities: return "set capabilities";
    case kStepNoNewPrivs: return "set no_new_privs";
    case kStepSeccomp: return "load the seccomp profile";
    case kStepPassFd: return "pass a descriptor";
    case kStepEnterNamespace: return "enter the task's namespaces";
  }
  return "start";
}

int openOutput(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void closeAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

void failChild(int fd, int step) { failChildAt(fd, step, -1); }

void failChildAt(int fd, int step, int detail) {
  ChildFailure e{step, errno, detail};
  ssize_t n = write(fd, &e, sizeof(e));
  (void)n;
  _exit(127);
}

Error describeChildFailure(const ChildFailure& failure, const ProcessOptions& options) {
  std::string what = stepName(failure.step);
  if (failure.step == kStepExec && !options.argv.empty()) what += " " + options.argv[0];
  if (failure.step == kStepChdir) what += " " + options.cwd;
  if (failure.step == kStepJoin && failure.detail >= 0 &&
      static_cast<size_t>(failure.detail) < options.joinFiles.size()) {
    what += " " + options.joinFiles[static_cast<size_t>(failure.detail)];
  }
  return errnoError(what, failure.err);
}

std::optional<ChildFailure> readChildFailure(int fd) {
  ChildFailure failure;
  ssize_t n;
  do {
    n = read(fd, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(failure)) return failure;
  return std::nullopt;
}

PreparedProcess::PreparedProcess(ProcessOptions options) : options_(std::move(options)) {
  for (auto& a : options_.argv) argv_.push_back(a.data());
  argv_.push_back(nullptr);
  for (auto& e : options_.env) envp_.push_back(e.data());
  envp_.push_back(nullptr);
  if (!options_.pathFromEnv || options_.argv.empty() ||
      options_.argv[0].find('/') != std::string::npos) {
    return;
  }
  std::string path;
  for (const auto& e : options_.env) {
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, end - start);
    candidates_.push_back((dir.empty() ? "." : dir) + "/" + options_.argv[0]);
    start = end + 1;
  }
}

PreparedProcess::~PreparedProcess() { closeFiles(); }

void PreparedProcess::closeFiles() {
  closeAll({nullFd_, outFd_, errOutFd_});
  nullFd_ = outFd_ = errOutFd_ = -1;
}

Result<std::unique_ptr<PreparedProcess>> PreparedProcess::create(ProcessOptions options) {
  if (options.argv.empty()) return makeError(ErrorCode::kInvalidArgument, "empty argv");
  std::unique_ptr<PreparedProcess> p(new PreparedProcess(std::move(options)));
  const ProcessOptions& o = p->options_;
  if (!o.stdoutPath.empty() && (p->outFd_ = openOutput(o.stdoutPath)) < 0) {
    return makeError(errnoError("open " + o.stdoutPath, errno));
  }
  if (!o.stderrPath.empty() && (p->errOutFd_ = openOutput(o.stderrPath)) < 0) {
    return makeError(errnoError("open " + o.stderrPath, errno));
  }
  if ((p->nullFd_ = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
    return makeError(errnoError("open /dev/null", errno));
  }
  return p;
}

void PreparedProcess::exec(int errFd) const {
  const ProcessOptions& o = options_;
  // Handlers first: a child sharing its parent's memory runs with every
  // signal blocked until they are reset.
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (o.newSession) {
    if (getsid(0) != getpid() && setsid() < 0) failChild(errFd, kStepSession);
  } else if (o.newProcessGroup && setpgid(0, 0) < 0) {
    failChild(errFd, kStepSession);
  }
  if (dup2(nullFd_, 0) < 0) failChild(errFd, kStepStdin);
  if (outFd_ >= 0 && dup2(outFd_, 1) < 0) failChild(errFd, kStepStdout);
  if (errOutFd_ >= 0 && dup2(errOutFd_, 2) < 0) failChild(errFd, kStepStderr);
  // The command gets 0-2 only: none of the executor's descriptors (log
  // files, sockets) whatever their flags; errFd closes at exec as before.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (o.passFd >= 0) {
    // errFd must stay ours (close-on-exec) when it holds the number.
    if (errFd == kPassedFd && o.passFd != kPassedFd) errFd = fcntl(errFd, F_DUPFD_CLOEXEC, 4);
    if (o.passFd == kPassedFd ? fcntl(kPassedFd, F_SETFD, 0) != 0
                              : dup2(o.passFd, kPassedFd) < 0) {
      failChild(errFd, kStepPassFd);
    }
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) failChild(errFd, kStepChdir);
  if (o.security) o.security->dropBoundingSet(errFd);
  if (o.user) {
    // Raw system calls: the child has one thread, but when it was cloned
    // (container init) glibc still believes in the parent's threads and its
    // wrappers would wait for them.
    if (syscall(SYS_setgroups, o.user->groups.size(), o.user->groups.data()) != 0) {
      failChild(errFd, kStepGroups);
    }
    if (syscall(SYS_setgid, o.user->gid) != 0) failChild(errFd, kStepGid);
    if (syscall(SYS_setuid, o.user->uid) != 0) failChild(errFd, kStepUid);
  }
  if (o.security) o.security->restrict(errFd);
  if (!candidates_.empty()) {
    // As execvp does: the first candidate that exists; ENOENT only if none does.
    int err = ENOENT;
    for (const auto& candidate : candidates_) {
      execve(candidate.c_str(), argv_.data(), envp_.data());
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    errno = err;
    failChild(errFd, kStepExec);
  }
  execvpe(argv_[0], argv_.data(), envp_.data());
  failChild(errFd, kStepExec);
}

Result<UserIds> resolveUser(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return makeError(errnoError("getpwnam " + name, rc));
  if (found == nullptr) return makeError(ErrorCode::kNotFound, "unknown user '" + name + "'");
  UserIds ids{name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir ? pw.pw_dir : ""};
  int count = 64;
  ids.groups.resize(static_cast<size_t>(count));
  if (getgrouplist(name.c_str(), pw.pw_gid, ids.groups.data(), &count) < 0) {
    ids.groups.resize(static_cast<size_t>(count));
    getgrouplist(name.c_str(), pw.pw_gid, ids.groups.data(), &count);
  }
  ids.groups.resize(static_cast<size_t>(std::max(count, 0)));
  return ids;
}

std::vector<std::string> currentEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

void joinCgroups(const std::vector<std::string>& files, int errFd) {
  for (size_t i = 0; i < files.size(); ++i) {
    int fd = open(files[i].c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) failChildAt(errFd, kStepJoin, static_cast<int>(i));
    close(fd);
  }
}

namespace {

struct ChildArgs {
  const ProcessOptions* options = nullptr;
  const PreparedProcess* prepared = nullptr;
  int syncFd = -1;  // waits for a byte on it before exec; -1: does not wait
  int syncWriteFd = -1;  // the parent's end of syncFd's pipe
  int errFd = -1;
};

// The child's side of launchProcess(). Async-signal-safe.
[[noreturn]] void runChild(const ChildArgs& a) {
  const ProcessOptions& o = *a.options;
  // Leave the session first so that the parent's hook sees the child in it.
  if (o.newSession ? setsid() < 0 : (o.newProcessGroup && setpgid(0, 0) < 0)) {
    failChild(a.errFd, kStepSession);
  }
  joinCgroups(o.joinFiles, a.errFd);
  if (a.syncFd >= 0) {
    // Only the parent may hold the write end: if it dies before releasing
    // us, the read sees end-of-file and we exit. Otherwise we would wait
    // forever holding a copy of every descriptor of the parent (an agent's
    // HTTP listener, whose port its restart then cannot bind).
    close(a.syncWriteFd);
    char go = 0;
    ssize_t n;
    do {
      n = read(a.syncFd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // the parent gave up on us
  }
  a.prepared->exec(a.errFd);
}

int childEntry(void* args) { runChild(*static_cast<const ChildArgs*>(args)); }

// Starts the child in our memory, suspending us until it has exec'd or
// exited (as posix_spawn does): nothing is copied, whereas fork() copies
// the page tables of the whole process (most of a launch once the agent
// holds a few hundred MB). Signals stay blocked until the child has reset
// their handlers, which are ours in our memory.
pid_t spawnSharingMemory(ChildArgs& args) {
  auto stack = std::make_unique_for_overwrite<char[]>(kSharedChildStackBytes);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(childEntry, stack.get() + kSharedChildStackBytes,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return pid;
}

}  // namespace

Result<pid_t> launchProcess(const ProcessOptions& o) {
  // Everything the child touches is prepared before it starts.
  auto prepared = PreparedProcess::create(o);
  if (!prepared) return makeError(prepared.error());
  int syncPipe[2] = {-1, -1}, errPipe[2] = {-1, -1};
  if ((o.beforeExec && pipe2(syncPipe, O_CLOEXEC) != 0) || pipe2(errPipe, O_CLOEXEC) != 0) {
    int err = errno;
    closeAll({syncPipe[0], syncPipe[1], errPipe[0], errPipe[1]});
    return makeError(errnoError("pipe", err));
  }
  ChildArgs args{&o, prepared->get(), syncPipe[0], syncPipe[1], errPipe[1]};
  // A parent hook needs the child waiting in a copy of our memory; without
  // one the child runs straight to exec in ours.
  pid_t pid = o.beforeExec || !kSpawnSharingMemory ? fork() : spawnSharingMemory(args);
  if (pid < 0) {
    int err = errno;
    closeAll({syncPipe[0], syncPipe[1], errPipe[0], errPipe[1]});
    return makeError(errnoError(o.beforeExec ? "fork" : "clone", err));
  }
  if (pid == 0) runChild(args);  // fork()ed
  closeAll({syncPipe[0], errPipe[1]});
  (*prepared)->closeFiles();

  auto abandon = [&](Error error) -> Result<pid_t> {
    closeAll({syncPipe[1], errPipe[0]});
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return makeError(std::move(error));
  };
  if (o.beforeExec) {
    Status hook = o.beforeExec(pid);
    if (!hook) return abandon(hook.error());
    char go = 1;
    if (write(syncPipe[1], &go, 1) != 1) return abandon(errnoError("release child", errno));
  }
  close(syncPipe[1]);
  auto failure = readChildFailure(errPipe[0]);
  close(errPipe[0]);
  if (failure) {
    waitpid(pid, nullptr, 0);
    return makeError(describeChildFailure(*failure, o));
  }
  return pid;
}

}  // namespace agora::agent
