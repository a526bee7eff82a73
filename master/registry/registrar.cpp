#include "master/registry/registrar.hpp"

#include <glog/logging.h>

#include <chrono>

namespace agora::master {

Result<std::unique_ptr<Registrar>> Registrar::open(EventLoop& loop, const std::string& path,
                                                   RegistrarOptions options) {
  RegistryContents contents;
  auto store = RegistryStore::open(path, contents);
  std::string aside;
  if (!store && options.fresh) {
    LOG(WARNING) << store.error().message << "; starting with an empty registry (--registry-fresh)";
    auto moved = RegistryStore::moveAside(path);
    if (!moved) return makeError(moved.error());
    aside = *moved;
    contents = RegistryContents();
    store = RegistryStore::open(path, contents);
  }
  if (!store) return makeError(store.error());
  std::unique_ptr<Registrar> registrar(new Registrar(loop, std::move(*store), options));
  registrar->recovered_ = std::move(contents);
  registrar->movedAside_ = std::move(aside);
  return registrar;
}

Registrar::Registrar(EventLoop& loop, std::unique_ptr<RegistryStore> store,
                     RegistrarOptions options)
    : loop_(loop), store_(std::move(store)), options_(options), path_(store_->path()) {
  if (options_.threaded) writer_ = std::thread([this] { writerMain(); });
}

Registrar::~Registrar() {
  *alive_ = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) {
    writer_.join();
  } else if (!queue_.empty()) {
    commitBatch(std::vector<Pending>(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.end())));
  }
}

void Registrar::write(std::vector<Mutation> mutations, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!mutations.empty()) stats_.writes++;
    queue_.push_back(Pending{std::move(mutations), std::move(done)});
  }
  if (options_.threaded) {
    wake_.notify_one();
  } else {
    scheduleInlineCommit();
  }
}

void Registrar::hold(bool held) {
  CHECK(!options_.threaded) << "hold() is for the unthreaded registrar";
  held_ = held;
  if (!held_) scheduleInlineCommit();
}

void Registrar::scheduleInlineCommit() {
  if (held_ || inlineScheduled_) return;
  inlineScheduled_ = true;
  loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.lock()) return;
    inlineScheduled_ = false;
    if (held_) return;
    std::vector<Pending> batch(std::make_move_iterator(queue_.begin()),
                               std::make_move_iterator(queue_.end()));
    queue_.clear();
    commitBatch(std::move(batch));
  });
}

RegistrarStats Registrar::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Registrar::writerMain() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    commitBatch(std::move(batch));
  }
}

void Registrar::commitBatch(std::vector<Pending> batch) {
  if (batch.empty()) return;
  std::vector<Mutation> all;
  for (Pending& pending : batch) {
    for (Mutation& mutation : pending.mutations) all.push_back(std::move(mutation));
  }
  auto start = std::chrono::steady_clock::now();
  Status committed = store_->commit(all);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count();
  if (!all.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.commits++;
    stats_.commitMsTotal += ms;
    stats_.commitMsMax = std::max(stats_.commitMsMax, ms);
  }
  LOG_IF(ERROR, !committed) << "registry write failed: " << committed.error().message;
  std::vector<Done> dones;
  for (Pending& pending : batch) {
    if (pending.done) dones.push_back(std::move(pending.done));
  }
  if (dones.empty()) return;
  loop_.post([dones = std::move(dones), committed, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.lock()) return;
    for (const Done& done : dones) done(committed);
  });
}

}  // namespace agora::master
