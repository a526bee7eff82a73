#include "frameworks/kit/store.hpp"

#include <set>

namespace agora::kit {

Error versionConflict(const std::string& key, std::optional<uint64_t> expected, uint64_t actual) {
  auto describe = [](uint64_t version) {
    return version == 0 ? std::string("absent") : "at version " + std::to_string(version);
  };
  return Error{ErrorCode::kFailedPrecondition, "record '" + key + "' is " + describe(actual) +
                                                   ", expected " + describe(expected.value_or(0))};
}

Result<std::vector<Record>> Store::commit(const std::vector<Write>& writes) {
  std::set<std::string> keys;
  for (const Write& write : writes) {
    if (write.key.empty()) return makeError(ErrorCode::kInvalidArgument, "empty record key");
    if (!keys.insert(write.key).second) {
      return makeError(ErrorCode::kInvalidArgument,
                       "record '" + write.key + "' written twice in one transaction");
    }
  }
  auto applied = apply(writes);
  if (!applied) return applied;
  // Copied: a watcher may unwatch (or watch) while being called.
  std::map<uint64_t, Watch> watches = watches_;
  for (const Record& record : *applied) {
    for (const auto& [id, watch] : watches) {
      if (record.key.compare(0, watch.prefix.size(), watch.prefix) == 0 && watches_.count(id)) {
        watch.watcher(record);
      }
    }
  }
  return applied;
}

Result<Record> Store::put(const std::string& key, const std::string& value,
                          std::optional<uint64_t> expected) {
  auto done = commit({Write::put(key, value, expected)});
  if (!done) return makeError(done.error());
  return done->front();
}

Status Store::erase(const std::string& key, std::optional<uint64_t> expected) {
  auto done = commit({Write::erase(key, expected)});
  if (!done) return makeError(done.error());
  return {};
}

uint64_t Store::watch(const std::string& prefix, Watcher watcher) {
  uint64_t id = nextWatch_++;
  watches_[id] = Watch{prefix, std::move(watcher)};
  return id;
}

void Store::unwatch(uint64_t id) { watches_.erase(id); }

}  // namespace agora::kit
