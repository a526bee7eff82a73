#include "common/peer_strikes.hpp"

#include <gtest/gtest.h>

namespace agora {
namespace {

class PeerStrikesTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  PeerStrikes strikes_{PeerStrikes::Options{3, seconds(10), seconds(60)}};
};

TEST_F(PeerStrikesTest, APeerIsTurnedAwayAfterEnoughStrikesWithinTheWindowThenLetBack) {
  EXPECT_FALSE(strikes_.strike("p", clock_.now()));
  EXPECT_FALSE(strikes_.strike("p", clock_.now()));
  EXPECT_FALSE(strikes_.banned("p", clock_.now()));
  EXPECT_TRUE(strikes_.strike("p", clock_.now()));
  EXPECT_TRUE(strikes_.banned("p", clock_.now()));
  EXPECT_FALSE(strikes_.banned("other", clock_.now()));
  clock_.advance(seconds(59));
  EXPECT_TRUE(strikes_.banned("p", clock_.now()));
  clock_.advance(seconds(2));
  EXPECT_FALSE(strikes_.banned("p", clock_.now()));
}

TEST_F(PeerStrikesTest, StrikesOlderThanTheWindowAreForgotten) {
  strikes_.strike("p", clock_.now());
  strikes_.strike("p", clock_.now());
  clock_.advance(seconds(11));
  EXPECT_FALSE(strikes_.strike("p", clock_.now()));
  EXPECT_FALSE(strikes_.banned("p", clock_.now()));
}

TEST_F(PeerStrikesTest, TracksABoundedNumberOfPeers) {
  for (size_t i = 0; i < PeerStrikes::kMaxPeers + 100; ++i) {
    strikes_.strike("peer-" + std::to_string(i), clock_.now());
  }
  EXPECT_EQ(strikes_.tracked(), PeerStrikes::kMaxPeers);
}

}  // namespace
}  // namespace agora
