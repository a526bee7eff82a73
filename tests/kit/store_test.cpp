// The framework toolkit's state store: the same contract for the in-memory
// and the SQLite backend, and the SQLite store's durability (kill -9 at any
// point loses no acknowledged commit) and refusal of corrupt files.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "frameworks/kit/memory_store.hpp"
#include "frameworks/kit/sqlite_store.hpp"

namespace agora::kit {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/agora-kit-store-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Both backends behind one factory.
class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = std::make_unique<MemoryStore>();
    } else {
      auto opened = SqliteStore::open(dir_.path() + "/state.db");
      ASSERT_TRUE(opened) << opened.error().message;
      store_ = std::move(*opened);
    }
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, VersionsCountWritesAndAnEraseStartsThemOver) {
  EXPECT_FALSE(store_->get("framework/id")->has_value());
  auto first = store_->put("framework/id", "f-0001");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->version, 1u);
  auto second = store_->put("framework/id", "f-0002", 1);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version, 2u);
  auto read = store_->get("framework/id");
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->value, "f-0002");
  EXPECT_EQ((*read)->version, 2u);
  ASSERT_TRUE(store_->erase("framework/id", 2));
  EXPECT_FALSE(store_->get("framework/id")->has_value());
  EXPECT_EQ(store_->put("framework/id", "again")->version, 1u);
}

TEST_P(StoreContractTest, CompareAndSetRefusesAStaleVersionAndChangesNothing) {
  ASSERT_TRUE(store_->put("task/a", "one"));
  auto stale = store_->put("task/a", "two", 0);  // "must not exist"
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(stale.error().message.find("record 'task/a' is at version 1, expected absent"),
            std::string::npos)
      << stale.error().message;
  EXPECT_FALSE(store_->put("task/a", "two", 7));
  EXPECT_EQ((*store_->get("task/a"))->value, "one");
  EXPECT_FALSE(store_->erase("task/b", 1));  // absent, not at 1
}

TEST_P(StoreContractTest, ATransactionAppliesEveryWriteOrNone) {
  ASSERT_TRUE(store_->put("intent/x", "launch x"));
  // The second write's check fails: the first must not happen either.
  auto refused = store_->commit({Write::put("task/x", "running"), Write::erase("intent/x", 5)});
  ASSERT_FALSE(refused);
  EXPECT_FALSE(store_->get("task/x")->has_value());
  EXPECT_TRUE(store_->get("intent/x")->has_value());
  auto settled = store_->commit({Write::put("task/x", "running", 0), Write::erase("intent/x", 1)});
  ASSERT_TRUE(settled) << settled.error().message;
  ASSERT_EQ(settled->size(), 2u);
  EXPECT_EQ((*settled)[0].version, 1u);
  EXPECT_EQ((*settled)[1].version, 0u);  // erased
  EXPECT_FALSE(store_->get("intent/x")->has_value());
  EXPECT_FALSE(store_->commit({Write::put("k", "1"), Write::put("k", "2")}));
  EXPECT_FALSE(store_->commit({Write::put("", "1")}));
}

TEST_P(StoreContractTest, ListsByPrefixInKeyOrder) {
  for (const char* key : {"task/b", "task/a", "taskz", "intent/a", "task/c"}) {
    ASSERT_TRUE(store_->put(key, key));
  }
  auto tasks = store_->list("task/");
  ASSERT_TRUE(tasks);
  std::vector<std::string> keys;
  for (const Record& r : *tasks) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"task/a", "task/b", "task/c"}));
  EXPECT_EQ(store_->list("")->size(), 5u);
  EXPECT_TRUE(store_->list("nothing/")->empty());
}

TEST_P(StoreContractTest, WatchersSeeCommittedChangesUnderTheirPrefix) {
  std::vector<std::string> seen;
  uint64_t id = store_->watch(
      "task/", [&](const Record& r) { seen.push_back(r.key + "@" + std::to_string(r.version)); });
  ASSERT_TRUE(store_->put("task/a", "1"));
  ASSERT_TRUE(store_->put("other", "1"));
  EXPECT_FALSE(store_->put("task/a", "x", 9));  // refused: no event
  ASSERT_TRUE(store_->commit({Write::put("task/a", "2"), Write::erase("task/a2")}));
  EXPECT_EQ(seen, (std::vector<std::string>{"task/a@1", "task/a@2", "task/a2@0"}));
  store_->unwatch(id);
  ASSERT_TRUE(store_->put("task/b", "1"));
  EXPECT_EQ(seen.size(), 3u);
}

TEST_P(StoreContractTest, ValuesAreBytes) {
  std::string binary("\0\xff\n\"'", 5);
  ASSERT_TRUE(store_->put("blob", binary));
  EXPECT_EQ((*store_->get("blob"))->value, binary);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("memory", "sqlite"));

TEST(SqliteStoreTest, RecordsSurviveReopeningAndTheFileIsTheOwnersOnly) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE((*store)->put("framework/id", "f-1"));
    ASSERT_TRUE((*store)->put("framework/id", "f-2"));
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  auto id = (*store)->get("framework/id");
  ASSERT_TRUE(id && *id);
  EXPECT_EQ((*id)->value, "f-2");
  EXPECT_EQ((*id)->version, 2u);
}

TEST(SqliteStoreTest, ASecondOpenerIsRefusedWhileTheFirstHoldsIt) {
  TempDir dir;
  auto first = SqliteStore::open(dir.path() + "/state.db");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE((*first)->put("k", "v"));  // takes the exclusive lock
  auto second = SqliteStore::open(dir.path() + "/state.db");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable) << second.error().message;
}

TEST(SqliteStoreTest, ACorruptFileIsReportedWithItsPathAndLeftAlone) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kProtocol);
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error().message;
  EXPECT_EQ(std::filesystem::file_size(path), 8192u);  // never reset
}

TEST(SqliteStoreTest, ARecordThatDoesNotMatchItsChecksumIsNamed) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->put("task/a", "running"));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE records SET value = x'6b696c6c6564'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("record 'task/a' does not match its checksum"),
            std::string::npos)
      << store.error().message;
}

// A child commits an increasing counter and reports each acknowledged value
// on a pipe; it is SIGKILLed at a random moment. The store then holds the
// last acknowledged value or the one being committed, never less.
TEST(SqliteStoreTest, KillNineAtAnyPointLosesNoAcknowledgedCommit) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  std::mt19937 rng(12345);
  uint64_t acknowledged = 0;
  for (int round = 0; round < 15; ++round) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto store = SqliteStore::open(path);
      if (!store) _exit(2);
      auto current = (*store)->get("counter");
      uint64_t value = current && *current ? std::stoull((*current)->value) : 0;
      while (true) {
        ++value;
        if (!(*store)->commit({Write::put("counter", std::to_string(value)),
                               Write::put("shadow", std::to_string(value))})) {
          _exit(3);
        }
        if (write(fds[1], &value, sizeof(value)) != sizeof(value)) _exit(4);
      }
    }
    close(fds[1]);
    usleep(20000 + rng() % 80000);
    kill(child, SIGKILL);
    uint64_t value = 0;
    while (read(fds[0], &value, sizeof(value)) == sizeof(value)) acknowledged = value;
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own: " << status;
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    auto counter = (*store)->get("counter");
    auto shadow = (*store)->get("shadow");
    ASSERT_TRUE(counter && shadow);
    // Absent only while nothing was ever committed (killed before that).
    uint64_t stored = *counter ? std::stoull((**counter).value) : 0;
    EXPECT_GE(stored, acknowledged) << "round " << round;
    EXPECT_LE(stored, acknowledged + 1) << "round " << round;
    ASSERT_EQ(counter->has_value(), shadow->has_value());  // both writes or neither
    if (*counter) {
      EXPECT_EQ((*shadow)->value, (*counter)->value);
    }
    acknowledged = stored;
  }
  EXPECT_GT(acknowledged, 15u);
}

}  // namespace
}  // namespace agora::kit
