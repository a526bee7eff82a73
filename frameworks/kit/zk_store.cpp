#include "frameworks/kit/zk_store.hpp"

#include <glog/logging.h>
// The C client's synchronous calls are declared only for its multi-threaded
// library (zookeeper_mt, which agora_zk links).
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "common/zk/zk_session.hpp"
#include "common/zk/zk_url.hpp"

namespace agora::kit {

namespace {

// ZooKeeper refuses a request past jute.maxbuffer (1 MiB - 1) by dropping the
// connection; a commit's estimated size (paths, values, a per-op allowance
// for headers and the ACL) stays below it with room to spare.
constexpr size_t kMaxRequestBytes = 1040 * 1000;
constexpr size_t kOpOverhead = 64;
// Attempts of a commit whose writes without an expected version race with
// another writer (each attempt reads the versions again).
constexpr int kAttempts = 3;
constexpr size_t kFirstReadBytes = 4096;
constexpr const char* kHex = "0123456789ABCDEF";

bool plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isConflict(int rc) { return rc == ZBADVERSION || rc == ZNODEEXISTS || rc == ZNONODE; }

}  // namespace

std::string ZkStore::encodeKey(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    // A leading '.' is escaped, so no name is "." or "..".
    if (plain(c) && !(i == 0 && c == '.')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (out == "zookeeper") out = "%7Aookeeper";  // reserved by ZooKeeper
  return out;
}

std::optional<std::string> ZkStore::decodeKey(const std::string& name) {
  std::string key;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      key.push_back(name[i]);
      continue;
    }
    int high = i + 2 < name.size() ? hexValue(name[i + 1]) : -1;
    int low = i + 2 < name.size() ? hexValue(name[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    key.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  // Only the one name encodeKey gives: a node someone else made is no record.
  if (key.empty() || encodeKey(key) != name) return std::nullopt;
  return key;
}

Result<std::unique_ptr<ZkStore>> ZkStore::open(const std::string& zkUrl, Options options) {
  static bool quiet = [] {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return true;
  }();
  (void)quiet;
  auto url = zk::parseZkUrl(zkUrl);
  if (!url) return makeError(url.error());
  std::unique_ptr<ZkStore> store(new ZkStore(url->servers, url->path + "/store", options));
  if (Status connected = store->connect(); !connected) return makeError(connected.error());
  return store;
}

ZkStore::ZkStore(std::string servers, std::string root, Options options)
    : servers_(std::move(servers)), root_(std::move(root)), options_(options) {}

ZkStore::~ZkStore() { closeHandle(); }

void ZkStore::closeHandle() {
  if (handle_) zookeeper_close(handle_);  // joins the client's threads
  handle_ = nullptr;
}

Error ZkStore::failure(int rc, const std::string& what) const {
  return zk::zkError(rc, "state store zk://" + servers_ + root_ + ": " + what);
}

Status ZkStore::connect() {
  Duration wait = options_.connectTimeout > Duration::zero() ? options_.connectTimeout
                                                             : options_.sessionTimeout;
  // Real time: the wait is for the client's threads, not for the loop.
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto unrecoverable = [](int state) {
    return state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE;
  };
  bool fresh = false;
  for (;;) {
    if (handle_ && unrecoverable(zoo_state(handle_))) {
      LOG(WARNING) << "the ZooKeeper session of state store zk://" << servers_ << root_
                   << " expired; starting a new one";
      closeHandle();
    }
    if (!handle_) {
      auto timeoutMs =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.sessionTimeout);
      watcher_fn notify = [](zhandle_t*, int, int, const char*, void* context) {
        auto* signal = static_cast<Signal*>(context);
        std::lock_guard<std::mutex> lock(signal->mutex);
        signal->changed.notify_all();
      };
      handle_ = zookeeper_init(servers_.c_str(), notify, static_cast<int>(timeoutMs.count()),
                               nullptr, &signal_, 0);
      if (!handle_) {
        return makeError(errnoError("cannot start a ZooKeeper session with " + servers_, errno));
      }
      fresh = true;
    }
    int state = 0;
    {
      std::unique_lock<std::mutex> lock(signal_.mutex);
      signal_.changed.wait_until(lock, deadline, [&] {
        state = zoo_state(handle_);
        return state == ZOO_CONNECTED_STATE || unrecoverable(state);
      });
    }
    if (state == ZOO_CONNECTED_STATE) break;
    if (!unrecoverable(state) || std::chrono::steady_clock::now() >= deadline) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
      return makeError(ErrorCode::kUnavailable,
                       "state store zk://" + servers_ + root_ + ": ZooKeeper at " + servers_ +
                           " is unreachable (no connection within " + std::to_string(ms) + " ms)");
    }
  }
  return fresh ? ensureRoot() : Status{};
}

Status ZkStore::ensureRoot() {
  struct Stat stat {};
  int rc = zoo_exists(handle_, root_.c_str(), 0, &stat);
  if (rc == ZOK) return {};
  if (rc != ZNONODE) return makeError(failure(rc, "reading " + root_));
  for (size_t slash = root_.find('/', 1);; slash = root_.find('/', slash + 1)) {
    std::string path = root_.substr(0, slash);
    rc = zoo_create(handle_, path.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) return makeError(failure(rc, "creating " + path));
    if (slash == std::string::npos) return {};
  }
}

Result<uint64_t> ZkStore::versionOf(const std::string& key) {
  struct Stat stat {};
  int rc = zoo_exists(handle_, nodePath(key).c_str(), 0, &stat);
  if (rc == ZNONODE) return uint64_t{0};
  if (rc != ZOK) return makeError(failure(rc, "reading '" + key + "'"));
  return static_cast<uint64_t>(stat.version) + 1;
}

Result<std::optional<Record>> ZkStore::read(const std::string& key) {
  std::string path = nodePath(key);
  std::vector<char> buffer(kFirstReadBytes);
  for (;;) {
    struct Stat stat {};
    int length = static_cast<int>(buffer.size());
    int rc = zoo_get(handle_, path.c_str(), 0, buffer.data(), &length, &stat);
    if (rc == ZNONODE) return std::optional<Record>();
    if (rc != ZOK) return makeError(failure(rc, "reading '" + key + "'"));
    if (stat.dataLength > static_cast<int>(buffer.size())) {
      buffer.resize(static_cast<size_t>(stat.dataLength));  // larger than guessed: again
      continue;
    }
    std::string value = length > 0 ? std::string(buffer.data(), static_cast<size_t>(length)) : "";
    return std::optional<Record>(
        Record{key, std::move(value), static_cast<uint64_t>(stat.version) + 1});
  }
}

Result<std::optional<Record>> ZkStore::get(const std::string& key) {
  if (key.empty()) return std::optional<Record>();
  if (Status connected = connect(); !connected) return makeError(connected.error());
  return read(key);
}

Result<std::vector<Record>> ZkStore::list(const std::string& prefix) {
  if (Status connected = connect(); !connected) return makeError(connected.error());
  struct String_vector children {};
  int rc = zoo_get_children(handle_, root_.c_str(), 0, &children);
  if (rc == ZNONODE) return std::vector<Record>();  // removed by hand: made again on a write
  if (rc != ZOK) return makeError(failure(rc, "listing '" + prefix + "'"));
  std::vector<std::string> keys;
  for (int i = 0; i < children.count; ++i) {
    auto key = decodeKey(children.data[i]);
    if (!key) {
      LOG(WARNING) << "state store zk://" << servers_ << root_ << ": ignoring node '"
                   << children.data[i] << "' (not a record)";
    } else if (key->compare(0, prefix.size(), prefix) == 0) {
      keys.push_back(std::move(*key));
    }
  }
  deallocate_String_vector(&children);
  std::sort(keys.begin(), keys.end());
  std::vector<Record> out;
  for (const std::string& key : keys) {
    auto record = read(key);
    if (!record) return makeError(record.error());
    if (*record) out.push_back(std::move(**record));  // erased since listed: not there
  }
  return out;
}

Result<std::vector<Record>> ZkStore::apply(const std::vector<Write>& writes) {
  size_t request = kOpOverhead + (fence_.empty() ? 0 : fence_.size() + kOpOverhead);
  for (const Write& write : writes) {
    size_t bytes = write.value ? write.value->size() : 0;
    if (bytes > kMaxValueBytes) {
      return makeError(ErrorCode::kInvalidArgument,
                       "record '" + write.key + "': a value of " + std::to_string(bytes) +
                           " bytes is over the ZooKeeper store's limit of " +
                           std::to_string(kMaxValueBytes));
    }
    request += 2 * (nodePath(write.key).size() + kOpOverhead) + bytes;
  }
  if (request > kMaxRequestBytes) {
    return makeError(ErrorCode::kInvalidArgument,
                     "a transaction of about " + std::to_string(request) +
                         " bytes is over ZooKeeper's request limit of " +
                         std::to_string(kMaxRequestBytes) + "; split it");
  }
  for (int attempt = 1;; ++attempt) {
    if (Status connected = connect(); !connected) return makeError(connected.error());
    std::vector<Record> out;
    auto applied = tryApply(writes, attempt < kAttempts, out);
    if (!applied) return makeError(applied.error());
    if (*applied) return out;
  }
}

// A commit as ZooKeeper ops, for one attempt (versions read now).
struct ZkStore::Plan {
  std::vector<std::string> paths;  // referenced by the ops: reserved, never moved
  std::vector<zoo_op_t> ops;
  std::vector<size_t> opWrite;     // the write each op is for; writes.size() for the fence
  std::vector<uint64_t> versions;  // each write's record version once applied
};

Status ZkStore::plan(const std::vector<Write>& writes, Plan& plan) {
  plan.paths.reserve(writes.size());
  plan.versions.assign(writes.size(), 0);
  if (!fence_.empty()) {
    plan.ops.emplace_back();
    zoo_check_op_init(&plan.ops.back(), fence_.c_str(), -1);
    plan.opWrite.push_back(writes.size());
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    const Write& write = writes[i];
    const char* path = plan.paths.emplace_back(nodePath(write.key)).c_str();
    std::optional<uint64_t> expected = write.expected;
    if (!expected) {
      auto actual = versionOf(write.key);
      if (!actual) return makeError(actual.error());
      if (!write.value && *actual == 0) continue;  // erasing what is not there
      expected = *actual;
    }
    if (*expected > static_cast<uint64_t>(INT_MAX) + 1) {  // no znode gets there
      auto actual = versionOf(write.key);
      if (!actual) return makeError(actual.error());
      return makeError(versionConflict(write.key, write.expected, *actual));
    }
    int zkVersion = *expected == 0 ? -1 : static_cast<int>(*expected - 1);
    auto add = [&](auto init, auto... args) {
      plan.ops.emplace_back();
      init(&plan.ops.back(), path, args...);
      plan.opWrite.push_back(i);
    };
    if (write.value) {
      const std::string& value = *write.value;
      if (*expected == 0) {
        add(zoo_create_op_init, value.data(), static_cast<int>(value.size()), &ZOO_OPEN_ACL_UNSAFE,
            ZOO_PERSISTENT, nullptr, 0);
      } else {
        add(zoo_set_op_init, value.data(), static_cast<int>(value.size()), zkVersion, nullptr);
      }
      plan.versions[i] = *expected + 1;
    } else if (*expected == 0) {
      // "Must not exist", atomically: a create (fails when it exists) undone.
      add(zoo_create_op_init, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
      add(zoo_delete_op_init, 0);
    } else {
      add(zoo_delete_op_init, zkVersion);
    }
  }
  return {};
}

Result<bool> ZkStore::tryApply(const std::vector<Write>& writes, bool mayRetry,
                               std::vector<Record>& out) {
  Plan planned;
  if (Status made = plan(writes, planned); !made) return makeError(made.error());
  std::vector<zoo_op_t>& ops = planned.ops;
  int rc = ZOK;
  std::vector<zoo_op_result_t> results(ops.size(), zoo_op_result_t{});
  if (!ops.empty()) {
    rc = zoo_multi(handle_, static_cast<int>(ops.size()), ops.data(), results.data());
  }
  if (rc == ZOK) {
    for (size_t i = 0; i < writes.size(); ++i) {
      const Write& write = writes[i];
      out.push_back(Record{write.key, write.value.value_or(""), planned.versions[i]});
    }
    return true;
  }
  auto failed = std::find_if(results.begin(), results.end(), [](const zoo_op_result_t& r) {
    return r.err != ZOK && r.err != ZRUNTIMEINCONSISTENCY;
  });
  if (failed == results.end()) return makeError(failure(rc, "commit"));
  if (!isConflict(failed->err)) return makeError(failure(failed->err, "commit"));
  size_t index = planned.opWrite[static_cast<size_t>(failed - results.begin())];
  if (index == writes.size()) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "state store zk://" + servers_ + root_ + ": fence node " + fence_ +
                         " is gone: another instance leads, this one may no longer write");
  }
  const Write& write = writes[index];
  bool created = ops[static_cast<size_t>(failed - results.begin())].type == ZOO_CREATE_OP;
  if (created && failed->err == ZNONODE) {  // the store's own node is gone
    if (Status made = ensureRoot(); !made) return makeError(made.error());
    if (mayRetry) return false;
    return makeError(failure(failed->err, "writing '" + write.key + "'"));
  }
  auto actual = versionOf(write.key);
  if (!actual) return makeError(actual.error());
  if (!write.expected) {
    if (mayRetry) return false;
    return makeError(ErrorCode::kFailedPrecondition,
                     "record '" + write.key + "' kept changing under the commit (another writer?)");
  }
  return makeError(versionConflict(write.key, write.expected, *actual));
}

}  // namespace agora::kit
