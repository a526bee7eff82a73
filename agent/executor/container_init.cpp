#include "agent/executor/container_init.hpp"

#include <linux/sched.h>
#include <net/if.h>
#include <signal.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agora::agent {

namespace {

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// Closes every descriptor but the sorted `keep` ones.
void closeOthers(const ContainerInitConfig& c) {
  unsigned next = 0;
  for (int i = 0; i < c.keepCount; ++i) {
    unsigned fd = static_cast<unsigned>(c.keep[i]);
    if (fd > next) syscall(SYS_close_range, next, fd - 1, 0);
    next = fd + 1;
  }
  syscall(SYS_close_range, next, ~0U, 0);
}

bool bringLoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, "lo", 3);
  bool ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  int err = errno;
  close(fd);
  errno = err;
  return ok;
}

// Mount, uts and network set-up inside the new namespaces.
void setUpNamespaces(const ContainerInitConfig& c) {
  if (c.cwd != nullptr && chdir(c.cwd) != 0) failChild(c.errFd, kStepChdir);
  if (c.becomeRoot) {
    // Raw system calls: glibc's wrappers would try to synchronise the
    // threads of the process init was cloned from, which are not here.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, 0, 0, 0) != 0 ||
        syscall(SYS_setresuid, 0, 0, 0) != 0) {
      failChild(c.errFd, kStepUserIds);
    }
  }
  c.rootfs->run(c.errFd, c.mounts);
  // Masks and read-only paths of the container's own /proc and /sys (after
  // pivot_root with an image).
  if (c.security != nullptr) c.security->applyMounts(c.errFd);
  if (c.hostname != nullptr && sethostname(c.hostname, strlen(c.hostname)) != 0) {
    failChild(c.errFd, kStepHostname);
  }
  if (c.loopbackUp && !bringLoopbackUp()) failChild(c.errFd, kStepLoopback);
}

[[noreturn]] void exitLike(int status, int statusFd) {
  ssize_t n = write(statusFd, &status, sizeof(status));
  (void)n;
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// Reaps and forwards until the command exits.
[[noreturn]] void supervise(pid_t command, const sigset_t& signals, int statusFd) {
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&signals, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      if (kill(-command, sig) != 0) kill(command, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t reaped = waitpid(-1, &status, WNOHANG);
      if (reaped <= 0) break;
      if (reaped == command) exitLike(status, statusFd);
    }
  }
}

int commandEntry(void* arg) {
  const auto& c = *static_cast<const ContainerInitConfig*>(arg);
  close(c.statusFd);
  c.command->exec(c.errFd);  // does not return
}

// Starts the command's process; returns its pid, or -1. It runs in init's
// memory until it execs, init waiting meanwhile (as posix_spawn does):
// init is a copy of the executor, and copying its page tables again, then
// tearing them down at the exec, cost more than the rest of the command's
// start. Its own copy of the signal handlers and descriptors (no
// CLONE_SIGHAND, no CLONE_FILES) is what it changes before the exec.
long startCommand(const ContainerInitConfig& c) {
  if (!kSpawnSharingMemory) {
    // A raw clone, not fork(): glibc's fork takes locks that a thread of
    // the process this one was cloned from may have held at that moment.
    long pid = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) commandEntry(const_cast<ContainerInitConfig*>(&c));
    return pid;
  }
  void* stack = mmap(nullptr, kSharedChildStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  long pid = clone(commandEntry, static_cast<char*>(stack) + kSharedChildStackBytes,
                   CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<ContainerInitConfig*>(&c));
  int err = errno;
  munmap(stack, kSharedChildStackBytes);  // the command has exec'd or exited
  errno = err;
  return pid;
}

}  // namespace

int containerInit(void* arg) {
  const auto& c = *static_cast<const ContainerInitConfig*>(arg);
  // Signals wait in the mask until supervise() takes them; none is lost
  // between here and there. The command starts with an empty mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  for (int sig : kForwarded) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  closeOthers(c);

  char go = 0;
  ssize_t n;
  do {
    n = read(c.syncFd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(127);  // the parent gave up on us
  close(c.syncFd);
  setUpNamespaces(c);

  long command = startCommand(c);
  if (command < 0) failChild(c.errFd, kStepFork);
  close(c.errFd);
  supervise(static_cast<pid_t>(command), signals, c.statusFd);
}

}  // namespace agora::agent
