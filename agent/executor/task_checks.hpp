#pragma once
// The health and readiness checks an executor runs beside its task
// (schema::CheckInfo). A TaskCheck schedules probes on the loop and turns
// their results into a verdict; a Prober runs one probe (ProcessProber, in
// process_prober.hpp, forks it into the task's namespaces; unit tests fake
// it).
//
// Verdicts: the first passing probe makes the verdict true; `maxFailures`
// consecutive failing probes make it false. Failures before the first pass
// are not counted while the grace period (from start()) lasts, so a slow
// starter is not condemned, and one that never passes still gets a false
// verdict once the grace period is over: nothing waits forever for a
// verdict. The handler hears each change of verdict, never a repeat.
//
// Probes: the first `delay` after start(), each next one `interval` after
// the previous one ended; one at a time. A probe still running after
// `timeout` fails (the prober stops it).
//
// Thread: the loop's.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/task_check.hpp"

namespace agora::agent {

struct ProbeResult {
  bool passed = false;
  std::string message;  // why it failed ("HTTP 503 from GET /health"), or what passed
};

class Prober {
 public:
  using Done = std::function<void(ProbeResult)>;
  virtual ~Prober() = default;
  // Starts one probe of `check`. `done` runs on the loop thread once it
  // ended, at the latest about `check.timeoutSec` later (then failed, with
  // the probe stopped); never from within start(). Returns an ID for
  // cancel().
  virtual uint64_t start(const CheckInfo& check, Done done) = 0;
  // Stops a running probe; its `done` does not run.
  virtual void cancel(uint64_t id) = 0;
};

class TaskCheck {
 public:
  // `verdict`: passed; `message`: the probe result that decided it.
  using VerdictHandler = std::function<void(bool verdict, const std::string& message)>;

  // `what` names the check in logs ("health check"). REQUIRES: loop and
  // prober outlive the check; check is enabled and valid.
  TaskCheck(EventLoop& loop, Prober& prober, CheckInfo check, std::string what,
            VerdictHandler onVerdict);
  ~TaskCheck();
  TaskCheck(const TaskCheck&) = delete;
  TaskCheck& operator=(const TaskCheck&) = delete;

  void start();
  // Cancels the running probe and every timer; no verdict follows.
  void stop();

  std::optional<bool> verdict() const { return verdict_; }
  uint32_t consecutiveFailures() const { return consecutiveFailures_; }
  uint64_t probes() const { return probes_; }
  uint64_t failedProbes() const { return failedProbes_; }

 private:
  void schedule(Duration after);
  void probe();
  void onResult(ProbeResult result);
  void decide(bool verdict, const std::string& message);

  EventLoop& loop_;
  Prober& prober_;
  const CheckInfo check_;
  const std::string what_;
  VerdictHandler onVerdict_;
  bool running_ = false;
  TimePoint startedAt_{};
  bool passedOnce_ = false;
  std::optional<bool> verdict_;
  uint32_t consecutiveFailures_ = 0;
  uint64_t probes_ = 0;
  uint64_t failedProbes_ = 0;
  std::optional<EventLoop::TimerId> timer_;
  std::optional<uint64_t> probe_;  // the running probe's ID
  LifetimeGuard lifetime_;
};

}  // namespace agora::agent
