#pragma once
// Named secrets an operator stores with a framework (`agora secret set NAME`
// against the framework's API) and the framework hands to its tasks
// (TaskInfo.secrets): kept in the framework's store under "secret/NAME",
// never rendered by any API or log — list() gives names, sizes, versions and
// times only. Values are cached on the loop after the first read; only the
// leader writes, through this object, so the cache stays true.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "frameworks/kit/store.hpp"

namespace agora::kit {

class SecretStore {
 public:
  struct Info {
    std::string name;
    uint64_t version = 0;  // 1 at the first set, one more at each later one
    double updated = 0;    // wall-clock seconds of the last set
    size_t bytes = 0;
  };

  explicit SecretStore(Store& store) : store_(store) {}

  // kInvalidArgument for a bad name (validateName) or a value over 64 KiB;
  // durable when it returns.
  Status set(const std::string& name, const std::string& value, double now);
  // false: there was none.
  Result<bool> erase(const std::string& name);
  // Null when unset (or the store fails: logged).
  const std::string* find(const std::string& name);
  Result<std::vector<Info>> list();

  // 1-253 characters from [A-Za-z0-9._-] (TaskSecret's names).
  static Status validateName(const std::string& name);
  static constexpr const char* kPrefix = "secret/";

 private:
  struct Entry {
    std::string value;
    Info info;
  };
  Status load();

  Store& store_;
  bool loaded_ = false;
  std::map<std::string, Entry> cache_;
};

}  // namespace agora::kit
