#pragma once
// Injectable time. Components never read the system clock directly: the real
// daemons use RealClock, unit tests a SimulatedClock they advance by hand.

#include <chrono>

namespace agora {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

inline Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
inline Duration millis(double ms) { return seconds(ms / 1000.0); }
inline double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for timers and timeouts.
  virtual TimePoint now() const = 0;
  // Wall time, seconds since the Unix epoch (timestamps shown to people).
  virtual double wallSeconds() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  double wallSeconds() const override;
  static RealClock& instance();
};

// Time moves only when advance() is called. Not thread-safe: tests drive it
// from the thread that runs the loop.
class SimulatedClock final : public Clock {
 public:
  SimulatedClock() : now_(TimePoint() + std::chrono::hours(1)) {}
  TimePoint now() const override { return now_; }
  double wallSeconds() const override { return 1.7e9 + toSeconds(now_.time_since_epoch()); }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace agora
