#include "agent/executor/child_reaper.hpp"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace agora::agent {

namespace {

int openPidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// The wait status of our child `pid` if it has exited (reaping it); nullopt
// while it runs. A child that is not ours (ECHILD: reaped elsewhere) is
// reported as killed so that nobody waits for it forever.
std::optional<int> reapIfExited(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
  if (r < 0) {
    LOG(WARNING) << "waitpid " << pid << ": " << strerror(errno);
    return SIGKILL;
  }
  return status;
}

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

int ChildReaper::addPidfd(pid_t pid) {
  if (epollFd_ < 0) {
    errno = ENOSYS;
    return -1;
  }
  int fd = openPidfd(pid);
  if (fd < 0) return -1;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = static_cast<uint64_t>(pid);
  if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

void ChildReaper::watch(pid_t pid, ExitHandler onExit) {
  unwatch(pid);
  // A child stays until we reap it (a zombie has a pidfd too).
  int fd = addPidfd(pid);
  if (fd < 0) {
    polled_.insert(pid);
    if (!timer_) timer_ = loop_.addPeriodic(period_, [this] { poll(); });
  }
  watched_[pid] = Watch{std::move(onExit), fd, false};
}

Status ChildReaper::watchForeign(pid_t pid, ExitHandler onExit) {
  int fd = addPidfd(pid);
  if (fd < 0) return makeError(errnoError("pidfd for " + std::to_string(pid), errno));
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
  polled_.erase(pid);
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
        auto reaped = reapIfExited(pid);
        if (!reaped) continue;  // not yet: the pidfd says again
        status = *reaped;
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
  for (auto it = polled_.begin(); it != polled_.end();) {
    pid_t pid = *it++;  // take() below erases it
    if (auto status = reapIfExited(pid)) exited.emplace_back(take(pid), *status);
  }
  if (timer_ && polled_.empty()) {
    loop_.cancelTimer(*timer_);
    timer_.reset();
  }
  for (auto& [handler, status] : exited) {
    if (handler) handler(status);
  }
}

}  // namespace agora::agent
