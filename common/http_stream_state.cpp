#include "common/http_stream_state.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace agora::http::detail {

bool StreamState::write(std::string data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  if (data.size() > maxQueuedBytes_ || queuedBytes_ > maxQueuedBytes_ - data.size()) {
    closed_ = true;
    abort_ = true;
    wakeLocked(true);
    return false;
  }
  if (data.empty()) return true;
  queuedBytes_ += data.size();
  queue_.push_back(std::move(data));
  wakeLocked(false);
  return true;
}

void StreamState::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  closed_ = true;
  closeRequested_ = true;
  wakeLocked(false);
}

bool StreamState::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

size_t StreamState::queuedBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queuedBytes_;
}

void StreamState::onClose(std::function<void()> callback) {
  if (!callback) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!finished_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  runCallbacks({std::move(callback)});
}

void StreamState::attach(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  wake_ = std::move(wake);
  wakeLocked(true);
}

StreamState::Pending StreamState::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  wakePending_ = false;
  Pending pending;
  pending.abort = abort_;
  pending.closeRequested = closeRequested_;
  if (!abort_) {
    pending.chunks.reserve(queue_.size());
    for (auto& chunk : queue_) pending.chunks.push_back(std::move(chunk));
  }
  queue_.clear();
  return pending;
}

void StreamState::written(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  queuedBytes_ -= std::min(bytes, queuedBytes_);
}

bool StreamState::abortRequested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return abort_;
}

void StreamState::abort() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (abort_ || finished_) return;
  closed_ = true;
  abort_ = true;
  wakeLocked(true);
}

std::vector<std::function<void()>> StreamState::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  queue_.clear();
  queuedBytes_ = 0;
  wake_ = nullptr;
  if (finished_) return {};
  finished_ = true;
  return std::move(callbacks_);
}

void StreamState::runCallbacks(std::vector<std::function<void()>> callbacks) {
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (const std::exception& e) {
      LOG(WARNING) << "HTTP stream onClose callback threw: " << e.what();
    } catch (...) {
      LOG(WARNING) << "HTTP stream onClose callback threw a non-standard exception";
    }
  }
}

void StreamState::wakeLocked(bool force) {
  if (!wake_ || (wakePending_ && !force)) return;
  wakePending_ = true;
  wake_();
}

}  // namespace agora::http::detail
