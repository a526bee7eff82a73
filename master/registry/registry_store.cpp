#include "master/registry/registry_store.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "schemas/registry.capnp.h"

namespace agora::master {

namespace {

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() const { return stmt_; }
  void bindText(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  std::string column(int index) const {
    const void* data = sqlite3_column_blob(stmt_, index);
    int size = sqlite3_column_bytes(stmt_, index);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

}  // namespace

Result<std::unique_ptr<RegistryStore>> RegistryStore::open(const std::string& path,
                                                           RegistryContents& contents) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return makeError(ErrorCode::kIo, "registry " + path + ": cannot open: " + message);
  }
  std::unique_ptr<RegistryStore> store(new RegistryStore(path, db));
  // Exclusive locking: a second master on the same work dir fails here, and
  // WAL mode then needs no shared-memory file.
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL",
                             "PRAGMA synchronous=FULL"}) {
    if (sqlite3_exec(db, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return makeError(ErrorCode::kProtocol, "registry " + path + " is corrupt or not a registry (" +
                                                 pragma + "): " + sqlite3_errmsg(db));
    }
  }
  {
    Statement check(db, "PRAGMA quick_check");
    if (!check.ok()) return makeError(store->fail("integrity check"));
    std::string problems;
    while (sqlite3_step(check.get()) == SQLITE_ROW) {
      std::string line = check.column(0);
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
    if (!problems.empty()) {
      return makeError(ErrorCode::kProtocol, "registry " + path + " is corrupt: " + problems);
    }
  }
  if (auto ready = store->initialize(); !ready) return makeError(ready.error());
  if (auto loaded = store->load(contents); !loaded) return makeError(loaded.error());
  return store;
}

RegistryStore::~RegistryStore() { sqlite3_close(db_); }

Error RegistryStore::fail(const std::string& what) const {
  return Error{ErrorCode::kIo, "registry " + path_ + ": " + what + ": " + sqlite3_errmsg(db_)};
}

Status RegistryStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return {};
  std::string text = message != nullptr ? message : sqlite3_errmsg(db_);
  sqlite3_free(message);
  return makeError(ErrorCode::kIo, "registry " + path_ + ": " + sql + ": " + text);
}

Status RegistryStore::initialize() {
  if (auto made = exec("CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER "
                       "NOT NULL);"
                       "CREATE TABLE IF NOT EXISTS records(kind TEXT NOT NULL, key TEXT NOT NULL, "
                       "data BLOB NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY(kind, key)) "
                       "WITHOUT ROWID;");
      !made) {
    return made;
  }
  Statement meta(db_, "SELECT name, value FROM meta");
  if (!meta.ok()) return makeError(fail("reading meta"));
  std::optional<int64_t> version;
  std::optional<int64_t> count;
  while (sqlite3_step(meta.get()) == SQLITE_ROW) {
    std::string name = meta.column(0);
    if (name == "format_version") version = sqlite3_column_int64(meta.get(), 1);
    if (name == "record_count") count = sqlite3_column_int64(meta.get(), 1);
  }
  if (!version) {
    Statement any(db_, "SELECT count(*) FROM records");
    if (!any.ok() || sqlite3_step(any.get()) != SQLITE_ROW) return makeError(fail("counting"));
    if (sqlite3_column_int64(any.get(), 0) != 0) {
      return makeError(ErrorCode::kProtocol,
                       "registry " + path_ + " is corrupt: records without a format version");
    }
    return exec("INSERT INTO meta VALUES('format_version', " +
                std::to_string(schema::REGISTRY_FORMAT_VERSION) +
                "), ('record_count', 0)");
  }
  if (*version != schema::REGISTRY_FORMAT_VERSION) {
    return makeError(ErrorCode::kProtocol,
                     "registry " + path_ + " has format version " + std::to_string(*version) +
                         "; this master reads version " +
                         std::to_string(schema::REGISTRY_FORMAT_VERSION));
  }
  if (!count) {
    return makeError(ErrorCode::kProtocol, "registry " + path_ + " is corrupt: no record count");
  }
  recordCount_ = *count;
  return {};
}

Status RegistryStore::load(RegistryContents& contents) {
  Statement rows(db_, "SELECT kind, key, data, crc FROM records");
  if (!rows.ok()) return makeError(fail("reading records"));
  int64_t seen = 0;
  int rc;
  while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
    std::string kind = rows.column(0);
    std::string key = rows.column(1);
    std::string data = rows.column(2);
    auto crc = static_cast<uint32_t>(sqlite3_column_int64(rows.get(), 3));
    std::string where = "registry " + path_ + " is corrupt: record (" + kind + " '" + key + "')";
    if (recordCrc(kind, key, data) != crc) {
      return makeError(ErrorCode::kProtocol, where + " fails its checksum");
    }
    if (auto decoded = decodeRecord(kind, key, data, contents); !decoded) {
      return makeError(ErrorCode::kProtocol, where + ": " + decoded.error().message);
    }
    seen++;
  }
  if (rc != SQLITE_DONE) {
    return makeError(ErrorCode::kProtocol,
                     "registry " + path_ + " is corrupt: " + sqlite3_errmsg(db_));
  }
  if (seen != recordCount_) {
    return makeError(ErrorCode::kProtocol,
                     "registry " + path_ + " is corrupt: it holds " + std::to_string(seen) +
                         " records but recorded " + std::to_string(recordCount_) +
                         " (truncated or damaged file)");
  }
  return {};
}

Status RegistryStore::applyOne(const Mutation& mutation) {
  Statement exists(db_, "SELECT 1 FROM records WHERE kind = ?1 AND key = ?2");
  if (!exists.ok()) return makeError(fail("lookup"));
  exists.bindText(1, mutation.kind);
  exists.bindText(2, mutation.key);
  bool present = sqlite3_step(exists.get()) == SQLITE_ROW;
  if (!mutation.bytes) {
    if (!present) return {};
    Statement erase(db_, "DELETE FROM records WHERE kind = ?1 AND key = ?2");
    erase.bindText(1, mutation.kind);
    erase.bindText(2, mutation.key);
    if (!erase.ok() || sqlite3_step(erase.get()) != SQLITE_DONE) return makeError(fail("delete"));
    recordCount_--;
    return {};
  }
  Statement put(db_, "INSERT OR REPLACE INTO records VALUES(?1, ?2, ?3, ?4)");
  if (!put.ok()) return makeError(fail("insert"));
  put.bindText(1, mutation.kind);
  put.bindText(2, mutation.key);
  const std::string& bytes = *mutation.bytes;
  sqlite3_bind_blob(put.get(), 3, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
  sqlite3_bind_int64(put.get(), 4, recordCrc(mutation.kind, mutation.key, bytes));
  if (sqlite3_step(put.get()) != SQLITE_DONE) return makeError(fail("insert"));
  if (!present) recordCount_++;
  return {};
}

Status RegistryStore::commit(const std::vector<Mutation>& mutations) {
  if (mutations.empty()) return {};
  int64_t countBefore = recordCount_;
  if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun;
  Status applied;
  for (const Mutation& mutation : mutations) {
    applied = applyOne(mutation);
    if (!applied) break;
  }
  if (applied) {
    applied = exec("UPDATE meta SET value = " + std::to_string(recordCount_) +
                   " WHERE name = 'record_count'");
  }
  if (applied) applied = exec("COMMIT");
  if (!applied) {
    (void)exec("ROLLBACK");
    recordCount_ = countBefore;
  }
  return applied;
}

Result<std::string> RegistryStore::moveAside(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  std::string aside = path + ".bad-" + std::to_string(time(nullptr));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string from = path + suffix;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, aside + suffix, ec);
    if (ec) {
      return makeError(ErrorCode::kIo, "cannot move " + from + " aside: " + ec.message());
    }
  }
  return aside;
}

}  // namespace agora::master
