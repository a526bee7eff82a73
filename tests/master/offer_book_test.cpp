// The offer book alone: offers made from allocations, taken, declined,
// rescinded and timed out, with what it sends and publishes.

#include "master/offers/offer_book.hpp"

#include <gmock/gmock.h>

#include "tests/master/component_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::ElementsAre;

class OfferBookTest : public ComponentTest {
 protected:
  OfferBookTest() {
    addAgent("a1", "cpus:2;mem:1024");
    addAgent("a2", "cpus:2;mem:1024");
    addFramework("f1", "sched-1");
  }
  // One pass; returns the offers f1's scheduler received.
  std::vector<Offer> allocate() {
    book_.allocate();
    settle();
    return scheduler_.offers;
  }

  // The counters' getters are the const overloads.
  const MasterMetrics& view() const { return metrics_; }

  FakeScheduler scheduler_{network_, "sched-1"};
  OfferBook book_{ctx_, OfferOptions{std::chrono::seconds(30)}};
};

TEST_F(OfferBookTest, OffersWhatTheAllocatorAllocatesAndIndexesIt) {
  auto offers = allocate();
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(book_.all().size(), 2u);
  EXPECT_EQ(book_.onAgent("a1").size(), 1u);
  EXPECT_EQ(book_.ofFramework("f1").size(), 2u);
  EXPECT_EQ(book_.offeredOnAgent("a1").toString(), "cpus:2;mem:1024");
  const OfferRecord* record = book_.find(*book_.onAgent("a2").begin());
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->offer.hostname, "a2.example");
  EXPECT_EQ(view().offersSent(), 2u);
  EXPECT_THAT(published(), ElementsAre("offer_sent", "offer_sent"));
  // Everything is offered: a second pass has nothing to add.
  EXPECT_EQ(allocate().size(), 2u);
}

TEST_F(OfferBookTest, AnAllocationToAFrameworkThatCannotTakeOffersGoesBack) {
  directory_.frameworks.at("f1").active = false;
  EXPECT_TRUE(allocate().empty());
  EXPECT_TRUE(book_.all().empty());
  directory_.frameworks.at("f1").active = true;
  EXPECT_EQ(allocate().size(), 2u);  // the resources were returned, not lost
}

TEST_F(OfferBookTest, TakingAnOfferKeepsItsResourcesAndForgetsIt) {
  allocate();
  std::string id = *book_.onAgent("a1").begin();
  Offer taken = book_.take(id, "accepted");
  EXPECT_EQ(taken.resources.toString(), "cpus:2;mem:1024");
  EXPECT_EQ(book_.find(id), nullptr);
  EXPECT_TRUE(book_.onAgent("a1").empty());
  EXPECT_EQ(allocator_.available("a1").toString(), "");  // still allocated to f1
  published();
  book_.remove(id, true, 0, "again");  // gone already: nothing happens
  EXPECT_TRUE(published().empty());
}

TEST_F(OfferBookTest, RescindingTellsTheFrameworkAndReturnsTheResources) {
  allocate();
  published();
  book_.rescindAllOnAgent("a1", "agent_unreachable");
  settle();
  EXPECT_EQ(scheduler_.rescinds.size(), 1u);
  EXPECT_EQ(view().offersRescinded("agent_unreachable"), 1u);
  EXPECT_EQ(allocator_.available("a1").toString(), "cpus:2;mem:1024");
  EXPECT_GT(allocationsAsked_, 0);
  EXPECT_THAT(published(), ElementsAre("offer_removed"));
  // Removed without a rescind: the framework is not told.
  book_.removeAllOfFramework("f1", "framework_removed");
  settle();
  EXPECT_EQ(scheduler_.rescinds.size(), 1u);
  EXPECT_TRUE(book_.all().empty());
}

TEST_F(OfferBookTest, ADeclineRemovesOnlyTheFrameworksOwnOffersAndFiltersThem) {
  addFramework("f2", "sched-2");
  allocate();
  std::set<std::string> offered = book_.ofFramework("f1");
  std::vector<std::string> mine(offered.begin(), offered.end());
  book_.decline("f2", mine, 60);  // not f2's: ignored
  EXPECT_EQ(book_.ofFramework("f1").size(), mine.size());
  book_.decline("f1", mine, 60);
  EXPECT_TRUE(book_.ofFramework("f1").empty());
  EXPECT_EQ(view().offersDeclined(), mine.size());
  book_.allocate();
  settle();
  // Filtered for f1 for 60 s: what f1 declined went to f2.
  EXPECT_TRUE(book_.ofFramework("f1").empty());
  EXPECT_EQ(book_.ofFramework("f2").size(), 2u);
}

TEST_F(OfferBookTest, AnUnansweredOfferTimesOutAndIsFilteredForItsHolder) {
  allocate();
  clock_.advance(std::chrono::seconds(31));
  settle();
  EXPECT_TRUE(book_.all().empty());
  EXPECT_EQ(scheduler_.rescinds.size(), 2u);
  EXPECT_EQ(view().offersRescinded("timeout"), 2u);
  book_.allocate();
  settle();
  EXPECT_TRUE(book_.all().empty());  // filtered for kTimedOutRefuseSeconds
  clock_.advance(std::chrono::seconds(6));
  settle();
  book_.allocate();
  settle();
  EXPECT_EQ(book_.all().size(), 2u);
}

}  // namespace
}  // namespace agora::master::testing
