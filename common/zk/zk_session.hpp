#pragma once
// A ZooKeeper session (C client, multi-threaded library) whose every
// callback runs on the owner's EventLoop: the client's own threads only
// post() to it.
//
// Session life: the client connects and reconnects by itself. A connection
// loss is reported as kDisconnected; the session (and its ephemeral nodes)
// may still be alive. It is reported kExpired, and a fresh session is started,
// when ZooKeeper says it expired or when no connection came back within the
// negotiated session timeout (ZooKeeper itself may be down and cannot say so).
// On kExpired every pending operation and watch of the old session is dropped
// without a call; owners redo their work on the next kConnected.
//
// Thread: create() and every method on the loop thread.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"

typedef struct _zhandle zhandle_t;

namespace agora::zk {

class ZkSession {
 public:
  enum class Event { kConnected, kDisconnected, kExpired };
  struct Options {
    std::string servers;  // "h1:2181,h2:2181"
    Duration sessionTimeout = seconds(10);
  };
  using Listener = std::function<void(Event)>;
  // One-shot: the watched node or its children changed.
  using Watch = std::function<void()>;

  // Starts connecting. kInvalidArgument when the client rejects `servers`.
  // REQUIRES: loop outlives the session.
  static Result<std::unique_ptr<ZkSession>> create(EventLoop& loop, Options options);
  // Closes the session: its ephemeral nodes go away at once.
  ~ZkSession();
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  // Called on every session event, in registration order. Returns an ID for removeListener.
  int addListener(Listener listener);
  void removeListener(int id);

  bool connected() const { return connected_; }
  // The current session's ID in hex; empty until first connected.
  const std::string& sessionId() const { return sessionId_; }
  // The timeout the server granted (the requested one until connected).
  Duration sessionTimeout() const;

  // Completions run on the loop. Errors: kNotFound (no node), kAlreadyExists,
  // kUnavailable (connection loss, closing), kInternal (anything else).
  // create(): an EPHEMERAL|SEQUENTIAL node when `ephemeralSequential`, else
  // persistent; yields the created path.
  void create(const std::string& path, const std::string& data, bool ephemeralSequential,
              std::function<void(Result<std::string>)> done);
  // Creates `path` and its missing ancestors as empty persistent nodes.
  void ensurePath(const std::string& path, std::function<void(Status)> done);
  // `watch` (may be empty) is set when the call succeeds.
  void getChildren(const std::string& path, Watch watch,
                   std::function<void(Result<std::vector<std::string>>)> done);
  void get(const std::string& path, std::function<void(Result<std::string>)> done);
  // `watch` (may be empty) is set whether or not the node exists.
  void exists(const std::string& path, Watch watch, std::function<void(Result<bool>)> done);
  void remove(const std::string& path, std::function<void(Status)> done);

  // One operation of a multi(): all of them apply, in order, or none does.
  struct Op {
    enum class Kind { kCreate, kSet, kDelete, kCheck } kind;
    std::string path;
    std::string data;  // kCreate (persistent node), kSet
    int version = -1;  // kSet, kDelete, kCheck: -1 matches any version (kCheck: exists)
  };
  // Applies `ops` atomically. Calls issued one after another complete in
  // that order (ZooKeeper answers a session's requests in order), so callers
  // may keep several in flight. A failure names the first op that failed.
  void multi(std::vector<Op> ops, std::function<void(Status)> done);

  struct Reply {
    int rc = 0;
    std::string value;
    std::vector<std::string> children;
  };
  struct Bridge;

 private:
  friend struct SessionAccess;

  ZkSession(EventLoop& loop, Options options);
  Status open();
  void closeHandle();
  void onSessionEvent(int state);
  void expire(const std::string& why);
  void emit(Event event);
  // Registers `done` for the reply of an operation `start` issues; start
  // returns the client's immediate result code.
  void issue(const std::function<int(void* data)>& start, std::function<void(const Reply&)> done);
  void onReply(uint64_t generation, uint64_t id, const Reply& reply);
  void onNodeEvent(uint64_t generation, const std::string& path);
  void addWatch(const std::string& path, Watch watch);
  void createChain(std::vector<std::string> chain, size_t index, std::function<void(Status)> done);

  EventLoop& loop_;
  Options options_;
  std::unique_ptr<Bridge> bridge_;
  zhandle_t* handle_ = nullptr;
  uint64_t generation_ = 0;
  bool connected_ = false;
  std::string sessionId_;
  EventLoop::TimerId expiryTimer_ = 0;
  EventLoop::TimerId reopenTimer_ = 0;
  uint64_t nextOpId_ = 1;
  std::map<uint64_t, std::function<void(const Reply&)>> pending_;
  std::multimap<std::string, Watch> watches_;
  int nextListenerId_ = 1;
  std::map<int, Listener> listeners_;
  LifetimeGuard lifetime_;
};

// "no node", "connection loss", ... for a ZooKeeper result code.
Error zkError(int rc, const std::string& what);

}  // namespace agora::zk
