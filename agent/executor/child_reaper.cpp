#include "agent/executor/child_reaper.hpp"

#include <glog/logging.h>
#include <sys/wait.h>

#include <cerrno>
#include <vector>

namespace agora::agent {

ChildReaper::ChildReaper(EventLoop& loop, Duration period) : loop_(loop) {
  timer_ = loop_.addPeriodic(period, [this] { poll(); });
}

ChildReaper::~ChildReaper() { loop_.cancelTimer(timer_); }

void ChildReaper::watch(pid_t pid, ExitHandler onExit) { watched_[pid] = std::move(onExit); }

void ChildReaper::unwatch(pid_t pid) { watched_.erase(pid); }

void ChildReaper::poll() {
  std::vector<std::pair<ExitHandler, int>> exited;
  for (auto it = watched_.begin(); it != watched_.end();) {
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
