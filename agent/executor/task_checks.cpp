#include "agent/executor/task_checks.hpp"

#include <glog/logging.h>

namespace agora::agent {

TaskCheck::TaskCheck(EventLoop& loop, Prober& prober, CheckInfo check, std::string what,
                     VerdictHandler onVerdict)
    : loop_(loop),
      prober_(prober),
      check_(std::move(check)),
      what_(std::move(what)),
      onVerdict_(std::move(onVerdict)) {}

TaskCheck::~TaskCheck() {
  stop();
  lifetime_.invalidate();
}

void TaskCheck::start() {
  if (running_) return;
  running_ = true;
  startedAt_ = loop_.clock().now();
  schedule(seconds(check_.delaySec));
}

void TaskCheck::stop() {
  running_ = false;
  if (timer_) loop_.cancelTimer(*timer_);
  timer_.reset();
  if (probe_) prober_.cancel(*probe_);
  probe_.reset();
}

void TaskCheck::schedule(Duration after) {
  timer_ = loop_.addTimer(after, lifetime_.wrap([this] {
    timer_.reset();
    probe();
  }));
}

void TaskCheck::probe() {
  if (!running_) return;
  ++probes_;
  probe_ = prober_.start(check_, lifetime_.wrap([this](ProbeResult result) {
    probe_.reset();
    if (running_) onResult(std::move(result));
  }));
}

void TaskCheck::onResult(ProbeResult result) {
  if (result.passed) {
    passedOnce_ = true;
    consecutiveFailures_ = 0;
    decide(true, result.message);
  } else {
    ++failedProbes_;
    bool inGrace =
        !passedOnce_ && loop_.clock().now() - startedAt_ < seconds(check_.gracePeriodSec);
    if (inGrace) {
      VLOG(1) << what_ << " failed within its grace period: " << result.message;
    } else {
      ++consecutiveFailures_;
      LOG(INFO) << what_ << " failed (" << consecutiveFailures_ << " of " << check_.maxFailures
                << "): " << result.message;
      if (consecutiveFailures_ >= check_.maxFailures) {
        decide(false, result.message + " (" + std::to_string(consecutiveFailures_) +
                          " consecutive failures)");
      }
    }
  }
  if (running_) schedule(seconds(check_.intervalSec));
}

void TaskCheck::decide(bool verdict, const std::string& message) {
  if (verdict_ == verdict) return;
  verdict_ = verdict;
  LOG(INFO) << what_ << (verdict ? " passed" : " failed") << ": " << message;
  onVerdict_(verdict, message);
}

}  // namespace agora::agent
