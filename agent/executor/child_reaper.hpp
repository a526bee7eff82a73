#pragma once
// Reaps child processes this process started and reports how they ended.
// Driven by a periodic timer on the loop; a SIGCHLD handler (e.g. a signalfd
// in main) calls poll() to react at once.

#include <sys/types.h>

#include <functional>
#include <map>

#include "common/event_loop.hpp"

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
  // Stops watching without reaping (the caller took over).
  void unwatch(pid_t pid);
  // Reaps every watched child that has exited. Handlers may call watch().
  void poll();

 private:
  EventLoop& loop_;
  EventLoop::TimerId timer_;
  std::map<pid_t, ExitHandler> watched_;
};

}  // namespace agora::agent
