#pragma once
// The registry in a SQLite file (registry_store.hpp) behind the backend
// interface. With `threaded`, commits run on a writer thread that batches
// whatever is queued into one transaction (one fsync) and posts the
// completions back with EventLoop::post. Without it (unit tests with a
// simulated clock), queued writes commit in one callback posted to the loop,
// so runUntilIdle() drives them deterministically.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "master/registry/registry_backend.hpp"
#include "master/registry/registry_store.hpp"

namespace agora::master {

class SqliteBackend final : public RegistryBackend {
 public:
  // REQUIRES: loop outlives the backend.
  SqliteBackend(EventLoop& loop, std::unique_ptr<RegistryStore> store, bool threaded);
  // Commits what is queued, then stops the writer. Completions not yet run are dropped.
  ~SqliteBackend() override;

  void submit(std::vector<Mutation> mutations, Done done) override;
  const std::string& location() const override { return store_->path(); }

 private:
  struct Pending {
    std::vector<Mutation> mutations;
    Done done;
  };
  void writerMain();
  void scheduleInlineCommit();
  // Commits `batch` in one transaction and hands the completions to the loop.
  void commitBatch(std::vector<Pending> batch);
  std::vector<Pending> takeQueue();

  EventLoop& loop_;
  std::unique_ptr<RegistryStore> store_;
  const bool threaded_;
  bool inlineScheduled_ = false;
  // Guards completions posted to the loop against a destroyed backend.
  LifetimeGuard lifetime_;

  // Shared with the writer thread.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace agora::master
