#pragma once
// The master's access to its registry: recovers the contents at start and
// persists changes without blocking the event loop. The records live in a
// RegistryBackend: a SQLite file (sqlite_backend.hpp, the default) or
// ZooKeeper (zk_registry.hpp, for highly available masters).
//
// Contract: `done` of a write() runs on the loop thread only after every
// mutation of that write, and of every write queued before it, is durable
// (or failed). The master sends an answer that depends on a change (agent
// admitted, framework subscribed, weight or quota set) from `done`, so an
// answer is never sent for state a restart would lose. Writes are handed to
// the backend as they come (pipelined); the backend completes them in order.
//
// Threading: the loop thread only.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"
#include "master/registry/records.hpp"
#include "master/registry/registry_backend.hpp"

namespace agora::master {

struct RegistrarOptions {
  // SQLite: commit on a writer thread (false: in callbacks on the loop, for
  // unit tests with a simulated clock).
  bool threaded = true;
  // SQLite: move an unreadable registry aside (PATH.bad-<time>) and start empty.
  bool fresh = false;
};

struct RegistrarStats {
  uint64_t writes = 0;       // write() calls with mutations
  uint64_t commits = 0;      // submits to the backend (SQLite may group several in one transaction)
  double commitMsTotal = 0;  // submit to completion, summed over commits
  double commitMsMax = 0;
};

class Registrar {
 public:
  using Done = std::function<void(Status)>;

  // The SQLite registry at `path`. REQUIRES: loop outlives the registrar.
  // Errors name the file and the problem.
  static Result<std::unique_ptr<Registrar>> open(EventLoop& loop, const std::string& path,
                                                 RegistrarOptions options = {});
  // Any backend, whose contents the caller has read already (`recovered`).
  static std::unique_ptr<Registrar> create(EventLoop& loop,
                                           std::unique_ptr<RegistryBackend> backend,
                                           RegistryContents recovered = {});
  // Destroys the backend (SQLite commits what is queued). Completions not yet run are dropped.
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // What the store held at open().
  const RegistryContents& recovered() const { return recovered_; }
  // When open() moved a corrupt registry aside, where it went; "" otherwise.
  const std::string& movedAside() const { return movedAside_; }
  const std::string& path() const { return backend_->location(); }

  // Queues `mutations` (applied in order, atomically); `done` may be empty.
  void write(std::vector<Mutation> mutations, Done done = {});
  // `done` runs once everything queued so far is durable.
  void sync(Done done) { write({}, std::move(done)); }

  // While held, nothing reaches the backend (tests check that answers wait
  // for the registry); on release, everything held goes in one submit.
  void hold(bool held);
  RegistrarStats stats() const { return stats_; }

 private:
  struct Held {
    std::vector<Mutation> mutations;
    Done done;
  };
  struct Inflight {
    std::vector<Done> dones;
    TimePoint start;
  };
  Registrar(EventLoop& loop, std::unique_ptr<RegistryBackend> backend);
  void dispatch(std::vector<Mutation> mutations, std::vector<Done> dones);
  void complete(const Status& status);

  EventLoop& loop_;
  std::unique_ptr<RegistryBackend> backend_;
  std::string movedAside_;
  RegistryContents recovered_;
  bool held_ = false;
  std::vector<Held> heldWrites_;
  std::deque<Inflight> inflight_;
  RegistrarStats stats_;
  // Guards completions against a destroyed registrar.
  LifetimeGuard lifetime_;
};

}  // namespace agora::master
