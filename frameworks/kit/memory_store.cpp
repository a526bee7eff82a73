#include "frameworks/kit/memory_store.hpp"

namespace agora::kit {

Result<std::optional<Record>> MemoryStore::get(const std::string& key) {
  auto it = records_.find(key);
  if (it == records_.end()) return std::optional<Record>();
  return std::optional<Record>(it->second);
}

Result<std::vector<Record>> MemoryStore::list(const std::string& prefix) {
  std::vector<Record> out;
  for (auto it = records_.lower_bound(prefix);
       it != records_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<Record>> MemoryStore::apply(const std::vector<Write>& writes) {
  for (const Write& write : writes) {
    auto it = records_.find(write.key);
    uint64_t actual = it == records_.end() ? 0 : it->second.version;
    if (write.expected && *write.expected != actual) {
      return makeError(versionConflict(write.key, write.expected, actual));
    }
  }
  std::vector<Record> out;
  for (const Write& write : writes) {
    if (!write.value) {
      records_.erase(write.key);
      out.push_back(Record{write.key, "", 0});
      continue;
    }
    Record& record = records_[write.key];
    record = Record{write.key, *write.value, record.version + 1};
    out.push_back(record);
  }
  return out;
}

}  // namespace agora::kit
