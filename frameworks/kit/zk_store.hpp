#pragma once
// The Store in ZooKeeper, for a framework run as several instances with
// --zk zk://HOST:PORT[,...]/PATH: they share its records, and only the
// elected leader writes (setFence() makes that a guarantee, not a habit).
//
// One persistent znode per record, <PATH>/store/<escaped key> (a key may hold
// any bytes; each becomes one node name), the record's version its data
// version + 1. A commit is one ZooKeeper multi: every write applies or none
// does, and it is durable (on a quorum) when it returns.
//
// The Store interface is synchronous, so this store blocks the calling thread
// on the C client's synchronous calls: for a connection, up to the connect
// timeout; for an answer, up to the session timeout. It owns its own session (no ephemeral nodes):
// a session that expired is replaced on the next call, so the store works again once ZooKeeper is
// back. While ZooKeeper is unreachable calls fail with kUnavailable; a commit failing so may or may
// not have been applied (all of it or none), so a caller rereads before retrying it.
//
// Thread: one at a time (the framework's loop); the client's own threads
// only wake a waiting call.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "frameworks/kit/store.hpp"

typedef struct _zhandle zhandle_t;

namespace agora::kit {

class ZkStore final : public Store {
 public:
  struct Options {
    Duration sessionTimeout = seconds(10);
    // How long open() and each later call wait for a connection (zero: the
    // session timeout).
    Duration connectTimeout = Duration::zero();
  };
  // The largest value a record holds (ZooKeeper refuses requests past about
  // 1 MiB); larger ones, and transactions past the request limit, are
  // refused with kInvalidArgument before anything is written.
  static constexpr size_t kMaxValueBytes = 1000 * 1000;

  // Connects and creates <PATH>/store when missing. kInvalidArgument for a
  // bad URL, kUnavailable naming the servers when none answers in time.
  static Result<std::unique_ptr<ZkStore>> open(const std::string& zkUrl, Options options);
  static Result<std::unique_ptr<ZkStore>> open(const std::string& zkUrl) {
    return open(zkUrl, Options{});
  }
  ~ZkStore() override;
  ZkStore(const ZkStore&) = delete;
  ZkStore& operator=(const ZkStore&) = delete;

  Result<std::optional<Record>> get(const std::string& key) override;
  Result<std::vector<Record>> list(const std::string& prefix) override;

  // Every later commit applies only while the znode `path` exists (a check
  // in the same multi). The framework passes its own ephemeral election node
  // (Election::nodePath()): once its session is gone, so is the node, and a
  // commit fails with kFailedPrecondition — an instance that no longer leads
  // cannot write. Empty: no fence.
  void setFence(std::string path) { fence_ = std::move(path); }
  const std::string& fence() const { return fence_; }
  // The znode holding the records: <PATH>/store.
  const std::string& root() const { return root_; }

  // A key as one znode name, and back (nullopt for a name no key encodes).
  static std::string encodeKey(const std::string& key);
  static std::optional<std::string> decodeKey(const std::string& name);

 protected:
  Result<std::vector<Record>> apply(const std::vector<Write>& writes) override;

 private:
  // How the client's threads wake a call waiting for the connection: each
  // session event notifies. Outlives every handle (closed before it goes).
  struct Signal {
    std::mutex mutex;
    std::condition_variable changed;
  };
  struct Plan;

  ZkStore(std::string servers, std::string root, Options options);
  // A connected handle, a new one when the session expired; kUnavailable
  // when none connects within the connect timeout.
  Status connect();
  void closeHandle();
  Status ensureRoot();
  Error failure(int rc, const std::string& what) const;
  std::string nodePath(const std::string& key) const { return root_ + "/" + encodeKey(key); }
  // The record's version, 0 when absent.
  Result<uint64_t> versionOf(const std::string& key);
  Result<std::optional<Record>> read(const std::string& key);
  // The ops of one attempt at `writes`, reading the versions it needs.
  Status plan(const std::vector<Write>& writes, Plan& plan);
  // One multi for `writes`: true when applied (`out` holds the records),
  // false when a write without an expected version raced with another
  // writer and `mayRetry` (the caller reads again and retries).
  Result<bool> tryApply(const std::vector<Write>& writes, bool mayRetry, std::vector<Record>& out);

  const std::string servers_;
  const std::string root_;
  const Options options_;
  std::string fence_;
  Signal signal_;
  zhandle_t* handle_ = nullptr;
};

}  // namespace agora::kit
