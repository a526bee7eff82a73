#include "agent/dir_remover.hpp"

#include <glog/logging.h>
#include <stdio.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "agent/paths.hpp"

namespace agora::agent {

namespace {

void removeTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) LOG(ERROR) << "cannot remove " << path << ": " << ec.message();
}

}  // namespace

DirRemover::DirRemover(std::string trash) : trash_(std::move(trash)) {
  if (Status s = paths::makeDirs(trash_, 0700); !s) {
    LOG(ERROR) << "trash directory: " << s.error().message << "; trees are removed in place";
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(trash_, ec)) {
    queue_.push_back(entry.path());  // left by an agent that stopped before removing them
  }
  worker_ = std::thread([this] { run(); });
}

DirRemover::~DirRemover() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void DirRemover::discard(const std::string& path) {
  std::string target;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    target = trash_ + "/" + std::to_string(stamp) + "-" + std::to_string(next_++);
  }
  if (rename(path.c_str(), target.c_str()) != 0) {
    if (errno == ENOENT) return;
    // Another filesystem, or no trash: remove it here.
    VLOG(1) << "cannot move " << path << " to the trash (" << strerror(errno)
            << "); removing it in place";
    removeTree(path);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(target));
  }
  wake_.notify_one();
}

size_t DirRemover::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + removing_;
}

void DirRemover::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    std::string path = std::move(queue_.front());
    queue_.pop_front();
    ++removing_;
    lock.unlock();
    removeTree(path);
    lock.lock();
    --removing_;
  }
}

}  // namespace agora::agent
