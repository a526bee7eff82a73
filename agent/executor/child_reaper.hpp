#pragma once
// Reaps child processes this process started and reports how they ended.
// Driven by a periodic timer on the loop; a SIGCHLD handler (e.g. a signalfd
// in main) calls poll() to react at once. Processes that are not our
// children (executors adopted after an agent restart) are watched through a
// pidfd on the loop instead; their exit status cannot be known.

#include <sys/types.h>

#include <functional>
#include <map>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace agora::agent {

class ChildReaper {
 public:
  using ExitHandler = std::function<void(int waitStatus)>;

  // REQUIRES: loop outlives the reaper. Loop thread only.
  ChildReaper(EventLoop& loop, Duration period);
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // `onExit` runs on the loop thread once `pid` has exited and been reaped.
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

 private:
  EventLoop& loop_;
  EventLoop::TimerId timer_;
  std::map<pid_t, ExitHandler> watched_;
  std::map<pid_t, int> foreign_;  // pid -> pidfd, handler in watched_
};

}  // namespace agora::agent
