#pragma once
// Reaps child processes this process started and reports how they ended.
// Each watched process is held by a pidfd in one epoll set that the loop
// watches: an exit costs one waitpid for that child, whatever the number of
// watched processes (an agent has one executor per container: thousands).
// Kernels without pidfds fall back to a waitpid per watched child on each
// poll(), which a periodic timer on the loop then runs (only while such
// children are watched: an idle executor is not woken for nothing); a
// SIGCHLD handler (e.g. a signalfd in main) may call poll() too. Processes that are
// not our children (executors adopted after an agent restart) are watched
// the same way; their exit status cannot be known.

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace agora::agent {

class ChildReaper {
 public:
  using ExitHandler = std::function<void(int waitStatus)>;

  // REQUIRES: loop outlives the reaper. Loop thread only. `period`: of the
  // polls for children watched without a pidfd.
  ChildReaper(EventLoop& loop, Duration period);
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // `onExit` runs on the loop thread once `pid` (our child) has exited and
  // been reaped.
  void watch(pid_t pid, ExitHandler onExit);
  // Watches `pid`, which need not be our child, through a pidfd: `onExit`
  // runs on the loop thread with waitStatus kUnknownStatus once it exited.
  // Fails when the process is gone or pidfds are unsupported. The pidfd
  // pins the process: if `pid` names the expected process right after this
  // succeeded (start time check), the handler is about that process.
  Status watchForeign(pid_t pid, ExitHandler onExit);
  static constexpr int kUnknownStatus = -1;

  // Stops watching without reaping (the caller took over).
  void unwatch(pid_t pid);
  // Reaps every watched child that has exited. Handlers may call watch().
  void poll();

  // Watched processes, and those of them watched without a pidfd.
  size_t watching() const { return watched_.size(); }
  size_t watchingWithoutPidfd() const { return polled_.size(); }

 private:
  struct Watch {
    ExitHandler onExit;
    int pidfd = -1;        // -1: no pidfd (polled with waitpid)
    bool foreign = false;  // not our child: no status to reap
  };
  // A pidfd for `pid` in the epoll set; -1 (errno set) if there is none.
  int addPidfd(pid_t pid);
  void onReadable();
  // Removes `pid`'s watch (closing its pidfd) and returns its handler.
  ExitHandler take(pid_t pid);

  EventLoop& loop_;
  const Duration period_;
  std::optional<EventLoop::TimerId> timer_;  // while a watch has no pidfd
  int epollFd_ = -1;
  std::map<pid_t, Watch> watched_;
  std::set<pid_t> polled_;  // watched without a pidfd
};

}  // namespace agora::agent
