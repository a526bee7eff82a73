#pragma once
// A guard for callbacks that may outlive their owner: posted to a loop,
// armed as timers, or handed to a registry write. An owner keeps one
// LifetimeGuard as a member and wraps each such callback with it; a wrapped
// callback that runs after the owner is destroyed does nothing.
//
// Thread-safe: a wrapped callback may run on any thread, but the owner must
// not be destroyed while one of them runs (owners destroy on the thread
// their callbacks run on, their loop's).

#include <memory>
#include <utility>

namespace agora {

class LifetimeGuard {
 public:
  LifetimeGuard() = default;
  LifetimeGuard(const LifetimeGuard&) = delete;
  LifetimeGuard& operator=(const LifetimeGuard&) = delete;

  // `callback` (returning void), run only while this guard lives.
  template <typename F>
  auto wrap(F callback) const {
    return [alive = std::weak_ptr<const char>(token_),
            callback = std::move(callback)](auto&&... args) mutable {
      if (alive.expired()) return;
      callback(std::forward<decltype(args)>(args)...);
    };
  }

  // Wrapped callbacks do nothing from now on (an owner whose destructor must
  // stop them before its other members go).
  void invalidate() { token_.reset(); }

 private:
  std::shared_ptr<const char> token_ = std::make_shared<const char>(0);
};

}  // namespace agora
