// The registry's ZooKeeper layout (pure logic) and the registrar's ordering
// over a backend that completes when told to.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "master/registry/registrar.hpp"
#include "master/registry/znode_layout.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;
using Op = zk::ZkSession::Op;

TEST(ZnodeLayoutTest, EscapedKeysAreValidNamesAndRoundTrip) {
  for (std::string key : {"a1-b2_c3", "eng/web", "*", ".", "..", ".hidden", "50%", "", "x y\n"}) {
    std::string name = znodes::escapeKey(key);
    EXPECT_EQ(name.find('/'), std::string::npos) << key;
    EXPECT_NE(name, ".");
    EXPECT_NE(name, "..");
    auto back = znodes::unescapeKey(name);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, key);
  }
  EXPECT_EQ(znodes::escapeKey("eng/web"), "eng%2Fweb");
  EXPECT_EQ(znodes::escapeKey("a.b"), "a.b");
  for (std::string bad : {"%2", "%zz", "a/b", ".x", "%2f", "a%"}) {
    EXPECT_FALSE(znodes::unescapeKey(bad)) << bad;
  }
}

TEST(ZnodeLayoutTest, RecordsDecodeAndAFlippedByteFailsTheChecksum) {
  Mutation weight = putWeight("eng/web", 2.5);
  std::string data = znodes::encodeZnode(weight.kind, weight.key, *weight.bytes);
  RegistryContents contents;
  ASSERT_TRUE(znodes::decodeZnode(weight.kind, weight.key, data, contents));
  EXPECT_EQ(contents.weights.at("eng/web"), 2.5);

  // The same bytes under another key: the checksum covers the key.
  RegistryContents other;
  auto moved = znodes::decodeZnode(weight.kind, "ops", data, other);
  ASSERT_FALSE(moved);
  EXPECT_THAT(moved.error().message, HasSubstr("checksum"));
  for (size_t i = 0; i < data.size(); ++i) {
    std::string damaged = data;
    damaged[i] ^= 0x10;
    RegistryContents ignored;
    EXPECT_FALSE(znodes::decodeZnode(weight.kind, weight.key, damaged, ignored)) << "byte " << i;
  }
  EXPECT_FALSE(znodes::decodeZnode(weight.kind, weight.key, "garbage", contents));
}

TEST(ZnodeLayoutTest, MetaCarriesTheFormatVersion) {
  EXPECT_TRUE(znodes::checkMeta(znodes::encodeMeta()));
  auto bad = znodes::checkMeta("not a registry");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("not a registry"));
}

TEST(ZnodeLayoutTest, WritesAreFencedAndCreateSetOrDeleteByWhatExists) {
  std::set<std::string> existing;
  auto first = znodes::planWrite("/m/registry", "/m/info_1-0000000003",
                                 {putWeight("a", 1), putWeight("a", 2), eraseQuota("q")}, existing);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 3u);  // the absent quota needs no delete
  EXPECT_EQ((*first)[0].kind, Op::Kind::kCheck);
  EXPECT_EQ((*first)[0].path, "/m/info_1-0000000003");
  EXPECT_EQ((*first)[1].kind, Op::Kind::kCreate);
  EXPECT_EQ((*first)[1].path, "/m/registry/weights/a");
  EXPECT_EQ((*first)[2].kind, Op::Kind::kSet);
  EXPECT_EQ(existing, std::set<std::string>{"/m/registry/weights/a"});

  QuotaRecord quota;
  quota.limit = *Resources::parse("cpus:4");
  auto second = znodes::planWrite("/m/registry", "/f", {putQuota("eng/web", quota)}, existing);
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)[1].path, "/m/registry/quotas/eng%2Fweb");
  auto third = znodes::planWrite("/m/registry", "/f", {eraseQuota("eng/web")}, existing);
  ASSERT_TRUE(third);
  EXPECT_EQ((*third)[1].kind, Op::Kind::kDelete);
  EXPECT_EQ(existing.size(), 1u);
}

TEST(ZnodeLayoutTest, UnknownKindsAndOversizedWritesChangeNothing) {
  std::set<std::string> existing{"/r/weights/a"};
  auto unknown = znodes::planWrite("/r", "/f", {putWeight("b", 1), Mutation{"bogus", "k", "x"}},
                                   existing);
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown kind 'bogus'"));
  AgentRecord agent;
  agent.hostname = std::string(300 * 1000, 'h');
  std::vector<Mutation> big;
  for (int i = 0; i < 4; ++i) {
    agent.id = "a" + std::to_string(i);
    big.push_back(putAgent(agent));
  }
  auto oversized = znodes::planWrite("/r", "/f", big, existing);
  ASSERT_FALSE(oversized);
  EXPECT_THAT(oversized.error().message, HasSubstr("request limit"));
  EXPECT_EQ(existing, std::set<std::string>{"/r/weights/a"});
}

// Completes submits only when the test says so.
class ManualBackend final : public RegistryBackend {
 public:
  void submit(std::vector<Mutation> mutations, Done done) override {
    submitted.push_back(std::move(mutations));
    pending.push_back(std::move(done));
  }
  const std::string& location() const override { return location_; }
  void completeNext(Status status) {
    Done done = std::move(pending.front());
    pending.erase(pending.begin());
    done(status);
  }
  std::vector<std::vector<Mutation>> submitted;
  std::vector<Done> pending;

 private:
  std::string location_ = "manual";
};

TEST(RegistrarBackendTest, WritesArePipelinedAndSyncWaitsForTheLastOne) {
  SimulatedClock clock;
  EventLoop loop(clock);
  auto owned = std::make_unique<ManualBackend>();
  ManualBackend& backend = *owned;
  auto registrar = Registrar::create(loop, std::move(owned));
  std::vector<std::string> done;
  registrar->write({putWeight("a", 1)}, [&](Status s) { done.push_back(s ? "a" : "a-failed"); });
  registrar->write({putWeight("b", 2)}, [&](Status s) { done.push_back(s ? "b" : "b-failed"); });
  registrar->sync([&](Status s) { done.push_back(s ? "sync" : "sync-failed"); });
  loop.runUntilIdle();
  EXPECT_EQ(backend.submitted.size(), 2u);  // both sent without waiting
  EXPECT_TRUE(done.empty());
  backend.completeNext({});
  EXPECT_EQ(done, (std::vector<std::string>{"a"}));
  backend.completeNext(makeError(ErrorCode::kUnavailable, "fenced"));
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b-failed", "sync-failed"}));
  registrar->sync([&](Status s) { done.push_back(s ? "idle-sync" : "idle-failed"); });
  loop.runUntilIdle();
  EXPECT_EQ(done.back(), "idle-sync");
  EXPECT_EQ(registrar->stats().commits, 2u);
}

}  // namespace
}  // namespace agora::master::testing
