#include "common/event_loop.hpp"

#include <glog/logging.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <zmq.hpp>

namespace agora {

EventLoop::EventLoop(Clock& clock) : clock_(clock), loopThread_(std::this_thread::get_id()) {
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PCHECK(wakeFd_ >= 0) << "eventfd";
  lagWindowStart_ = clock_.now();
}

EventLoop::~EventLoop() { close(wakeFd_); }

EventLoop::TimerId EventLoop::addTimer(Duration delay, Callback callback) {
  TimerId id = nextTimerId_++;
  TimePoint due = clock_.now() + delay;
  timers_[id] = Timer{due, Duration{0}, std::move(callback)};
  timerQueue_.emplace(due, id);
  return id;
}

EventLoop::TimerId EventLoop::addPeriodic(Duration period, Callback callback) {
  CHECK(period > Duration{0}) << "periodic timer needs a positive period";
  TimerId id = nextTimerId_++;
  TimePoint due = clock_.now() + period;
  timers_[id] = Timer{due, period, std::move(callback)};
  timerQueue_.emplace(due, id);
  return id;
}

void EventLoop::cancelTimer(TimerId id) { timers_.erase(id); }

void EventLoop::addSocket(zmq::socket_t& socket, Callback onReadable) {
  watches_.push_back(Watch{&socket, -1, std::move(onReadable)});
  watchesChanged_ = true;
}

void EventLoop::removeSocket(zmq::socket_t& socket) {
  std::erase_if(watches_, [&](const Watch& w) { return w.socket == &socket; });
  watchesChanged_ = true;
}

void EventLoop::addFd(int fd, Callback onReadable) {
  watches_.push_back(Watch{nullptr, fd, std::move(onReadable)});
  watchesChanged_ = true;
}

void EventLoop::removeFd(int fd) {
  std::erase_if(watches_, [&](const Watch& w) { return w.socket == nullptr && w.fd == fd; });
  watchesChanged_ = true;
}

void EventLoop::post(Callback callback) {
  {
    std::lock_guard<std::mutex> lock(postedMutex_);
    posted_.push_back(std::move(callback));
  }
  uint64_t one = 1;
  ssize_t n = write(wakeFd_, &one, sizeof(one));
  (void)n;  // EAGAIN means a wake-up is already pending.
}

void EventLoop::stop() {
  post([this] { stopped_ = true; });
}

bool EventLoop::runPosted() {
  std::vector<Callback> batch;
  {
    std::lock_guard<std::mutex> lock(postedMutex_);
    batch.swap(posted_);
  }
  for (auto& callback : batch) callback();
  return !batch.empty();
}

bool EventLoop::runDueTimers() {
  bool ran = false;
  TimePoint now = clock_.now();
  while (!timerQueue_.empty() && timerQueue_.begin()->first <= now) {
    auto [due, id] = *timerQueue_.begin();
    timerQueue_.erase(timerQueue_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.due != due) continue;  // cancelled or stale
    double late = std::chrono::duration<double, std::milli>(now - due).count();
    lagWindowMs_ = std::max(lagWindowMs_, late);
    Callback callback = it->second.callback;
    if (it->second.period > Duration{0}) {
      it->second.due = now + it->second.period;
      timerQueue_.emplace(it->second.due, id);
    } else {
      timers_.erase(it);
    }
    callback();
    ran = true;
  }
  if (now - lagWindowStart_ >= std::chrono::seconds(1)) {
    lagMs_ = lagWindowMs_;
    lagWindowMs_ = 0;
    lagWindowStart_ = now;
  }
  return ran;
}

long EventLoop::msUntilNextTimer() const {
  while (!timerQueue_.empty()) {
    auto [due, id] = *timerQueue_.begin();
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.due != due) {
      const_cast<EventLoop*>(this)->timerQueue_.erase(timerQueue_.begin());
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - clock_.now()).count();
    return std::max<long>(0, left + 1);
  }
  return 1000;
}

bool EventLoop::pollOnce(long timeoutMs) {
  std::vector<zmq::pollitem_t> items;
  items.reserve(watches_.size() + 1);
  items.push_back(zmq::pollitem_t{nullptr, wakeFd_, ZMQ_POLLIN, 0});
  for (const Watch& w : watches_) {
    items.push_back(zmq::pollitem_t{w.socket ? w.socket->handle() : nullptr, w.fd, ZMQ_POLLIN, 0});
  }
  int n = zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeoutMs));
  if (n <= 0) return false;
  if (items[0].revents & ZMQ_POLLIN) {
    uint64_t value;
    ssize_t r = read(wakeFd_, &value, sizeof(value));
    (void)r;
  }
  // Callbacks may add or remove watches: copy what fired first.
  std::vector<Callback> ready;
  for (size_t i = 1; i < items.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) ready.push_back(watches_[i - 1].callback);
  }
  watchesChanged_ = false;
  for (auto& callback : ready) {
    callback();
    // A callback removed or added watches: later entries may be stale. Sources
    // stay readable, so the next poll picks them up.
    if (watchesChanged_) break;
  }
  return !ready.empty();
}

void EventLoop::run() {
  loopThread_ = std::this_thread::get_id();
  stopped_ = false;
  while (!stopped_) {
    runPosted();
    runDueTimers();
    if (stopped_) break;
    bool hasPosted;
    {
      std::lock_guard<std::mutex> lock(postedMutex_);
      hasPosted = !posted_.empty();
    }
    try {
      pollOnce(hasPosted ? 0 : msUntilNextTimer());
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) LOG(ERROR) << "event loop poll failed: " << e.what();
    }
  }
  runPosted();
}

void EventLoop::runOnce(Duration maxWait) {
  runUntilIdle();
  long waitMs = std::max<long>(
      1, static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(maxWait).count()));
  {
    std::lock_guard<std::mutex> lock(postedMutex_);
    if (!posted_.empty()) waitMs = 0;
  }
  try {
    pollOnce(std::min(waitMs, msUntilNextTimer()));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) LOG(ERROR) << "event loop poll failed: " << e.what();
  }
  runUntilIdle();
}

void EventLoop::runUntilIdle() {
  loopThread_ = std::this_thread::get_id();
  for (int i = 0; i < 100000; ++i) {
    bool worked = runPosted();
    worked |= runDueTimers();
    worked |= pollOnce(0);
    if (!worked) return;
  }
  LOG(FATAL) << "runUntilIdle: loop never became idle";
}

}  // namespace agora
