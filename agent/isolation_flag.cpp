#include "agent/isolation_flag.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agora::agent {

Result<IsolationChoice> parseIsolation(const std::string& flag) {
  IsolationChoice choice;
  if (flag.empty()) return choice;
  choice = {IsolatorWant::kOff, IsolatorWant::kOff};
  bool posix = false;
  size_t start = 0;
  while (start <= flag.size()) {
    size_t end = flag.find(',', start);
    if (end == std::string::npos) end = flag.size();
    std::string name = flag.substr(start, end - start);
    if (name == "posix") {
      posix = true;
    } else if (name == "cgroups") {
      choice.cgroups = IsolatorWant::kOn;
    } else if (name == "namespaces") {
      choice.namespaces = IsolatorWant::kOn;
    } else {
      return makeError(ErrorCode::kInvalidArgument,
                       "--isolation: '" + name +
                           "' is not an isolator (cgroups, namespaces, or posix for none)");
    }
    start = end + 1;
  }
  if (posix && (choice.cgroups == IsolatorWant::kOn || choice.namespaces == IsolatorWant::kOn)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--isolation: posix means no isolator and cannot be combined with others");
  }
  return choice;
}

Result<bool> decideIsolator(const std::string& name, IsolatorWant want,
                            const std::string& unusable) {
  if (want == IsolatorWant::kOff) return false;
  if (unusable.empty()) return true;
  if (want == IsolatorWant::kOn) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "--isolation=" + name + ": " + name + " isolation is unusable: " + unusable);
  }
  return false;
}

std::string namespacesUnusable() {
  if (geteuid() != 0) return "not running as root";
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + strerror(errno);
  if (pid == 0) {
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
    _exit(unshare(flags) == 0 ? 0 : (errno & 0xff));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status)) return std::string("unshare: ") + strerror(WEXITSTATUS(status));
  return "the namespace probe died";
}

}  // namespace agora::agent
