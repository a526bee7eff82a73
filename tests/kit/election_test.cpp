// Framework instances electing a leader through a real ZooKeeper: one
// leads, the other knows where; the leader gone, the other takes over; a
// leader cut off from ZooKeeper hears it must stop.

#include "frameworks/kit/election.hpp"

#include <gtest/gtest.h>

#include "tests/support/zookeeper_test.hpp"

namespace agora::kit {
namespace {

class ElectionTest : public testing::ZooKeeperTest {
 protected:
  struct Instance {
    std::unique_ptr<Election> election;
    bool elected = false;
    std::string lost;
  };
  std::unique_ptr<Instance> instance(const std::string& id) {
    auto out = std::make_unique<Instance>();
    auto created = Election::create(
        loop_, {zookeeper_->url("/frameworks/hello"), id, id + ".example:5060", seconds(2)});
    EXPECT_TRUE(created) << created.error().message;
    if (!created) return nullptr;
    out->election = std::move(*created);
    Instance* self = out.get();
    out->election->start([self] { self->elected = true; },
                         [self](const std::string& why) { self->lost = why; });
    return out;
  }
};

TEST_F(ElectionTest, OneLeadsTheOtherKnowsWhereAndTakesOverWhenItGoes) {
  auto a = instance("a");
  ASSERT_TRUE(runUntil([&] { return a->elected; }));
  auto b = instance("b");
  ASSERT_TRUE(runUntil([&] { return b->election->leaderHttp().has_value(); }));
  EXPECT_FALSE(b->elected);
  EXPECT_EQ(*b->election->leaderHttp(), "a.example:5060");
  EXPECT_EQ(*b->election->leaderId(), "a");

  a.reset();  // its session closes: its candidate node goes at once
  ASSERT_TRUE(runUntil([&] { return b->elected; }));
  EXPECT_TRUE(b->election->leading());
  EXPECT_TRUE(runUntil([&] { return b->election->leaderId() == std::optional<std::string>("b"); }));
}

TEST_F(ElectionTest, ALeaderCutOffFromZooKeeperIsToldToStop) {
  auto a = instance("a");
  ASSERT_TRUE(runUntil([&] { return a->elected; }));
  zookeeper_->kill();
  // Unreachable for the session timeout (2 s): it must not go on acting.
  ASSERT_TRUE(runUntil([&] { return !a->lost.empty(); }, seconds(10)));
  EXPECT_FALSE(a->election->leading());
}

TEST(ElectionOptionsTest, BadUrlsAndMissingAddressesAreRefused) {
  EventLoop loop;
  EXPECT_FALSE(Election::create(loop, {"http://nope", "a", "a:1", seconds(2)}));
  EXPECT_FALSE(Election::create(loop, {"zk://127.0.0.1:1/x", "a", "", seconds(2)}));
}

}  // namespace
}  // namespace agora::kit
