#include "frameworks/kit/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/checkpoint_file.hpp"

namespace agora::kit {

namespace {

constexpr int64_t kFormatVersion = 1;

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int index, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  std::string text(int index) const {
    const void* data = sqlite3_column_blob(stmt_, index);
    int size = sqlite3_column_bytes(stmt_, index);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }
  int64_t integer(int index) const { return sqlite3_column_int64(stmt_, index); }
  bool step() { return sqlite3_step(stmt_) == SQLITE_ROW; }
  bool done() { return sqlite3_step(stmt_) == SQLITE_DONE; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

uint32_t recordCrc(const std::string& key, uint64_t version, const std::string& value) {
  std::string all = key;
  all.push_back('\0');
  all += std::to_string(version);
  all.push_back('\0');
  all += value;
  return crc32c(all);
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  // Created owner-only before SQLite opens it: it holds the framework's state.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return makeError(errnoError("open " + path, errno));
  ::close(fd);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return makeError(ErrorCode::kIo, "state store " + path + ": cannot open: " + message);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));
  sqlite3_busy_timeout(db, 0);
  for (const char* pragma :
       {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (sqlite3_exec(db, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) {
      int code = sqlite3_errcode(db);
      if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        return makeError(ErrorCode::kUnavailable,
                         "state store " + path + " is in use by another process");
      }
      return makeError(ErrorCode::kProtocol, "state store " + path +
                                                 " is corrupt or not a state store (" + pragma +
                                                 "): " + sqlite3_errmsg(db));
    }
  }
  if (Status ready = store->initialize(); !ready) return makeError(ready.error());
  if (Status checked = store->verify(); !checked) return makeError(checked.error());
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Error SqliteStore::fail(const std::string& what) const {
  int code = sqlite3_errcode(db_);
  ErrorCode kind = code == SQLITE_BUSY || code == SQLITE_LOCKED      ? ErrorCode::kUnavailable
                   : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? ErrorCode::kProtocol
                                                                     : ErrorCode::kIo;
  return Error{kind, "state store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_)};
}

Status SqliteStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return {};
  sqlite3_free(message);
  return makeError(fail(sql));
}

Status SqliteStore::initialize() {
  if (Status made =
          exec("CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
               "CREATE TABLE IF NOT EXISTS records(key BLOB PRIMARY KEY, value BLOB NOT NULL, "
               "version INTEGER NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID;");
      !made) {
    return made;  // kUnavailable when another process holds it
  }
  Statement format(db_, "SELECT value FROM meta WHERE name = 'format_version'");
  if (!format.ok()) return makeError(fail("reading its format"));
  if (!format.step()) {
    Statement any(db_, "SELECT count(*) FROM records");
    if (!any.ok() || !any.step()) return makeError(fail("counting records"));
    if (any.integer(0) != 0) {
      return makeError(ErrorCode::kProtocol,
                       "state store " + path_ + " is corrupt: records without a format version");
    }
    return exec("INSERT INTO meta VALUES('format_version', " + std::to_string(kFormatVersion) +
                ")");
  }
  if (format.integer(0) != kFormatVersion) {
    return makeError(ErrorCode::kProtocol, "state store " + path_ + " has format version " +
                                               std::to_string(format.integer(0)) +
                                               "; this build reads " +
                                               std::to_string(kFormatVersion));
  }
  return {};
}

Status SqliteStore::verify() {
  Statement check(db_, "PRAGMA quick_check");
  if (!check.ok()) return makeError(fail("integrity check"));
  std::string problems;
  while (check.step()) {
    std::string line = check.text(0);
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  }
  if (!problems.empty()) {
    return makeError(ErrorCode::kProtocol, "state store " + path_ + " is corrupt: " + problems);
  }
  Statement all(db_, "SELECT key, value, version, crc FROM records");
  if (!all.ok()) return makeError(fail("reading records"));
  while (all.step()) {
    std::string key = all.text(0);
    auto version = static_cast<uint64_t>(all.integer(2));
    if (recordCrc(key, version, all.text(1)) != static_cast<uint32_t>(all.integer(3))) {
      return makeError(ErrorCode::kProtocol, "state store " + path_ + " is corrupt: record '" +
                                                 key + "' does not match its checksum");
    }
  }
  return {};
}

Result<std::optional<Record>> SqliteStore::get(const std::string& key) {
  Statement read(db_, "SELECT value, version FROM records WHERE key = ?");
  if (!read.ok()) return makeError(fail("reading '" + key + "'"));
  read.bind(1, key);
  if (!read.step()) return std::optional<Record>();
  return std::optional<Record>(Record{key, read.text(0), static_cast<uint64_t>(read.integer(1))});
}

Result<std::vector<Record>> SqliteStore::list(const std::string& prefix) {
  // Keys are compared as bytes (BLOB): those from `prefix` on, while they
  // start with it.
  Statement read(db_, "SELECT key, value, version FROM records WHERE key >= ? ORDER BY key");
  if (!read.ok()) return makeError(fail("listing '" + prefix + "'"));
  read.bind(1, prefix);
  std::vector<Record> out;
  while (read.step()) {
    std::string key = read.text(0);
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(Record{key, read.text(1), static_cast<uint64_t>(read.integer(2))});
  }
  return out;
}

Result<std::vector<Record>> SqliteStore::apply(const std::vector<Write>& writes) {
  if (Status begun = exec("BEGIN IMMEDIATE"); !begun) return makeError(begun.error());
  auto rollback = [&](Error error) {
    (void)exec("ROLLBACK");
    return makeError(std::move(error));
  };
  std::vector<Record> out;
  for (const Write& write : writes) {
    auto current = get(write.key);
    if (!current) return rollback(current.error());
    uint64_t actual = *current ? (*current)->version : 0;
    if (write.expected && *write.expected != actual) {
      return rollback(versionConflict(write.key, write.expected, actual));
    }
    if (!write.value) {
      Statement erase(db_, "DELETE FROM records WHERE key = ?");
      if (!erase.ok()) return rollback(fail("erasing '" + write.key + "'"));
      erase.bind(1, write.key);
      if (!erase.done()) return rollback(fail("erasing '" + write.key + "'"));
      out.push_back(Record{write.key, "", 0});
      continue;
    }
    Record record{write.key, *write.value, actual + 1};
    Statement put(db_, "INSERT OR REPLACE INTO records VALUES(?, ?, ?, ?)");
    if (!put.ok()) return rollback(fail("writing '" + write.key + "'"));
    put.bind(1, record.key);
    put.bind(2, record.value);
    put.bind(3, static_cast<int64_t>(record.version));
    put.bind(4, static_cast<int64_t>(recordCrc(record.key, record.version, record.value)));
    if (!put.done()) return rollback(fail("writing '" + write.key + "'"));
    out.push_back(std::move(record));
  }
  if (Status committed = exec("COMMIT"); !committed) return rollback(committed.error());
  return out;
}

}  // namespace agora::kit
