#pragma once
// A framework's durable state: versioned records under string keys, written
// in small all-or-nothing transactions with compare-and-set, and watched by
// key prefix. What a scheduler must not forget across kill -9 (its framework
// ID, the tasks it launched or is about to) goes here; a commit is durable
// when it returns.
//
// Backends: SqliteStore (the framework's work dir; sqlite_store.hpp) and
// MemoryStore (tests; memory_store.hpp). One thread: the framework's loop.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::kit {

struct Record {
  std::string key;
  std::string value;
  // 1 for a record's first write, one more at each later one; a record
  // erased and written again starts over at 1.
  uint64_t version = 0;
};

// One change in a transaction. `expected`: the version the record must have
// for the transaction to apply (0: it must not exist); nullopt: any.
struct Write {
  std::string key;
  std::optional<std::string> value;  // nullopt erases the record
  std::optional<uint64_t> expected;

  static Write put(std::string key, std::string value,
                   std::optional<uint64_t> expected = std::nullopt) {
    return Write{std::move(key), std::move(value), expected};
  }
  static Write erase(std::string key, std::optional<uint64_t> expected = std::nullopt) {
    return Write{std::move(key), std::nullopt, expected};
  }
};

class Store {
 public:
  // Called after each commit, once per record it changed whose key starts
  // with the watched prefix: the record as written, or with an empty value
  // and version 0 when it was erased.
  using Watcher = std::function<void(const Record& record)>;

  virtual ~Store() = default;

  // nullopt when there is no such record.
  virtual Result<std::optional<Record>> get(const std::string& key) = 0;
  // Every record whose key starts with `prefix`, in key order.
  virtual Result<std::vector<Record>> list(const std::string& prefix) = 0;
  // Applies every write or none: kFailedPrecondition naming the first key
  // whose version is not the expected one, kInvalidArgument for an empty
  // key or a key written twice. Durable when it returns. The records as
  // written (erased ones with version 0), in the order given.
  Result<std::vector<Record>> commit(const std::vector<Write>& writes);

  // One write; its record.
  Result<Record> put(const std::string& key, const std::string& value,
                     std::optional<uint64_t> expected = std::nullopt);
  Status erase(const std::string& key, std::optional<uint64_t> expected = std::nullopt);

  // Watches this store's own commits (a store has one writer: the
  // framework's leader). Returns an ID for unwatch().
  uint64_t watch(const std::string& prefix, Watcher watcher);
  void unwatch(uint64_t id);

 protected:
  // The backend's commit: checks and applies, durably. REQUIRES: writes
  // validated (non-empty keys, none twice).
  virtual Result<std::vector<Record>> apply(const std::vector<Write>& writes) = 0;

 private:
  struct Watch {
    std::string prefix;
    Watcher watcher;
  };
  std::map<uint64_t, Watch> watches_;
  uint64_t nextWatch_ = 1;
};

// The error for a failed compare-and-set on `key`.
Error versionConflict(const std::string& key, std::optional<uint64_t> expected, uint64_t actual);

}  // namespace agora::kit
