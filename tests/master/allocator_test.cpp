#include "master/allocator.hpp"

#include <gtest/gtest.h>

namespace agora::master {
namespace {

Resources res(const std::string& text) { return *Resources::parse(text); }

class DrfAllocatorTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  DrfAllocator allocator_{clock_};
};

TEST_F(DrfAllocatorTest, OffersEachAgentsWholeFreePoolToOneFramework) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frameworkId, "f1");
  EXPECT_EQ(out[0].resources.toString(), "cpus:4;mem:1024");
  EXPECT_TRUE(allocator_.allocate().empty());  // nothing left
  EXPECT_EQ(allocator_.available("a1").toString(), "");
}

TEST_F(DrfAllocatorTest, PicksTheFrameworkWithTheLowestDominantShare) {
  allocator_.addFramework("f1");
  allocator_.addFramework("f2");
  // f1 already runs a memory-heavy task on a1.
  allocator_.addAgent("a1", res("cpus:10;mem:1000"), {{"f1", res("cpus:1;mem:500")}});
  allocator_.addAgent("a2", res("cpus:10;mem:1000"), {{"f2", res("cpus:4;mem:100")}});
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f1"), 0.25);  // mem 500/2000
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f2"), 0.2);   // cpus 4/20
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].agentId, "a1");
  EXPECT_EQ(out[0].frameworkId, "f2");
  EXPECT_EQ(out[1].frameworkId, "f1");  // f2 now holds 13 of 20 cpus
}

TEST_F(DrfAllocatorTest, RefuseFilterCoversSubsetsUntilItExpires) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {});
  auto out = allocator_.allocate();
  allocator_.recover("f1", "a1", out[0].resources, 5);
  EXPECT_TRUE(allocator_.allocate().empty());
  clock_.advance(seconds(4.9));
  EXPECT_TRUE(allocator_.allocate().empty());
  clock_.advance(seconds(0.2));
  EXPECT_EQ(allocator_.allocate().size(), 1u);
}

TEST_F(DrfAllocatorTest, FilterDoesNotCoverALargerPool) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {{"f1", res("cpus:2;mem:512")}});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  allocator_.recover("f1", "a1", out[0].resources, 100);  // refuses cpus:2;mem:512
  EXPECT_TRUE(allocator_.allocate().empty());
  allocator_.recover("f1", "a1", res("cpus:2;mem:512"), 0);  // its task ended
  out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resources.toString(), "cpus:4;mem:1024");
}

TEST_F(DrfAllocatorTest, SuppressedAndInactiveFrameworksGetNothingUntilRevived) {
  allocator_.addFramework("f1");
  allocator_.addFramework("f2");
  allocator_.suppress("f1");
  allocator_.deactivateFramework("f2");
  allocator_.addAgent("a1", res("cpus:1;mem:64"), {});
  EXPECT_TRUE(allocator_.allocate().empty());
  allocator_.revive("f1");
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frameworkId, "f1");
}

TEST_F(DrfAllocatorTest, RemovingAnAgentOrFrameworkReleasesItsAllocations) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:2;mem:64"), {});
  allocator_.addAgent("a2", res("cpus:2;mem:64"), {});
  ASSERT_EQ(allocator_.allocate().size(), 2u);
  allocator_.removeAgent("a1");
  EXPECT_EQ(allocator_.allocated("f1").toString(), "cpus:2;mem:64");
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f1"), 1.0);
  allocator_.removeFramework("f1");
  EXPECT_EQ(allocator_.available("a2").toString(), "cpus:2;mem:64");
}

TEST_F(DrfAllocatorTest, RecoverNeverMintsResources) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:2;mem:64"), {});
  auto out = allocator_.allocate();
  allocator_.recover("f1", "a1", res("cpus:5;mem:64"), 0);
  EXPECT_EQ(allocator_.available("a1").toString(), "cpus:2;mem:64");
  allocator_.recover("f1", "a1", res("cpus:1"), 0);  // nothing allocated any more
  EXPECT_EQ(allocator_.available("a1").toString(), "cpus:2;mem:64");
}

TEST_F(DrfAllocatorTest, DoesNotOfferCrumbs) {
  allocator_.addFramework("f1");
  allocator_.addAgent("a1", res("cpus:0.001;mem:16;disk:100"), {});
  EXPECT_TRUE(allocator_.allocate().empty());
}

}  // namespace
}  // namespace agora::master
