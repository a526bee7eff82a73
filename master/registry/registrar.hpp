#pragma once
// The master's access to its registry (registry_store.hpp): recovers the
// contents at start and persists changes without blocking the event loop.
//
// Contract: `done` of a write() runs on the loop thread only after every
// mutation of that write, and of every write queued before it, is durable
// (or failed). The master sends an answer that depends on a change (agent
// admitted, framework subscribed, weight or quota set) from `done`, so an
// answer is never sent for state a restart would lose.
//
// Threading: write()/sync() on the loop thread. With `threaded`, commits run on
// a writer thread that batches whatever is queued into one transaction (one
// fsync) and posts the completions back with EventLoop::post. Without it
// (unit tests with a simulated clock), the batch commits in a callback posted
// to the loop, so runUntilIdle() drives it deterministically.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "master/registry/records.hpp"
#include "master/registry/registry_store.hpp"

namespace agora::master {

struct RegistrarOptions {
  bool threaded = true;
  // Move an unreadable registry aside (PATH.bad-<time>) and start empty.
  bool fresh = false;
};

struct RegistrarStats {
  uint64_t writes = 0;   // write() calls with mutations
  uint64_t commits = 0;  // transactions (each one fsync)
  double commitMsTotal = 0;
  double commitMsMax = 0;
};

class Registrar {
 public:
  using Done = std::function<void(Status)>;

  // REQUIRES: loop outlives the registrar. Errors name the file and the problem.
  static Result<std::unique_ptr<Registrar>> open(EventLoop& loop, const std::string& path,
                                                 RegistrarOptions options = {});
  // Commits what is queued, then stops the writer. Completions not yet run are dropped.
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // What the store held at open().
  const RegistryContents& recovered() const { return recovered_; }
  // When open() moved a corrupt registry aside, where it went; "" otherwise.
  const std::string& movedAside() const { return movedAside_; }
  const std::string& path() const { return path_; }

  // Queues `mutations` (applied in order, atomically); `done` may be empty.
  void write(std::vector<Mutation> mutations, Done done = {});
  // `done` runs once everything queued so far is durable.
  void sync(Done done) { write({}, std::move(done)); }

  // Loop thread. Unthreaded mode only: while held, nothing commits (tests
  // check that answers wait for the registry).
  void hold(bool held);
  RegistrarStats stats() const;

 private:
  struct Pending {
    std::vector<Mutation> mutations;
    Done done;
  };
  Registrar(EventLoop& loop, std::unique_ptr<RegistryStore> store, RegistrarOptions options);
  void writerMain();
  // Commits `batch` and hands the completions to the loop.
  void commitBatch(std::vector<Pending> batch);
  void scheduleInlineCommit();

  EventLoop& loop_;
  std::unique_ptr<RegistryStore> store_;
  RegistrarOptions options_;
  std::string path_;
  std::string movedAside_;
  RegistryContents recovered_;
  bool held_ = false;
  bool inlineScheduled_ = false;
  // Guards completions posted to the loop against a destroyed registrar.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // Shared with the writer thread.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  RegistrarStats stats_;
  std::thread writer_;
};

}  // namespace agora::master
