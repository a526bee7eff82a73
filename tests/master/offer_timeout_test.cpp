// Offer timeouts (--offer-timeout) and starvation: unanswered offers are
// rescinded and re-offered, so greedy, hoarding and declining frameworks
// cannot keep another framework from resources for longer than a bound.
// Simulated clock and in-process transport; nothing sleeps.

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class OfferTimeoutTest : public MasterTest {
 protected:
  static constexpr double kTimeoutSec = 10;

  OfferTimeoutTest() { restartMaster(kTimeoutSec); }

  void restartMaster(double offerTimeoutSec) {
    master_.reset();
    MasterOptions options;
    options.masterId = "M";
    options.agentPingInterval = seconds(1);
    options.agentMaxMissedPings = 3;
    options.frameworkHeartbeatInterval = seconds(2);
    options.offerTimeout = seconds(offerTimeoutSec);
    master_ = std::make_unique<Master>(loop_, *server_, options);
  }

  // A scheduler that accepts every offer it holds with one task using all of it.
  void acceptEverything(FakeScheduler& s) {
    for (const std::string& id : s.outstandingOffers()) {
      const Offer* offer = nullptr;
      for (const Offer& o : s.offers) {
        if (o.id == id) offer = &o;
      }
      TaskInfo task = makeTask("greedy-" + std::to_string(nextTask_++), "cpus:1");
      task.resources = offer->resources;
      s.accept({id}, {task});
    }
    settle();
  }

  // Advances in 100 ms steps, letting `greedy` accept after each, until
  // `done` or `limitSec` passes; returns the seconds it took (or limitSec).
  double advanceUntil(const std::function<bool()>& done, double limitSec,
                      FakeScheduler* greedy = nullptr) {
    double t = 0;
    for (; t < limitSec && !done(); t += 0.1) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
      if (greedy != nullptr) acceptEverything(*greedy);
    }
    return t;
  }

  std::unique_ptr<FakeScheduler> subscribed(const std::string& identity,
                                            std::vector<std::string> roles = {}) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->roles = std::move(roles);
    s->subscribe(identity);
    settle();
    return s;
  }

  Resources allocatedTo(const FakeScheduler& s) { return master_->allocator().allocated(s.frameworkId); }

  int nextTask_ = 1;
};

TEST_F(OfferTimeoutTest, RescindsAnUnansweredOfferAndReoffersItsResources) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  auto hoarder = subscribed("hoarder");
  ASSERT_EQ(hoarder->offers.size(), 1u);
  std::string offerId = hoarder->offers[0].id;
  auto other = subscribed("other");
  EXPECT_TRUE(other->offers.empty());  // everything is held by the hoarder

  advance(kTimeoutSec - 0.5);
  EXPECT_TRUE(hoarder->rescinds.empty());
  advance(1);
  ASSERT_EQ(hoarder->rescinds, std::vector<std::string>{offerId});
  EXPECT_EQ(master_->metrics().offersRescinded("timeout"), 1u);
  EXPECT_FALSE(master_->state().offers.count(offerId));
  ASSERT_EQ(other->offers.size(), 1u);
  EXPECT_EQ(other->offers[0].resources.toString(), hoarder->offers[0].resources.toString());
  EXPECT_THAT(master_->metrics().serialize(),
              ::testing::HasSubstr(R"(agora_master_offers_rescinded_total{reason="timeout"} 1)"));
}

TEST_F(OfferTimeoutTest, AnsweredOffersAreNeverRescinded) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  auto s = subscribed("fw");
  ASSERT_EQ(s->offers.size(), 1u);
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1;mem:128")});
  settle();
  advance(1);  // the unused part comes back after the accept's 5 s filter
  advance(5);
  ASSERT_EQ(s->offers.size(), 2u);
  s->decline({s->offers[1].id}, 60);
  settle();
  advance(3 * kTimeoutSec);
  EXPECT_TRUE(s->rescinds.empty());
  EXPECT_EQ(master_->metrics().offersRescinded(), 0u);
}

TEST_F(OfferTimeoutTest, OffersNeverTimeOutWithoutTheFlag) {
  restartMaster(0);
  auto a = agent("agent-1", "cpus:4;mem:1024");
  auto hoarder = subscribed("hoarder");
  ASSERT_EQ(hoarder->offers.size(), 1u);
  advance(120);
  EXPECT_TRUE(hoarder->rescinds.empty());
  EXPECT_EQ(master_->state().offers.size(), 1u);
}

TEST_F(OfferTimeoutTest, GreedyAndHoardingFrameworksCannotStarveAThird) {
  std::vector<std::unique_ptr<FakeAgent>> agents;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(agent("agent-" + std::to_string(i), "cpus:2;mem:1024"));
  }
  // The hoarder comes first and sits on every agent's offer; the greedy
  // framework then takes everything it is ever offered.
  auto hoarder = subscribed("hoarder");
  ASSERT_EQ(hoarder->offers.size(), 4u);
  auto greedy = subscribed("greedy");
  auto third = subscribed("third");
  EXPECT_TRUE(greedy->offers.empty());
  EXPECT_TRUE(third->offers.empty());

  double waited =
      advanceUntil([&] { return !third->offers.empty(); }, 3 * kTimeoutSec, greedy.get());
  ASSERT_FALSE(third->offers.empty()) << "no offer to the third framework in "
                                      << 3 * kTimeoutSec << "s";
  // Bound: one offer timeout plus one allocation pass.
  EXPECT_LE(waited, kTimeoutSec + 1.2);
  EXPECT_EQ(hoarder->rescinds.size(), 4u);
  EXPECT_EQ(master_->metrics().offersRescinded("timeout"), 4u);
  third->accept({third->offers[0].id}, {makeTask("third-1", "cpus:1;mem:64")});
  settle();
  EXPECT_TRUE(allocatedTo(*third).contains(*Resources::parse("cpus:1;mem:64")));

  // The greedy framework took the rest, and still cannot keep the third from
  // what its tasks free: DRF offers freed resources to the smaller share.
  advanceUntil([] { return false; }, 2 * kTimeoutSec, greedy.get());
  ASSERT_FALSE(allocatedTo(*greedy).empty());
  size_t thirdOffers = third->offers.size();
  std::string greedyTask;
  for (const auto& a : agents) {
    for (const auto& [frameworkId, task] : a->runTasks) {
      if (frameworkId == greedy->frameworkId && greedyTask.empty()) {
        greedyTask = task.taskId;
        a->sendStatus(frameworkId, task.taskId, TaskState::FINISHED);
      }
    }
  }
  ASSERT_FALSE(greedyTask.empty());
  // At worst the hoarder (smaller share) takes them first and holds them for one timeout.
  advanceUntil([&] { return third->offers.size() > thirdOffers; }, kTimeoutSec + 2, greedy.get());
  EXPECT_GT(third->offers.size(), thirdOffers) << "freed resources went elsewhere";
}

TEST_F(OfferTimeoutTest, ADecliningFrameworkWithLongFiltersDoesNotBlockOthers) {
  restartMaster(0);  // no timeout needed: declines return resources at once
  std::vector<std::unique_ptr<FakeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(agent("agent-" + std::to_string(i), "cpus:2;mem:1024"));
  }
  auto decliner = subscribed("decliner");
  ASSERT_EQ(decliner->offers.size(), 3u);
  decliner->decline(decliner->outstandingOffers(), 365.0 * 86400);
  settle();
  auto other = subscribed("other");
  EXPECT_EQ(other->offers.size(), 3u);
  advance(60);
  EXPECT_EQ(decliner->offers.size(), 3u);  // filtered everywhere, for a year

  nlohmann::json roles = nlohmann::json::parse(master_->snapshot()->rolesBody)["roles"];
  ASSERT_EQ(roles.size(), 1u);
  ASSERT_EQ(roles[0]["filters"].size(), 1u);
  const nlohmann::json& filter = roles[0]["filters"][0];
  EXPECT_EQ(filter["framework_id"], decliner->frameworkId);
  EXPECT_EQ(filter["agents"], 3);
  EXPECT_NEAR(filter["earliest_expiry"].get<double>() - clock_.wallSeconds(), 365.0 * 86400 - 60,
              2);
}

}  // namespace
}  // namespace agora::master::testing
