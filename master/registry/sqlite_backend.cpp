#include "master/registry/sqlite_backend.hpp"

#include <glog/logging.h>

namespace agora::master {

SqliteBackend::SqliteBackend(EventLoop& loop, std::unique_ptr<RegistryStore> store, bool threaded)
    : loop_(loop), store_(std::move(store)), threaded_(threaded) {
  if (threaded_) writer_ = std::thread([this] { writerMain(); });
}

SqliteBackend::~SqliteBackend() {
  lifetime_.invalidate();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) {
    writer_.join();
  } else {
    commitBatch(takeQueue());
  }
}

void SqliteBackend::submit(std::vector<Mutation> mutations, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Pending{std::move(mutations), std::move(done)});
  }
  if (threaded_) {
    wake_.notify_one();
  } else {
    scheduleInlineCommit();
  }
}

std::vector<SqliteBackend::Pending> SqliteBackend::takeQueue() {
  std::vector<Pending> batch(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
  queue_.clear();
  return batch;
}

void SqliteBackend::scheduleInlineCommit() {
  if (inlineScheduled_) return;
  inlineScheduled_ = true;
  loop_.post(lifetime_.wrap([this] {
    inlineScheduled_ = false;
    std::vector<Pending> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch = takeQueue();
    }
    commitBatch(std::move(batch));
  }));
}

void SqliteBackend::writerMain() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      batch = takeQueue();
    }
    commitBatch(std::move(batch));
  }
}

void SqliteBackend::commitBatch(std::vector<Pending> batch) {
  if (batch.empty()) return;
  std::vector<Mutation> all;
  for (Pending& pending : batch) {
    for (Mutation& mutation : pending.mutations) all.push_back(std::move(mutation));
  }
  Status committed = store_->commit(all);
  LOG_IF(ERROR, !committed) << "registry write failed: " << committed.error().message;
  std::vector<Done> dones;
  for (Pending& pending : batch) {
    if (pending.done) dones.push_back(std::move(pending.done));
  }
  if (dones.empty()) return;
  loop_.post(lifetime_.wrap([dones = std::move(dones), committed] {
    for (const Done& done : dones) done(committed);
  }));
}

}  // namespace agora::master
