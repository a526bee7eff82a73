#pragma once
// The durable Store: one SQLite file in the framework's work dir, in WAL
// mode with full synchronous commits (a commit is on disk when it returns),
// locked exclusively (a second process on the same file is refused, so one
// framework instance writes it). Each record carries a CRC of its key,
// version and value: a store that is corrupt (SQLite's own check, or a
// record whose CRC does not match) is refused at open, naming the file and
// the record, and never reset.

#include <memory>
#include <string>

#include "frameworks/kit/store.hpp"

struct sqlite3;

namespace agora::kit {

class SqliteStore final : public Store {
 public:
  // Creates the file when missing (mode 0600). kProtocol for a corrupt or
  // foreign file, kUnavailable when another process holds it, kIo otherwise.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::optional<Record>> get(const std::string& key) override;
  Result<std::vector<Record>> list(const std::string& prefix) override;
  const std::string& path() const { return path_; }

 protected:
  Result<std::vector<Record>> apply(const std::vector<Write>& writes) override;

 private:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status exec(const std::string& sql);
  Error fail(const std::string& what) const;
  Status initialize();
  Status verify();

  std::string path_;
  sqlite3* db_;
};

}  // namespace agora::kit
