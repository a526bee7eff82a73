#pragma once
// A value rendered by a daemon's loop thread and read by other threads (HTTP
// handlers). Readers get an immutable shared_ptr; publishing swaps it, and
// the publisher and every reader share a value until the last drops it. The
// mutex guards only the pointer swap.
//
// Render on demand (optional): the loop thread marks state changes (a
// generation counter) and a reader that finds the published value older asks
// the loop, through the render request, to render now; so a daemon nobody
// reads spends nothing on rendering. Without a render request, readers get
// the latest value published.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace agora {

template <class T>
class SnapshotCell {
 public:
  SnapshotCell() : current_(std::make_shared<const T>()) {}

  // Loop thread: the state changed since the last render.
  void markChanged() { generation_.fetch_add(1, std::memory_order_release); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool stale() const { return published_.load(std::memory_order_acquire) < generation(); }

  // Loop thread: `generation` is generation() as read before rendering.
  void publish(std::shared_ptr<const T> value, uint64_t generation) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = std::move(value);
      published_.store(generation, std::memory_order_release);
    }
    renderedCv_.notify_all();
  }
  // Loop thread: a value of the current state.
  void publish(std::shared_ptr<const T> value) { publish(std::move(value), generation()); }

  // Set once, before readers start. Must be thread-safe (e.g. EventLoop::post
  // of a render), and is called from reader threads.
  void setRenderRequest(std::function<void()> request) { request_ = std::move(request); }

  // Any thread: a value at least as new as the state when called, waiting up
  // to `timeout` for the loop to render it (with a render request); past
  // that (a loop busy for that long), the latest one.
  std::shared_ptr<const T> get(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const {
    uint64_t wanted = generation();
    std::unique_lock<std::mutex> lock(mutex_);
    if (published_.load(std::memory_order_acquire) >= wanted || !request_) return current_;
    lock.unlock();
    request_();
    lock.lock();
    renderedCv_.wait_for(lock, timeout,
                         [&] { return published_.load(std::memory_order_acquire) >= wanted; });
    return current_;
  }
  // Any thread: the latest published value, without asking for a render.
  std::shared_ptr<const T> latest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }

 private:
  std::atomic<uint64_t> generation_{1};
  std::atomic<uint64_t> published_{0};
  std::function<void()> request_;
  mutable std::mutex mutex_;
  mutable std::condition_variable renderedCv_;
  // Shared with reader threads still using an older value.
  std::shared_ptr<const T> current_;
};

}  // namespace agora
