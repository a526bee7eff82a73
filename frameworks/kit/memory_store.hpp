#pragma once
// A Store in memory: for unit tests of framework logic (nothing survives
// the process).

#include <map>

#include "frameworks/kit/store.hpp"

namespace agora::kit {

class MemoryStore final : public Store {
 public:
  Result<std::optional<Record>> get(const std::string& key) override;
  Result<std::vector<Record>> list(const std::string& prefix) override;

 protected:
  Result<std::vector<Record>> apply(const std::vector<Write>& writes) override;

 private:
  std::map<std::string, Record> records_;
};

}  // namespace agora::kit
