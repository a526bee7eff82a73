#pragma once
// The master's registry on disk: one SQLite database file under the work dir.
//
// Why SQLite (over LevelDB): a commit in WAL mode with synchronous=FULL is
// durable when sqlite3_step returns (the WAL is fsynced), so "persisted before
// the master answers" holds even across power loss; a SIGKILL at any moment
// leaves either the old or the new transaction, never half of one, and the WAL
// is replayed on the next open. It is one file plus its WAL, already on every
// Debian host (libsqlite3), has no background compaction threads, and ships
// an integrity check (PRAGMA quick_check) for its page structure. LevelDB would
// need WriteOptions::sync for the same durability, brings a compaction thread,
// and keeps a directory of files whose loss is harder to explain to an operator.
//
// SQLite does not checksum page contents, so each record also carries a
// CRC-32C over (kind, key, bytes), and the meta table keeps the record count:
// a flipped byte, a truncated file or lost pages are all detected at open and
// reported with the file's path. A corrupt registry is never repaired or
// dropped silently: open() fails and the operator chooses (--registry-fresh).
//
// Layout: meta(name, value) with format_version and record_count;
// records(kind, key, data, crc) where data is one unpacked
// schema::RegistryRecord (schemas/registry.capnp).
//
// Threading: an instance is used by one thread at a time (the registrar's
// writer thread after open()).

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "master/registry/records.hpp"

struct sqlite3;

namespace agora::master {

class RegistryStore {
 public:
  // Opens (creating if absent) the database at `path`, checks it and decodes
  // every record into `contents`. Errors start with the path and name the problem.
  static Result<std::unique_ptr<RegistryStore>> open(const std::string& path,
                                                     RegistryContents& contents);
  ~RegistryStore();
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  // Applies every mutation in one transaction, in order. Durable on success;
  // on failure nothing is applied.
  Status commit(const std::vector<Mutation>& mutations);
  const std::string& path() const { return path_; }

  // Moves the database and its WAL aside (PATH.bad-<unix seconds>) so a fresh
  // one can be created. Returns the new name of the main file ("" if absent).
  static Result<std::string> moveAside(const std::string& path);

 private:
  RegistryStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status exec(const std::string& sql);
  Status initialize();
  Status load(RegistryContents& contents);
  Status applyOne(const Mutation& mutation);
  Error fail(const std::string& what) const;

  std::string path_;
  sqlite3* db_;
  int64_t recordCount_ = 0;
};

}  // namespace agora::master
