#pragma once
// The registry in ZooKeeper, shared by highly available masters: one znode per
// record under ELECTION_PATH/registry (layout in znode_layout.hpp and
// schemas/registry.capnp), so a new leader recovers exactly what the previous
// one admitted. No consensus of our own: ZooKeeper's is the only one.
//
// Fencing: every write is one multi-op that first checks the leader's own
// EPHEMERAL election znode. Once that leader's session is gone (it was
// deposed, or is partitioned from ZooKeeper) the znode is gone, and its writes
// fail as a whole: a stale leader can never overwrite a newer leader's state.
//
// Durability: a write completes when ZooKeeper's quorum has logged it.
// Writes are pipelined: each submit is sent at once and ZooKeeper answers a
// session's requests in order. After any failed write (fenced, connection
// lost with the outcome unknown) the registry's view of what exists is no
// longer trusted: every later write fails and onFailure runs once, so the
// master stops and a leader with a fresh read takes over.
//
// Threading: the session's loop.

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/zk/zk_session.hpp"
#include "master/registry/registry_backend.hpp"
#include "master/registry/znode_layout.hpp"

namespace agora::master {

class ZkRegistry final : public RegistryBackend {
 public:
  // `electionPath`: absolute, the masters' election path; `servers` only
  // names the registry in messages. REQUIRES: loop and session outlive the registry.
  ZkRegistry(EventLoop& loop, zk::ZkSession& session, std::string servers,
             const std::string& electionPath);
  ~ZkRegistry() override;
  ZkRegistry(const ZkRegistry&) = delete;
  ZkRegistry& operator=(const ZkRegistry&) = delete;

  // At leadership takeover: creates the registry's znodes if absent, reads
  // every record, and fences all later writes on `fenceNode` (the full path of
  // this leader's election znode). A corrupt record fails with its znode
  // path, unless `fresh`: then corrupt records are moved aside (see
  // schemas/registry.capnp) and the rest recovered. Writes submitted before
  // the takeover completed fail.
  void takeover(std::string fenceNode, bool fresh,
                std::function<void(Result<RegistryContents>)> done);

  void submit(std::vector<Mutation> mutations, Done done) override;
  const std::string& location() const override { return location_; }
  // ELECTION_PATH/registry
  const std::string& root() const { return root_; }

  // Runs once, on the loop, when the first write fails.
  void setOnFailure(std::function<void(const Error&)> onFailure) {
    onFailure_ = std::move(onFailure);
  }

 private:
  struct Loaded;
  void readMeta(std::shared_ptr<Loaded> load, bool created);
  void listKinds(std::shared_ptr<Loaded> load);
  // Lists one kind's znodes and reads each; `settle` runs once per started read.
  void readKind(std::shared_ptr<Loaded> load, const znodes::KindDir& kind, bool created,
                std::function<void()> settle);
  void finishLoad(std::shared_ptr<Loaded> load);
  void moveAside(std::shared_ptr<Loaded> load, size_t index);
  void fail(const Error& error);
  template <class F>
  auto guarded(F fn) {
    return lifetime_.wrap(std::move(fn));
  }

  EventLoop& loop_;
  zk::ZkSession& session_;
  const std::string electionPath_;
  const std::string root_;
  const std::string location_;
  std::string fence_;  // empty until the takeover completed
  std::set<std::string> existing_;
  std::optional<Error> failed_;
  std::function<void(const Error&)> onFailure_;
  LifetimeGuard lifetime_;
};

}  // namespace agora::master
