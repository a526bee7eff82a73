#include "agent/executor/process_launcher.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

extern char** environ;

namespace agora::agent {

namespace {

// Child-side failure report: which step failed and its errno.
enum Step : int {
  kSync = 1,
  kSession,
  kStdin,
  kStdout,
  kStderr,
  kChdir,
  kGroups,
  kGid,
  kUid,
  kExec
};

const char* stepName(int step) {
  switch (step) {
    case kSync:
      return "wait for parent";
    case kSession:
      return "setsid/setpgid";
    case kStdin:
      return "redirect stdin";
    case kStdout:
      return "redirect stdout";
    case kStderr:
      return "redirect stderr";
    case kChdir:
      return "chdir";
    case kGroups:
      return "setgroups";
    case kGid:
      return "setgid";
    case kUid:
      return "setuid";
    case kExec:
      return "exec";
  }
  return "start";
}

struct ChildError {
  int step = 0;
  int err = 0;
};

[[noreturn]] void childFail(int fd, int step) {
  ChildError e{step, errno};
  ssize_t n = write(fd, &e, sizeof(e));
  (void)n;
  _exit(127);
}

int openOutput(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void closeAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

// In the child, after fork: only async-signal-safe calls.
[[noreturn]] void runChild(const ProcessOptions& o, char** argv, char** envp, int syncFd, int errFd,
                           int nullFd, int outFd, int errOutFd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  if (o.newSession) {
    if (setsid() < 0) childFail(errFd, kSession);
  } else if (o.newProcessGroup && setpgid(0, 0) < 0) {
    childFail(errFd, kSession);
  }
  char go = 0;
  ssize_t n;
  do {
    n = read(syncFd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(127);  // the parent gave up on us
  if (dup2(nullFd, 0) < 0) childFail(errFd, kStdin);
  if (outFd >= 0 && dup2(outFd, 1) < 0) childFail(errFd, kStdout);
  if (errOutFd >= 0 && dup2(errOutFd, 2) < 0) childFail(errFd, kStderr);
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) childFail(errFd, kChdir);
  if (o.user) {
    if (setgroups(o.user->groups.size(), o.user->groups.data()) != 0) childFail(errFd, kGroups);
    if (setgid(o.user->gid) != 0) childFail(errFd, kGid);
    if (setuid(o.user->uid) != 0) childFail(errFd, kUid);
  }
  execvpe(argv[0], argv, envp);
  childFail(errFd, kExec);
}

}  // namespace

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

Result<pid_t> launchProcess(const ProcessOptions& o) {
  if (o.argv.empty()) return makeError(ErrorCode::kInvalidArgument, "empty argv");
  // Everything the child touches is prepared before fork.
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int outFd = -1, errOutFd = -1;
  if (!o.stdoutPath.empty() && (outFd = openOutput(o.stdoutPath)) < 0) {
    return makeError(errnoError("open " + o.stdoutPath, errno));
  }
  if (!o.stderrPath.empty() && (errOutFd = openOutput(o.stderrPath)) < 0) {
    int err = errno;
    closeAll({outFd});
    return makeError(errnoError("open " + o.stderrPath, err));
  }
  int nullFd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int syncPipe[2] = {-1, -1}, errPipe[2] = {-1, -1};
  if (nullFd < 0 || pipe2(syncPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0) {
    int err = errno;
    closeAll({outFd, errOutFd, nullFd, syncPipe[0], syncPipe[1], errPipe[0], errPipe[1]});
    return makeError(errnoError("pipe", err));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    closeAll({outFd, errOutFd, nullFd, syncPipe[0], syncPipe[1], errPipe[0], errPipe[1]});
    return makeError(errnoError("fork", err));
  }
  if (pid == 0) {
    close(syncPipe[1]);
    close(errPipe[0]);
    runChild(o, argv.data(), envp.data(), syncPipe[0], errPipe[1], nullFd, outFd, errOutFd);
  }
  closeAll({syncPipe[0], errPipe[1], outFd, errOutFd, nullFd});

  auto abandon = [&](Error error) -> Result<pid_t> {
    closeAll({syncPipe[1], errPipe[0]});
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return makeError(std::move(error));
  };
  if (o.beforeExec) {
    Status hook = o.beforeExec(pid);
    if (!hook) return abandon(hook.error());
  }
  char go = 1;
  if (write(syncPipe[1], &go, 1) != 1) return abandon(errnoError("release child", errno));
  close(syncPipe[1]);

  ChildError childError;
  ssize_t n;
  do {
    n = read(errPipe[0], &childError, sizeof(childError));
  } while (n < 0 && errno == EINTR);
  close(errPipe[0]);
  if (n == sizeof(childError)) {
    waitpid(pid, nullptr, 0);
    std::string what = stepName(childError.step);
    if (childError.step == kExec) what += " " + o.argv[0];
    if (childError.step == kChdir) what += " " + o.cwd;
    return makeError(errnoError(what, childError.err));
  }
  return pid;
}

}  // namespace agora::agent
