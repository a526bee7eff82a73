#include "cli/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <thread>

namespace agora::cli {

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(std::string name, SpawnOptions options) {
  options.newSession = true;
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) return makeError(pid.error().withContext("cannot start " + name));
  return std::unique_ptr<ChildProcess>(new ChildProcess(std::move(name), *pid));
}

ChildProcess::~ChildProcess() {
  if (!poll()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

std::optional<int> ChildProcess::poll() {
  if (status_) return status_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (poll()) return *status_;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (poll()) return *status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  status_ = status;
  return status;
}

}  // namespace agora::cli
