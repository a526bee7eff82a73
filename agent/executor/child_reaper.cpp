#include "agent/executor/child_reaper.hpp"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace agora::agent {

namespace {

int openPidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

ChildReaper::ChildReaper(EventLoop& loop, Duration period) : loop_(loop), period_(period) {
  epollFd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epollFd_ < 0) {
    PLOG(WARNING) << "epoll_create1: children are reaped by polling each of them";
  } else {
    loop_.addFd(epollFd_, [this] { onReadable(); });
  }
}

ChildReaper::~ChildReaper() {
  if (timer_) loop_.cancelTimer(*timer_);
  for (const auto& [pid, w] : watched_) {
    if (w.pidfd >= 0) close(w.pidfd);
  }
  if (epollFd_ >= 0) {
    loop_.removeFd(epollFd_);
    close(epollFd_);
  }
}

size_t ChildReaper::watchingWithoutPidfd() const {
  size_t n = 0;
  for (const auto& [pid, w] : watched_) n += w.pidfd < 0;
  return n;
}

void ChildReaper::watch(pid_t pid, ExitHandler onExit) {
  unwatch(pid);
  Watch w{std::move(onExit), -1, false};
  if (epollFd_ >= 0) {
    // A child stays until we reap it (a zombie has a pidfd too).
    int fd = openPidfd(pid);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = static_cast<uint64_t>(pid);
    if (fd >= 0 && epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event) == 0) {
      w.pidfd = fd;
    } else if (fd >= 0) {
      close(fd);
    }
  }
  if (w.pidfd < 0 && !timer_) timer_ = loop_.addPeriodic(period_, [this] { poll(); });
  watched_[pid] = std::move(w);
}

Status ChildReaper::watchForeign(pid_t pid, ExitHandler onExit) {
  if (epollFd_ < 0) return makeError(ErrorCode::kUnavailable, "no epoll set for pidfds");
  int fd = openPidfd(pid);
  if (fd < 0) return makeError(errnoError("pidfd_open " + std::to_string(pid), errno));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = static_cast<uint64_t>(pid);
  if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    int err = errno;
    close(fd);
    return makeError(errnoError("epoll_ctl " + std::to_string(pid), err));
  }
  unwatch(pid);
  watched_[pid] = Watch{std::move(onExit), fd, true};
  return {};
}

ChildReaper::ExitHandler ChildReaper::take(pid_t pid) {
  auto it = watched_.find(pid);
  if (it == watched_.end()) return nullptr;
  ExitHandler onExit = std::move(it->second.onExit);
  if (it->second.pidfd >= 0) close(it->second.pidfd);  // leaves the epoll set
  watched_.erase(it);
  return onExit;
}

void ChildReaper::unwatch(pid_t pid) { take(pid); }

void ChildReaper::onReadable() {
  std::vector<std::pair<ExitHandler, int>> exited;
  std::array<epoll_event, 64> events{};
  for (;;) {
    int n = epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      auto pid = static_cast<pid_t>(events[static_cast<size_t>(i)].data.u64);
      auto it = watched_.find(pid);
      if (it == watched_.end()) continue;
      int status = kUnknownStatus;
      if (!it->second.foreign) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) continue;  // not yet: the pidfd says again
        if (r < 0) {
          LOG(WARNING) << "waitpid " << pid << ": " << strerror(errno);
          status = SIGKILL;
        }
      }
      exited.emplace_back(take(pid), status);
    }
    if (static_cast<size_t>(n) < events.size()) break;
  }
  for (auto& [handler, status] : exited) {
    if (handler) handler(status);
  }
}

void ChildReaper::poll() {
  if (epollFd_ >= 0) onReadable();
  std::vector<std::pair<ExitHandler, int>> exited;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (it->second.pidfd >= 0) {
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
    exited.emplace_back(std::move(it->second.onExit), status);
    it = watched_.erase(it);
  }
  if (timer_ && watchingWithoutPidfd() == 0) {
    loop_.cancelTimer(*timer_);
    timer_.reset();
  }
  for (auto& [handler, status] : exited) handler(status);
}

}  // namespace agora::agent
