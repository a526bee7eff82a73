#pragma once
// One event loop per component: ZeroMQ sockets, file descriptors, timers and
// callbacks posted from other threads, all dispatched on the thread that
// calls run(). Component state is touched only from that thread.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.hpp"

namespace zmq {
class socket_t;
}

namespace agora {

class EventLoop {
 public:
  using TimerId = uint64_t;
  using Callback = std::function<void()>;

  // REQUIRES: clock outlives the loop.
  explicit EventLoop(Clock& clock = RealClock::instance());
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Clock& clock() const { return clock_; }

  // One-shot timer after `delay`. Loop thread only.
  TimerId addTimer(Duration delay, Callback callback);
  // Repeating timer; first run after `period`. Loop thread only.
  TimerId addPeriodic(Duration period, Callback callback);
  void cancelTimer(TimerId id);

  // Calls onReadable (loop thread) while the socket has messages; the callback
  // must drain it (ZeroMQ readiness is edge-like). REQUIRES: socket outlives
  // its registration.
  void addSocket(zmq::socket_t& socket, Callback onReadable);
  void removeSocket(zmq::socket_t& socket);
  void addFd(int fd, Callback onReadable);
  void removeFd(int fd);

  // Thread-safe: runs `callback` on the loop thread soon.
  void post(Callback callback);

  // Dispatches until stop(). Uses the clock for timers, so the clock must be
  // real; with a SimulatedClock, drive the loop with runUntilIdle().
  void run();
  // Thread-safe; run() returns after the current callback.
  void stop();
  // Runs posted callbacks, due timers and ready sockets until nothing is left
  // to do right now, without blocking. For tests with a SimulatedClock.
  void runUntilIdle();
  // Runs what is ready, then blocks up to `maxWait` (whole milliseconds, at
  // least one; less when a timer is due sooner) until a source is ready or a
  // callback is posted, and runs what became ready. For tests and tools that
  // check their own conditions between turns of a real-clock loop.
  void runOnce(Duration maxWait);

  bool inLoopThread() const { return std::this_thread::get_id() == loopThread_; }
  // Worst lateness of a timer over the last second, in milliseconds.
  double lagMs() const { return lagMs_; }

 private:
  struct Timer {
    TimePoint due;
    Duration period{0};  // 0: one-shot
    Callback callback;
  };
  struct Watch {
    zmq::socket_t* socket = nullptr;
    int fd = -1;
    Callback callback;
  };

  bool runPosted();
  bool runDueTimers();
  bool pollOnce(long timeoutMs);
  long msUntilNextTimer() const;

  Clock& clock_;
  int wakeFd_ = -1;
  std::mutex postedMutex_;
  std::vector<Callback> posted_;
  std::map<TimerId, Timer> timers_;
  std::multimap<TimePoint, TimerId> timerQueue_;
  TimerId nextTimerId_ = 1;
  std::vector<Watch> watches_;
  bool watchesChanged_ = false;
  bool stopped_ = false;
  std::thread::id loopThread_;
  double lagMs_ = 0;
  double lagWindowMs_ = 0;
  TimePoint lagWindowStart_{};
};

}  // namespace agora
