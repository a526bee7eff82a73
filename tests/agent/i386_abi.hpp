#pragma once
// Whether this host runs 32-bit system calls (int 0x80) from a 64-bit
// process: some kernels and hypervisors disable the i386 ABI (the process
// then gets SIGSEGV whatever its seccomp profile says).

#include <sys/wait.h>
#include <unistd.h>

namespace agora::agent::testing {

inline bool hostRunsI386Syscalls() {
#if defined(__x86_64__)
  pid_t pid = fork();
  if (pid == 0) {
    long result = 20;  // getpid
    asm volatile("int $0x80" : "+a"(result) : : "memory");
    _exit(result > 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
  return false;
#endif
}

}  // namespace agora::agent::testing
