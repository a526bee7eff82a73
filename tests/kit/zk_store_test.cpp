// The framework toolkit's Store in a real ZooKeeper: the same answers as the
// in-memory store for the same operations, all-or-nothing transactions, keys
// of any bytes, records that outlive the store object and the server, a fence
// that stops an instance that no longer leads, and bounded errors while
// ZooKeeper is down.

#include "frameworks/kit/zk_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "frameworks/kit/election.hpp"
#include "frameworks/kit/memory_store.hpp"
#include "tests/support/zookeeper_test.hpp"

namespace agora::kit {
namespace {

constexpr const char* kPath = "/frameworks/hello";

std::string describe(const Result<std::vector<Record>>& result) {
  if (!result) {
    return std::string("error ") + errorCodeName(result.error().code) + ": " +
           result.error().message;
  }
  std::string out;
  for (const Record& r : *result)
    out += r.key + "=" + r.value + "@" + std::to_string(r.version) + " ";
  return out;
}

std::string describe(const Result<std::optional<Record>>& result) {
  if (!result) return "error " + result.error().message;
  if (!*result) return "none";
  return describe(Result<std::vector<Record>>(std::vector<Record>{**result}));
}

class ZkStoreTest : public testing::ZooKeeperTest {
 protected:
  std::unique_ptr<ZkStore> open(Duration timeout = seconds(10)) {
    auto store = ZkStore::open(zookeeper_->url(kPath), {timeout, Duration::zero()});
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
};

TEST_F(ZkStoreTest, AnswersLikeTheMemoryStoreForTheSameOperations) {
  auto zk = open();
  ASSERT_TRUE(zk);
  MemoryStore memory;
  const std::vector<std::string> keys = {"a", "a/b", "a/c", "b", "tasks/1", "tasks/2"};
  std::mt19937 random(20261206);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  for (int step = 0; step < 150; ++step) {
    std::vector<Write> writes;
    size_t count = 1 + pick(3);
    for (size_t i = 0; i < count; ++i) {
      std::optional<uint64_t> expected;
      if (size_t e = pick(6); e < 4) expected = e;  // nullopt a third of the time
      const std::string& key = keys[pick(keys.size())];
      writes.push_back(pick(4) == 0 ? Write::erase(key, expected)
                                    : Write::put(key, "v" + std::to_string(step), expected));
    }
    auto fromZk = zk->commit(writes);
    auto fromMemory = memory.commit(writes);
    ASSERT_EQ(describe(fromZk), describe(fromMemory)) << "step " << step;
    for (const char* prefix : {"", "a", "a/", "tasks/", "zz"}) {
      ASSERT_EQ(describe(zk->list(prefix)), describe(memory.list(prefix)))
          << "step " << step << " prefix '" << prefix << "'";
    }
    for (const std::string& key : keys) {
      ASSERT_EQ(describe(zk->get(key)), describe(memory.get(key))) << "step " << step;
    }
  }
}

TEST_F(ZkStoreTest, VersionsCountWritesAndAnEraseStartsThemOver) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->put("framework/id", "f-1")->version, 1u);
  EXPECT_EQ(store->put("framework/id", "f-2", 1)->version, 2u);
  EXPECT_EQ(store->put("framework/id", "f-3")->version, 3u);
  ASSERT_TRUE(store->erase("framework/id", 3));
  EXPECT_FALSE(store->get("framework/id")->has_value());
  EXPECT_TRUE(store->erase("framework/id"));  // missing, any version: nothing to do
  EXPECT_TRUE(store->erase("framework/id", 0));
  EXPECT_EQ(store->put("framework/id", "again", 0)->version, 1u);
  EXPECT_TRUE(store->put("empty", "")) << "empty values are values";
  EXPECT_EQ((*store->get("empty"))->value, "");
}

TEST_F(ZkStoreTest, AConflictRefusesTheWholeTransaction) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put("intent/x", "launch x"));
  ASSERT_TRUE(store->put("task/y", "running"));
  auto refused = store->commit({Write::put("task/x", "running", 0), Write::erase("task/y"),
                                Write::put("framework/id", "f"), Write::erase("intent/x", 5)});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(
      refused.error().message.find("record 'intent/x' is at version 1, expected at version 5"),
      std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(store->get("task/x")->has_value());
  EXPECT_FALSE(store->get("framework/id")->has_value());
  EXPECT_EQ((*store->get("task/y"))->version, 1u);
  EXPECT_EQ((*store->get("intent/x"))->version, 1u);

  auto exists = store->commit({Write::put("task/z", "1"), Write::put("task/y", "again", 0)});
  ASSERT_FALSE(exists);
  EXPECT_NE(exists.error().message.find("record 'task/y' is at version 1, expected absent"),
            std::string::npos)
      << exists.error().message;
  EXPECT_FALSE(store->get("task/z")->has_value());
  // "Must not exist" holds for an erase too: refused while it does.
  auto present = store->commit({Write::put("task/z", "1"), Write::erase("task/y", 0)});
  ASSERT_FALSE(present);
  EXPECT_FALSE(store->get("task/z")->has_value());
  EXPECT_TRUE(store->get("task/y")->has_value());
}

TEST_F(ZkStoreTest, KeysOfAnyBytesRoundTrip) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<std::string> keys = {"tasks/web/1",
                                   "100%",
                                   "%2F",
                                   "/",
                                   "//x/",
                                   ".",
                                   "..",
                                   "...",
                                   "zookeeper",
                                   "Zookeeper",
                                   "é/日本語",
                                   "a b\tc",
                                   std::string("\0\x01\x7f\xff", 4),
                                   "~-_.:"};
  for (const std::string& key : keys) {
    std::string name = ZkStore::encodeKey(key);
    EXPECT_EQ(name.find('/'), std::string::npos) << name;
    EXPECT_NE(name, ".");
    EXPECT_NE(name, "..");
    EXPECT_NE(name, "zookeeper");
    EXPECT_EQ(ZkStore::decodeKey(name), key) << name;
    auto put = store->put(key, "value of " + key);
    ASSERT_TRUE(put) << name << ": " << put.error().message;
  }
  EXPECT_EQ(ZkStore::decodeKey("a%2f"), std::nullopt);  // not what encodeKey writes
  EXPECT_EQ(ZkStore::decodeKey("a%2"), std::nullopt);
  std::sort(keys.begin(), keys.end());
  auto all = store->list("");
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> listed;
  for (const Record& r : *all) {
    listed.push_back(r.key);
    EXPECT_EQ(r.value, "value of " + r.key);
  }
  EXPECT_EQ(listed, keys);
  EXPECT_EQ(store->list("é/")->size(), 1u);
  EXPECT_EQ(store->list("%")->size(), 1u);
}

TEST_F(ZkStoreTest, AnOversizedValueIsRefusedBeforeAnythingIsWritten) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string largest(ZkStore::kMaxValueBytes, 'x');
  largest[12345] = 'y';
  auto put = store->put("big", largest);
  ASSERT_TRUE(put) << put.error().message;
  auto read = store->get("big");
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->value, largest);

  auto tooBig =
      store->commit({Write::put("small", "1"),
                     Write::put("bigger", std::string(ZkStore::kMaxValueBytes + 1, 'x'))});
  ASSERT_FALSE(tooBig);
  EXPECT_EQ(tooBig.error().code, ErrorCode::kInvalidArgument) << tooBig.error().message;
  EXPECT_NE(tooBig.error().message.find("'bigger'"), std::string::npos) << tooBig.error().message;
  // Each value fits, the request would not (ZooKeeper would drop the connection).
  auto together = store->commit(
      {Write::put("small", "1"), Write::put("big2", largest), Write::put("big3", largest)});
  ASSERT_FALSE(together);
  EXPECT_EQ(together.error().code, ErrorCode::kInvalidArgument) << together.error().message;
  EXPECT_FALSE(store->get("small")->has_value());
  EXPECT_EQ(store->list("")->size(), 1u);
  // Close to the request limit is still fine.
  auto near =
      store->commit({Write::put("big", largest, 1), Write::put("more", std::string(38000, 'm'))});
  ASSERT_TRUE(near) << near.error().message;
  EXPECT_TRUE(store->put("after", "still connected"));
}

TEST_F(ZkStoreTest, RecordsSurviveReopeningAndAServerRestart) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("framework/id", "f-1"));
    ASSERT_TRUE(store->put("framework/id", "f-2"));
    ASSERT_TRUE(store->put("task/a", "running"));
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto id = store->get("framework/id");
  ASSERT_TRUE(id && *id);
  EXPECT_EQ((*id)->value, "f-2");
  EXPECT_EQ((*id)->version, 2u);

  zookeeper_->restart();
  auto again = store->get("framework/id");
  // A client that reached the server while it was still starting retries its
  // handshake only after a connect timeout: one more call may be needed.
  if (!again) again = store->get("framework/id");
  ASSERT_TRUE(again && *again) << (again ? "none" : again.error().message);
  EXPECT_EQ((*again)->version, 2u);
  auto fresh = open();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->list("")->size(), 2u);
  EXPECT_EQ(fresh->put("task/a", "done", 1)->version, 2u);
}

TEST_F(ZkStoreTest, AFencedStoreWritesOnlyWhileItsLeaderNodeExists) {
  auto created = Election::create(loop_, {zookeeper_->url(kPath), "a", "a:5060", seconds(2)});
  ASSERT_TRUE(created) << created.error().message;
  std::unique_ptr<Election> election = std::move(*created);
  EXPECT_EQ(election->nodePath(), "");
  bool elected = false;
  election->start([&] { elected = true; }, [](const std::string&) {});
  ASSERT_TRUE(runUntil([&] { return elected; }));
  std::string node = election->nodePath();
  EXPECT_EQ(node.rfind(std::string(kPath) + "/", 0), 0u) << node;

  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put("task/a", "running"));
  store->setFence(node);
  ASSERT_TRUE(store->commit({Write::put("task/b", "staging"), Write::erase("task/a", 1)}));

  election.reset();  // its session closes: the candidate node is gone at once
  auto refused = store->commit({Write::put("task/c", "staging"), Write::erase("task/b")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("fence node " + node + " is gone: another instance leads"),
            std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(store->get("task/c")->has_value());
  EXPECT_TRUE(store->get("task/b")->has_value());
  EXPECT_FALSE(store->erase("task/nothing"));  // even a write that changes nothing
  store->setFence("");
  EXPECT_TRUE(store->put("task/c", "staging"));
}

TEST_F(ZkStoreTest, CallsFailInBoundedTimeWhileZooKeeperIsDownAndWorkWhenItIsBack) {
  const Duration timeout = seconds(2);
  auto store = open(timeout);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put("task/a", "running"));
  zookeeper_->kill();
  // Bounded by the timeout (a generous margin: the point is "not forever").
  auto failsInTime = [&](const char* what, auto call) {
    auto start = std::chrono::steady_clock::now();
    auto result = call();
    Duration took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().code, ErrorCode::kUnavailable) << result.error().message;
    EXPECT_LT(took, timeout * 3) << what << ": " << result.error().message;
  };
  failsInTime("get", [&] { return store->get("task/a"); });
  failsInTime("put", [&] { return store->put("task/b", "x"); });
  failsInTime("list", [&] { return store->list(""); });
  auto start = std::chrono::steady_clock::now();
  auto refused = ZkStore::open(zookeeper_->url(kPath), {timeout, Duration::zero()});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find(zookeeper_->address()), std::string::npos)
      << refused.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, timeout * 3);  // bounded, not forever

  zookeeper_->restart();
  auto back = store->put("task/a", "done", 1);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->version, 2u);
  EXPECT_FALSE(store->get("task/b")->has_value());
}

TEST_F(ZkStoreTest, MakesItsNodeAgainWhenSomeoneRemovedIt) {
  auto store = open();
  ASSERT_TRUE(store);
  auto session = newSession(seconds(2), true);
  ASSERT_TRUE(session);
  bool removed = false;
  session->remove(store->root(), [&](Status s) { removed = s.has_value(); });
  ASSERT_TRUE(runUntil([&] { return removed; }));
  EXPECT_TRUE(store->list("")->empty());
  EXPECT_FALSE(store->get("task/a")->has_value());
  auto put = store->put("task/a", "running");
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(put->version, 1u);
  EXPECT_EQ(store->list("")->size(), 1u);
}

// ZooKeeper that lost its data forgets every session: the store's own one is
// told it expired, and the store starts another by itself.
TEST_F(ZkStoreTest, KeepsWorkingAfterItsSessionExpired) {
  auto store = open(seconds(2));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put("task/a", "running"));
  zookeeper_->kill();
  std::filesystem::remove_all(root_ + "/zk/data");
  std::filesystem::create_directories(root_ + "/zk/data");
  zookeeper_->restart();
  // Past the zxid the store has seen, or the server refuses its reconnection.
  auto other = newSession(seconds(2), true);
  ASSERT_TRUE(other);
  int created = 0;
  for (int i = 0; i < 100; ++i) {
    other->create("/filler" + std::to_string(i), "", false,
                  [&](Result<std::string>) { ++created; });
  }
  ASSERT_TRUE(runUntil([&] { return created == 100; }));
  Result<Record> put = makeError(ErrorCode::kInternal, "not tried");
  for (int attempt = 0; attempt < 5 && !put; ++attempt) put = store->put("task/b", "staging");
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(put->version, 1u);
  EXPECT_EQ(store->list("")->size(), 1u);  // the data is gone with the server's
}

TEST(ZkStoreOptionsTest, BadUrlsAreRefused) {
  for (const char* url : {"http://nope", "zk://127.0.0.1:1", "zk://127.0.0.1:0/x"}) {
    auto store = ZkStore::open(url);
    ASSERT_FALSE(store) << url;
    EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument) << store.error().message;
  }
}

}  // namespace
}  // namespace agora::kit
