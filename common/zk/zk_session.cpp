#include "common/zk/zk_session.hpp"

#include <glog/logging.h>
#include <zookeeper/zookeeper.h>

#include <cstdio>

namespace agora::zk {

// The context the C client hands back to our callbacks, one per handle. Lives
// until that handle is closed (zookeeper_close() runs the last callbacks).
struct ZkSession::Bridge {
  EventLoop* loop;
  ZkSession* session;
  LifetimeGuard::Token alive;
  uint64_t generation;
};

namespace {
struct OpData {
  ZkSession::Bridge* bridge;
  uint64_t id;
};
constexpr auto kReopenRetry = std::chrono::seconds(1);
}  // namespace

// The C client's callbacks (its threads): each hops to the loop, where a
// destroyed session or a stale generation is ignored.
struct SessionAccess {
  static void post(ZkSession::Bridge* bridge, std::function<void(ZkSession&, uint64_t)> fn) {
    bridge->loop->post([alive = bridge->alive, session = bridge->session,
                        generation = bridge->generation, fn = std::move(fn)] {
      if (LifetimeGuard::live(alive)) fn(*session, generation);
    });
  }
  static void deliver(const void* data, ZkSession::Reply reply) {
    std::unique_ptr<const OpData> op(static_cast<const OpData*>(data));
    post(op->bridge, [id = op->id, reply = std::move(reply)](ZkSession& s, uint64_t generation) {
      s.onReply(generation, id, reply);
    });
  }
  static void watcher(zhandle_t*, int type, int state, const char* path, void* context) {
    auto* bridge = static_cast<ZkSession::Bridge*>(context);
    std::string node = path ? path : "";
    post(bridge, [type, state, node](ZkSession& s, uint64_t generation) {
      if (generation != s.generation_) return;
      if (type == ZOO_SESSION_EVENT) return s.onSessionEvent(state);
      s.onNodeEvent(generation, node);
    });
  }
  static void stringDone(int rc, const char* value, const void* data) {
    deliver(data, ZkSession::Reply{rc, rc == ZOK && value ? value : "", {}});
  }
  static void dataDone(int rc, const char* value, int length, const struct Stat*,
                       const void* data) {
    ZkSession::Reply reply{rc, {}, {}};
    if (rc == ZOK && value && length > 0) reply.value.assign(value, static_cast<size_t>(length));
    deliver(data, std::move(reply));
  }
  static void childrenDone(int rc, const struct String_vector* strings, const void* data) {
    ZkSession::Reply reply{rc, {}, {}};
    if (rc == ZOK && strings) {
      for (int i = 0; i < strings->count; ++i) reply.children.emplace_back(strings->data[i]);
    }
    deliver(data, std::move(reply));
  }
  static void statDone(int rc, const struct Stat*, const void* data) {
    deliver(data, ZkSession::Reply{rc, {}, {}});
  }
  static void voidDone(int rc, const void* data) { deliver(data, ZkSession::Reply{rc, {}, {}}); }
};

Error zkError(int rc, const std::string& what) {
  ErrorCode code = rc == ZNONODE       ? ErrorCode::kNotFound
                   : rc == ZNODEEXISTS ? ErrorCode::kAlreadyExists
                   : rc == ZCONNECTIONLOSS || rc == ZSESSIONEXPIRED || rc == ZCLOSING ||
                           rc == ZOPERATIONTIMEOUT || rc == ZINVALIDSTATE
                       ? ErrorCode::kUnavailable
                       : ErrorCode::kInternal;
  return Error{code, what + ": " + zerror(rc)};
}

Result<std::unique_ptr<ZkSession>> ZkSession::create(EventLoop& loop, Options options) {
  static bool quiet = [] {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return true;
  }();
  (void)quiet;
  std::unique_ptr<ZkSession> session(new ZkSession(loop, std::move(options)));
  if (Status opened = session->open(); !opened) return makeError(opened.error());
  return session;
}

ZkSession::ZkSession(EventLoop& loop, Options options)
    : loop_(loop), options_(std::move(options)) {}

ZkSession::~ZkSession() {
  lifetime_.invalidate();
  loop_.cancelTimer(expiryTimer_);
  loop_.cancelTimer(reopenTimer_);
  closeHandle();
}

Status ZkSession::open() {
  ++generation_;
  bridge_.reset(new Bridge{&loop_, this, lifetime_.token(), generation_});
  int timeoutMs = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.sessionTimeout).count());
  handle_ = zookeeper_init(options_.servers.c_str(), &SessionAccess::watcher, timeoutMs, nullptr,
                           bridge_.get(), 0);
  if (!handle_) {
    return makeError(
        errnoError("cannot start a ZooKeeper session with " + options_.servers, errno));
  }
  return {};
}

void ZkSession::closeHandle() {
  if (handle_) zookeeper_close(handle_);  // runs pending completions with ZCLOSING
  handle_ = nullptr;
  bridge_.reset();
  pending_.clear();
  watches_.clear();
}

Duration ZkSession::sessionTimeout() const {
  int ms = handle_ && connected_ ? zoo_recv_timeout(handle_) : 0;
  return ms > 0 ? millis(ms) : options_.sessionTimeout;
}

int ZkSession::addListener(Listener listener) {
  listeners_[nextListenerId_] = std::move(listener);
  return nextListenerId_++;
}

void ZkSession::removeListener(int id) { listeners_.erase(id); }

void ZkSession::emit(Event event) {
  auto listeners = listeners_;  // a listener may remove itself
  for (auto& [id, listener] : listeners) {
    if (listeners_.count(id)) listener(event);
  }
}

void ZkSession::onSessionEvent(int state) {
  if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
    if (connected_) return;
    connected_ = true;
    loop_.cancelTimer(expiryTimer_);
    expiryTimer_ = 0;
    const clientid_t* client = zoo_client_id(handle_);
    char hex[32];
    std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(client->client_id));
    if (sessionId_ != hex)
      LOG(INFO) << "ZooKeeper session 0x" << hex << " with " << options_.servers;
    sessionId_ = hex;
    return emit(Event::kConnected);
  }
  if (state == ZOO_EXPIRED_SESSION_STATE) return expire("ZooKeeper expired the session");
  if (state == ZOO_AUTH_FAILED_STATE) return expire("ZooKeeper authentication failed");
  if (!connected_) return;  // still (re)connecting
  connected_ = false;
  Duration timeout = millis(zoo_recv_timeout(handle_));
  LOG(WARNING) << "lost the connection to ZooKeeper (" << options_.servers
               << "); the session expires unless it is back within "
               << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms";
  expiryTimer_ = loop_.addTimer(timeout, [this] {
    expiryTimer_ = 0;
    if (!connected_) expire("no connection to ZooKeeper within the session timeout");
  });
  emit(Event::kDisconnected);
}

void ZkSession::expire(const std::string& why) {
  LOG(WARNING) << "ZooKeeper session 0x" << sessionId_ << " is gone: " << why
               << "; starting a new one";
  loop_.cancelTimer(expiryTimer_);
  expiryTimer_ = 0;
  connected_ = false;
  closeHandle();
  emit(Event::kExpired);
  if (Status opened = open(); !opened) {
    LOG(ERROR) << opened.error().message << "; retrying";
    reopenTimer_ = loop_.addPeriodic(kReopenRetry, [this] {
      if (!handle_ && open()) loop_.cancelTimer(reopenTimer_);
    });
  }
}

void ZkSession::issue(const std::function<int(void*)>& start,
                      std::function<void(const Reply&)> done) {
  uint64_t id = nextOpId_++;
  int rc = ZINVALIDSTATE;
  if (handle_) {
    auto* data = new OpData{bridge_.get(), id};
    rc = start(data);
    if (rc != ZOK) delete data;  // the completion will not run
  }
  if (rc != ZOK) {
    loop_.post(lifetime_.wrap([done = std::move(done), rc] { done(Reply{rc, {}, {}}); }));
    return;
  }
  pending_[id] = std::move(done);
}

void ZkSession::onReply(uint64_t generation, uint64_t id, const Reply& reply) {
  if (generation != generation_) return;
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second);
  pending_.erase(it);
  done(reply);
}

void ZkSession::onNodeEvent(uint64_t generation, const std::string& path) {
  if (generation != generation_) return;
  auto range = watches_.equal_range(path);
  std::vector<Watch> fired;
  for (auto it = range.first; it != range.second; ++it) fired.push_back(std::move(it->second));
  watches_.erase(range.first, range.second);
  for (auto& watch : fired) watch();
}

void ZkSession::addWatch(const std::string& path, Watch watch) {
  if (watch) watches_.emplace(path, std::move(watch));
}

void ZkSession::create(const std::string& path, const std::string& data, bool ephemeralSequential,
                       std::function<void(Result<std::string>)> done) {
  int mode = ephemeralSequential ? ZOO_EPHEMERAL_SEQUENTIAL : 0;
  issue(
      [&](void* op) {
        return zoo_acreate(handle_, path.c_str(), data.data(), static_cast<int>(data.size()),
                           &ZOO_OPEN_ACL_UNSAFE, mode, &SessionAccess::stringDone, op);
      },
      [path, done = std::move(done)](const Reply& r) {
        if (r.rc != ZOK) return done(makeError(zkError(r.rc, "create " + path)));
        done(r.value);
      });
}

void ZkSession::ensurePath(const std::string& path, std::function<void(Status)> done) {
  std::vector<std::string> chain;  // "/a", "/a/b", ... path
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    chain.push_back(path.substr(0, slash));
  }
  chain.push_back(path);
  createChain(std::move(chain), 0, std::move(done));
}

void ZkSession::createChain(std::vector<std::string> chain, size_t index,
                            std::function<void(Status)> done) {
  std::string node = chain[index];
  create(node, "", false,
         [this, chain = std::move(chain), index, done = std::move(done)](Result<std::string> r) {
           if (!r && r.error().code != ErrorCode::kAlreadyExists) return done(makeError(r.error()));
           if (index + 1 == chain.size()) return done({});
           createChain(chain, index + 1, done);
         });
}

void ZkSession::getChildren(const std::string& path, Watch watch,
                            std::function<void(Result<std::vector<std::string>>)> done) {
  int watching = watch ? 1 : 0;  // read before the completion takes `watch`
  issue(
      [&](void* op) {
        return zoo_aget_children(handle_, path.c_str(), watching, &SessionAccess::childrenDone, op);
      },
      [this, path, watch = std::move(watch), done = std::move(done)](const Reply& r) mutable {
        if (r.rc != ZOK) return done(makeError(zkError(r.rc, "list " + path)));
        addWatch(path, std::move(watch));
        done(r.children);
      });
}

void ZkSession::get(const std::string& path, std::function<void(Result<std::string>)> done) {
  issue([&](void* op) { return zoo_aget(handle_, path.c_str(), 0, &SessionAccess::dataDone, op); },
        [path, done = std::move(done)](const Reply& r) {
          if (r.rc != ZOK) return done(makeError(zkError(r.rc, "read " + path)));
          done(r.value);
        });
}

void ZkSession::exists(const std::string& path, Watch watch,
                       std::function<void(Result<bool>)> done) {
  int watching = watch ? 1 : 0;  // read before the completion takes `watch`
  issue(
      [&](void* op) {
        return zoo_aexists(handle_, path.c_str(), watching, &SessionAccess::statDone, op);
      },
      [this, path, watch = std::move(watch), done = std::move(done)](const Reply& r) mutable {
        if (r.rc != ZOK && r.rc != ZNONODE) return done(makeError(zkError(r.rc, "stat " + path)));
        addWatch(path, std::move(watch));
        done(r.rc == ZOK);
      });
}

void ZkSession::remove(const std::string& path, std::function<void(Status)> done) {
  issue(
      [&](void* op) {
        return zoo_adelete(handle_, path.c_str(), -1, &SessionAccess::voidDone, op);
      },
      [path, done = std::move(done)](const Reply& r) {
        if (r.rc != ZOK) return done(makeError(zkError(r.rc, "delete " + path)));
        done({});
      });
}

namespace {

const char* opName(ZkSession::Op::Kind kind) {
  switch (kind) {
    case ZkSession::Op::Kind::kCreate:
      return "create";
    case ZkSession::Op::Kind::kSet:
      return "set";
    case ZkSession::Op::Kind::kDelete:
      return "delete";
    case ZkSession::Op::Kind::kCheck:
      return "check";
  }
  return "op";
}

// What the client writes the per-op results into when the reply arrives; it
// must outlive the request, so the completion owns it.
struct MultiBuffers {
  std::vector<zoo_op_result_t> results;
  std::vector<struct Stat> stats;
  std::vector<std::string> createdPaths;
};

}  // namespace

void ZkSession::multi(std::vector<Op> ops, std::function<void(Status)> done) {
  auto buffers = std::make_shared<MultiBuffers>();
  size_t count = ops.size();
  buffers->results.resize(count);
  buffers->stats.resize(count);
  buffers->createdPaths.resize(count);
  std::vector<zoo_op_t> requests(count);
  for (size_t i = 0; i < count; ++i) {
    const Op& op = ops[i];
    int size = static_cast<int>(op.data.size());
    switch (op.kind) {
      case Op::Kind::kCreate:
        buffers->createdPaths[i].assign(op.path.size() + 16, '\0');
        zoo_create_op_init(&requests[i], op.path.c_str(), op.data.data(), size,
                           &ZOO_OPEN_ACL_UNSAFE, 0, buffers->createdPaths[i].data(),
                           static_cast<int>(buffers->createdPaths[i].size()));
        break;
      case Op::Kind::kSet:
        zoo_set_op_init(&requests[i], op.path.c_str(), op.data.data(), size, op.version,
                        &buffers->stats[i]);
        break;
      case Op::Kind::kDelete:
        zoo_delete_op_init(&requests[i], op.path.c_str(), op.version);
        break;
      case Op::Kind::kCheck:
        zoo_check_op_init(&requests[i], op.path.c_str(), op.version);
        break;
    }
  }
  issue(
      [&](void* data) {
        // The request is serialized here; only the results live on.
        return zoo_amulti(handle_, static_cast<int>(count), requests.data(),
                          buffers->results.data(), &SessionAccess::voidDone, data);
      },
      [ops = std::move(ops), buffers, done = std::move(done)](const Reply& r) {
        if (r.rc == ZOK) return done({});
        for (size_t i = 0; i < ops.size(); ++i) {
          int rc = buffers->results[i].err;
          if (rc != ZOK && rc != ZRUNTIMEINCONSISTENCY) {
            return done(makeError(
                zkError(rc, std::string("multi: ") + opName(ops[i].kind) + " " + ops[i].path)));
          }
        }
        done(makeError(zkError(r.rc, "multi of " + std::to_string(ops.size()) + " ops")));
      });
}

}  // namespace agora::zk
