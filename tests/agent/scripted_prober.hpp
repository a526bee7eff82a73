#pragma once
// A Prober for unit tests (agent/executor/task_checks.hpp): answers each probe
// with the next scripted result.

#include <deque>
#include <map>

#include "agent/executor/task_checks.hpp"

namespace agora::agent::testing {

// Answers each probe with the next scripted result after `latency`; an
// unscripted probe never answers (a hung probe: the test checks the
// timeout handling by cancelling).
class ScriptedProber final : public Prober {
 public:
  explicit ScriptedProber(EventLoop& loop) : loop_(loop) {}
  uint64_t start(const CheckInfo&, Done done) override {
    uint64_t id = ++started;
    if (script.empty()) {
      hung[id] = std::move(done);
      return id;
    }
    ProbeResult r = script.front();
    script.pop_front();
    timers[id] = loop_.addTimer(latency, [this, id, r, done = std::move(done)] {
      timers.erase(id);
      done(r);
    });
    return id;
  }
  void cancel(uint64_t id) override {
    ++cancelled;
    hung.erase(id);
    if (auto it = timers.find(id); it != timers.end()) {
      loop_.cancelTimer(it->second);
      timers.erase(it);
    }
  }
  void pass(int n) {
    for (int i = 0; i < n; ++i) script.push_back({true, "HTTP 200 from GET /"});
  }
  void fail(int n) {
    for (int i = 0; i < n; ++i) script.push_back({false, "HTTP 503 from GET /"});
  }

  std::deque<ProbeResult> script;
  Duration latency = millis(10);
  uint64_t started = 0;
  uint64_t cancelled = 0;
  std::map<uint64_t, Done> hung;
  std::map<uint64_t, EventLoop::TimerId> timers;

 private:
  EventLoop& loop_;
};

}  // namespace agora::agent::testing
