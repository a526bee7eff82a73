#include "common/subprocess.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace agora {

namespace {

[[noreturn]] void childFail(int pipeFd, int err) {
  ssize_t n = write(pipeFd, &err, sizeof(err));
  (void)n;
  _exit(127);
}

int openOutput(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

}  // namespace

Result<pid_t> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return makeError(ErrorCode::kInvalidArgument, "empty argv");
  // Everything the child needs is prepared before fork (no allocation after).
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  int outFd = -1, errFd = -1, nullFd = -1;
  if (!options.stdoutPath.empty() && (outFd = openOutput(options.stdoutPath)) < 0) {
    return makeError(errnoError("open " + options.stdoutPath, errno));
  }
  if (!options.stderrPath.empty() && (errFd = openOutput(options.stderrPath)) < 0) {
    int err = errno;
    if (outFd >= 0) close(outFd);
    return makeError(errnoError("open " + options.stderrPath, err));
  }
  if (options.stdinNull) nullFd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return makeError(errnoError("pipe", errno));
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {outFd, errFd, nullFd, pipeFds[0], pipeFds[1]}) {
      if (fd >= 0) close(fd);
    }
    return makeError(errnoError("fork", err));
  }
  if (pid == 0) {
    close(pipeFds[0]);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    if (options.dieWithParent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
    }
    if (options.netnsFd >= 0 && setns(options.netnsFd, CLONE_NEWNET) != 0) {
      childFail(pipeFds[1], errno);
    }
    if (options.newSession && setsid() < 0) childFail(pipeFds[1], errno);
    if (nullFd >= 0 && dup2(nullFd, 0) < 0) childFail(pipeFds[1], errno);
    if (outFd >= 0 && dup2(outFd, 1) < 0) childFail(pipeFds[1], errno);
    if (errFd >= 0 && dup2(errFd, 2) < 0) childFail(pipeFds[1], errno);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) childFail(pipeFds[1], errno);
    // Nothing but 0-2 survives exec, whatever the parent's threads left
    // without FD_CLOEXEC (a socket between socket() and fcntl(), a
    // library's descriptor): a daemon's listening socket held by its
    // children would keep it from binding its port after a restart.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      childFail(pipeFds[1], errno);
    }
    if (options.env) {
      execvpe(argv[0], argv.data(), envp.data());
    } else {
      execvp(argv[0], argv.data());
    }
    childFail(pipeFds[1], errno);
  }
  close(pipeFds[1]);
  for (int fd : {outFd, errFd, nullFd}) {
    if (fd >= 0) close(fd);
  }
  int childErr = 0;
  ssize_t n;
  do {
    n = read(pipeFds[0], &childErr, sizeof(childErr));
  } while (n < 0 && errno == EINTR);
  close(pipeFds[0]);
  if (n == sizeof(childErr)) {
    waitpid(pid, nullptr, 0);
    return makeError(errnoError("exec " + options.argv[0], childErr));
  }
  return pid;
}

std::optional<int> waitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  std::optional<int> exited;
  for (;;) {
    int status = 0;
    pid_t reaped = waitpid(pid, &status, WNOHANG);
    if (reaped == pid) {
      exited = status;
      break;
    }
    if (reaped < 0 && errno != EINTR) break;  // not our child
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (pidfd >= 0) {
      pollfd readable{pidfd, POLLIN, 0};
      poll(&readable, 1, static_cast<int>(left.count()));  // EINTR: look again
    } else {
      usleep(1000);  // a kernel without pidfds: look every millisecond
    }
  }
  if (pidfd >= 0) close(pidfd);
  return exited;
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return "terminated by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "stopped";
}

std::string selfDirectory() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace agora
