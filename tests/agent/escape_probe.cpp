// agora-escape-probe OP [ARG]: makes one system call a shell cannot and
// prints "ok", or the errno's name ("EPERM") when it fails; exits 0 only on
// success. Container security tests run it inside containers.
//
//   init_module | finit_module | keyctl | reboot | mount DIR | unshare |
//   setns NSFILE | clone_newuser | clone3 | ptrace PID | kill PID |
//   personality HEX | i386_getpid | swap A B | create FILE | open_rw FILE
//
// create makes FILE (O_CREAT | O_EXCL); open_rw opens it for reading and
// writing (a device node: nothing is read or written).
//
// swap exchanges A and B (renameat2 RENAME_EXCHANGE, e.g. a directory and a
// symlink) over and over until killed; it prints only if the first fails.
//
// reboot asks for LINUX_REBOOT_CMD_CAD_OFF: in a pid namespace other than the
// host's the kernel answers EINVAL, so even a missing filter reboots nothing.

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const char* errnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EROFS: return "EROFS";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case ENODEV: return "ENODEV";
    case EISDIR: return "EISDIR";
  }
  return "EOTHER";
}

// A raw clone with `flags` whose child exits at once.
long cloneWith(unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return pid;
}

// getpid through the i386 ABI (int $0x80, number 20).
long i386Getpid() {
  long result = 20;
  asm volatile("int $0x80" : "+a"(result) : : "memory");
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

long run(const std::string& op, const char* arg) {
  if (op == "init_module") return syscall(SYS_init_module, nullptr, 0, "");
  if (op == "finit_module") return syscall(SYS_finit_module, -1, "", 0);
  if (op == "keyctl") {
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  }
  if (op == "reboot") {
    return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                   LINUX_REBOOT_CMD_CAD_OFF, nullptr);
  }
  if (op == "mount") return mount("probe", arg, "tmpfs", 0, "size=64k");
  if (op == "unshare") return unshare(CLONE_NEWNS);
  if (op == "setns") {
    int fd = open(arg, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    return setns(fd, 0);
  }
  if (op == "clone_newuser") return cloneWith(CLONE_NEWUSER);
  if (op == "clone3") return syscall(SYS_clone3, nullptr, 0);
  if (op == "ptrace") return ptrace(PTRACE_ATTACH, atoi(arg), nullptr, nullptr);
  if (op == "kill") return kill(atoi(arg), 0);
  if (op == "personality") {
    long r = syscall(SYS_personality, strtoul(arg, nullptr, 16));
    return r < 0 ? -1 : 0;
  }
  if (op == "i386_getpid") return i386Getpid();
  if (op == "create" || op == "open_rw") {
    int flags = op == "create" ? O_WRONLY | O_CREAT | O_EXCL : O_RDWR;
    int fd = open(arg, flags | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return 0;
  }
  if (op == "swap") {
    const char* other = strchr(arg, ' ');
    if (other == nullptr) return -1;
    std::string a(arg, static_cast<size_t>(other - arg));
    if (syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, other + 1, RENAME_EXCHANGE) != 0) {
      return -1;
    }
    for (;;) syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, other + 1, RENAME_EXCHANGE);
  }
  fprintf(stderr, "unknown op %s\n", op.c_str());
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: agora-escape-probe OP [ARG]\n");
    return 2;
  }
  errno = 0;
  std::string arg = argc > 2 ? argv[2] : "";
  if (argc > 3) arg += std::string(" ") + argv[3];  // swap A B
  long rc = run(argv[1], arg.c_str());
  if (rc < 0) {
    printf("%s\n", errnoName(errno));
    return 1;
  }
  printf("ok\n");
  return 0;
}
