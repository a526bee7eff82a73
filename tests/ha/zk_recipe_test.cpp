// The election recipe (common/zk/) against a real ZooKeeper server.

#include <gtest/gtest.h>

#include "common/event_loop.hpp"
#include "common/zk/leader_contender.hpp"
#include "common/zk/leader_detector.hpp"
#include "common/zk/zk_session.hpp"
#include "tests/support/zookeeper_test.hpp"

namespace agora {
namespace {

using zk::LeaderContender;
using zk::LeaderDetector;
using zk::ZkSession;

class ZkRecipeTest : public testing::ZooKeeperTest {
 protected:
  std::unique_ptr<ZkSession> session(Duration timeout = seconds(2)) {
    return newSession(timeout, /*waitConnected=*/false);
  }
};

TEST_F(ZkRecipeTest, ExactlyOneOfThreeLeadsAndTheNextTakesOverWhenItsSessionCloses) {
  std::vector<std::unique_ptr<ZkSession>> sessions;
  std::vector<std::unique_ptr<LeaderContender>> contenders;
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(session());
    zk::MasterInfo info{"m" + std::to_string(i), "tcp://127.0.0.1:" + std::to_string(7000 + i),
                        "127.0.0.1:" + std::to_string(8000 + i), "host", "test"};
    contenders.push_back(std::make_unique<LeaderContender>(*sessions.back(), "/agora/election",
                                                           zk::encodeMasterInfo(info)));
    contenders.back()->start([] {}, [](const std::string&) {});
  }
  auto watcherSession = session();
  LeaderDetector detector(*watcherSession, "/agora/election");
  int changes = 0;
  detector.start([&](const std::optional<zk::MasterInfo>&) { ++changes; });
  auto electedIndex = [&]() -> int {
    int found = -1, count = 0;
    for (size_t i = 0; i < contenders.size(); ++i) {
      if (contenders[i] && contenders[i]->elected()) {
        found = static_cast<int>(i);
        ++count;
      }
    }
    return count == 1 ? found : -1;
  };
  ASSERT_TRUE(runUntil([&] { return electedIndex() >= 0 && detector.leader(); }));
  int first = electedIndex();
  EXPECT_EQ(detector.leader()->id, "m" + std::to_string(first));
  EXPECT_EQ(detector.leader()->httpAddress, "127.0.0.1:" + std::to_string(8000 + first));

  // Closing the leader's session deletes its node at once.
  contenders[first].reset();
  sessions[first].reset();
  ASSERT_TRUE(runUntil([&] {
    int now = electedIndex();
    return now >= 0 && now != first && detector.leader() &&
           detector.leader()->id == "m" + std::to_string(now);
  }));
  EXPECT_GE(changes, 2);
}

TEST_F(ZkRecipeTest, LeaderLosesLeadershipWhenZooKeeperIsGoneForTheSessionTimeout) {
  auto s = session(seconds(1));
  LeaderContender contender(*s, "/agora/lonely", zk::encodeMasterInfo({"m", "tcp://x:1", "x:2", "h", "v"}));
  int elected = 0;
  std::string lost;
  contender.start([&] { ++elected; }, [&](const std::string& why) { lost = why; });
  ASSERT_TRUE(runUntil([&] { return elected == 1; }));

  zookeeper_->kill();
  auto killedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(runUntil([&] { return !lost.empty(); }, seconds(10)));
  auto took = std::chrono::steady_clock::now() - killedAt;
  EXPECT_FALSE(contender.elected());
  EXPECT_NE(lost.find("session"), std::string::npos) << lost;
  // Not before the session timeout could have passed at the server, not much after.
  EXPECT_GE(took, millis(600));
  EXPECT_LE(took, seconds(4));

  // Back with a new session, it enters the election again and, alone, wins.
  zookeeper_->restart();
  ASSERT_TRUE(runUntil([&] { return elected == 2 && contender.elected(); }));
}

}  // namespace
}  // namespace agora
