#pragma once
// A value published by the loop thread and read by other threads (HTTP
// handlers). Readers get an immutable shared_ptr; publishing swaps it.

#include <memory>
#include <mutex>

namespace agora::agent {

template <class T>
class SnapshotCell {
 public:
  SnapshotCell() : value_(std::make_shared<const T>()) {}
  // The publisher and every reader share the value until the last reader drops it.
  void publish(std::shared_ptr<const T> value) {
    std::lock_guard<std::mutex> lock(mutex_);
    value_ = std::move(value);
  }
  std::shared_ptr<const T> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace agora::agent
