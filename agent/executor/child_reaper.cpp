#include "agent/executor/child_reaper.hpp"

#include <glog/logging.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace agora::agent {

ChildReaper::ChildReaper(EventLoop& loop, Duration period) : loop_(loop) {
  timer_ = loop_.addPeriodic(period, [this] { poll(); });
}

ChildReaper::~ChildReaper() {
  loop_.cancelTimer(timer_);
  for (const auto& [pid, fd] : foreign_) {
    loop_.removeFd(fd);
    close(fd);
  }
}

void ChildReaper::watch(pid_t pid, ExitHandler onExit) { watched_[pid] = std::move(onExit); }

Status ChildReaper::watchForeign(pid_t pid, ExitHandler onExit) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return makeError(errnoError("pidfd_open " + std::to_string(pid), errno));
  unwatch(pid);
  foreign_[pid] = fd;
  watched_[pid] = std::move(onExit);
  loop_.addFd(fd, [this, pid] {
    auto it = foreign_.find(pid);
    if (it == foreign_.end()) return;
    loop_.removeFd(it->second);
    close(it->second);
    foreign_.erase(it);
    auto handler = watched_.find(pid);
    if (handler == watched_.end()) return;
    ExitHandler onExit = std::move(handler->second);
    watched_.erase(handler);
    onExit(kUnknownStatus);
  });
  return {};
}

void ChildReaper::unwatch(pid_t pid) {
  watched_.erase(pid);
  auto it = foreign_.find(pid);
  if (it == foreign_.end()) return;
  loop_.removeFd(it->second);
  close(it->second);
  foreign_.erase(it);
}

void ChildReaper::poll() {
  std::vector<std::pair<ExitHandler, int>> exited;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (foreign_.count(it->first)) {
      ++it;
      continue;
    }
    int status = 0;
    pid_t r = waitpid(it->first, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) {
      ++it;
      continue;
    }
    if (r < 0) {
      // ECHILD: not our child (or reaped elsewhere); report it as killed so
      // nobody waits forever.
      LOG(WARNING) << "waitpid " << it->first << ": " << strerror(errno);
      status = SIGKILL;
    }
    exited.emplace_back(std::move(it->second), status);
    it = watched_.erase(it);
  }
  for (auto& [handler, status] : exited) handler(status);
}

}  // namespace agora::agent
