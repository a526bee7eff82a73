#pragma once
// A guard for callbacks that may outlive their owner: posted to a loop,
// armed as timers, handed to a registry write or to another thread. An owner
// keeps one LifetimeGuard as a member and wraps each such callback with it;
// a wrapped callback that runs after the owner is destroyed, or after
// invalidate(), does nothing.
//
// Thread-safe: wrap() and token() may be called on any thread while the
// owner lives (a worker thread wrapping its results for the loop), and
// invalidate() concurrently with them; a wrapped callback may run on any
// thread. The owner must not be destroyed while one of them runs: owners
// destroy on the thread their callbacks run on, after joining their workers.

#include <atomic>
#include <memory>
#include <utility>

namespace agora {

class LifetimeGuard {
 public:
  // Expires (lock() is null or holds false) once the owner is gone or has
  // invalidated its guard.
  using Token = std::weak_ptr<const std::atomic<bool>>;

  LifetimeGuard() = default;
  LifetimeGuard(const LifetimeGuard&) = delete;
  LifetimeGuard& operator=(const LifetimeGuard&) = delete;

  // `callback` (returning void), run only while this guard lives.
  template <typename F>
  auto wrap(F callback) const {
    return [alive = token(), callback = std::move(callback)](auto&&... args) mutable {
      if (!live(alive)) return;
      callback(std::forward<decltype(args)>(args)...);
    };
  }

  // For a callback that checks it itself (one handed to another library).
  Token token() const { return alive_; }
  static bool live(const Token& token) {
    auto alive = token.lock();
    return alive != nullptr && alive->load(std::memory_order_acquire);
  }

  // Wrapped callbacks do nothing from now on (an owner whose destructor must
  // stop them before its other members go, or before joining a worker that
  // may still post).
  void invalidate() { alive_->store(false, std::memory_order_release); }

 private:
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace agora
