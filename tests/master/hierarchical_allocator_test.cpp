#include "master/allocator/hierarchical_allocator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/clock.hpp"
#include "master/allocator/role_name.hpp"
#include "tests/common/resource_helpers.hpp"

namespace agora::master {
namespace {

using agora::testing::res;

class HierarchicalAllocatorTest : public ::testing::Test {
 protected:
  // Runs passes until nothing is offered; each offer is handled by `take`,
  // which returns what the framework keeps (the rest is declined with a
  // long filter).
  template <typename F>
  void runToCompletion(F take) {
    for (int pass = 0; pass < 10000; ++pass) {
      auto out = allocator_.allocate();
      if (out.empty()) return;
      for (const Allocation& a : out) {
        Resources kept = take(a);
        Resources rest = a.resources - kept;
        if (!rest.empty()) {
          allocator_.recover(a.frameworkId, a.role, a.agentId, rest, kept.empty() ? 1e6 : 0);
        }
      }
    }
    FAIL() << "allocation did not converge";
  }

  SimulatedClock clock_;
  HierarchicalAllocator allocator_{clock_};
};

TEST_F(HierarchicalAllocatorTest, OffersEachAgentsWholeFreePoolInTheFrameworksRole) {
  allocator_.addFramework("f1", {"eng"});
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frameworkId, "f1");
  EXPECT_EQ(out[0].role, "eng");
  EXPECT_EQ(out[0].resources.toString(), "cpus:4;mem:1024");
  EXPECT_TRUE(allocator_.allocate().empty());
  EXPECT_EQ(allocator_.available("a1").toString(), "");
}

TEST_F(HierarchicalAllocatorTest, PicksTheFrameworkWithTheLowestDominantShare) {
  allocator_.addFramework("f1", {});
  allocator_.addFramework("f2", {});
  allocator_.addAgent("a1", res("cpus:10;mem:1000"), {{{"f1", "*"}, res("cpus:1;mem:500")}});
  allocator_.addAgent("a2", res("cpus:10;mem:1000"), {{{"f2", "*"}, res("cpus:4;mem:100")}});
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f1"), 0.25);
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f2"), 0.2);
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].frameworkId, "f2");  // a1 first, to the lower share
}

TEST_F(HierarchicalAllocatorTest, RefuseFilterCoversSubsetsUntilItExpires) {
  allocator_.addFramework("f1", {});
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {});
  auto out = allocator_.allocate();
  allocator_.recover("f1", "*", "a1", out[0].resources, 5);
  EXPECT_TRUE(allocator_.allocate().empty());
  clock_.advance(seconds(4.9));
  EXPECT_TRUE(allocator_.allocate().empty());
  clock_.advance(seconds(0.2));
  EXPECT_EQ(allocator_.allocate().size(), 1u);
}

TEST_F(HierarchicalAllocatorTest, FilterDoesNotCoverALargerPool) {
  allocator_.addFramework("f1", {});
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {{{"f1", "*"}, res("cpus:2;mem:512")}});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  allocator_.recover("f1", "*", "a1", out[0].resources, 100);
  EXPECT_TRUE(allocator_.allocate().empty());
  allocator_.recover("f1", "*", "a1", res("cpus:2;mem:512"), 0);  // its task ended
  out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resources.toString(), "cpus:4;mem:1024");
}

TEST_F(HierarchicalAllocatorTest, SuppressPerRoleAndReviveClearsFilters) {
  allocator_.addFramework("f1", {"a", "b"});
  allocator_.addAgent("a1", res("cpus:1;mem:64"), {});
  allocator_.suppress("f1", {"a"});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].role, "b");
  allocator_.recover("f1", "b", "a1", out[0].resources, 1000);
  EXPECT_TRUE(allocator_.allocate().empty());  // a suppressed, b filtered
  allocator_.revive("f1", {"b"});
  out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].role, "b");
  allocator_.recover("f1", "b", "a1", out[0].resources, 1000);
  allocator_.revive("f1", {});
  out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  auto views = allocator_.roles();
  ASSERT_EQ(views.size(), 2u);
  EXPECT_TRUE(views[0].suppressed.empty());
}

TEST_F(HierarchicalAllocatorTest, InactiveFrameworksGetNothing) {
  allocator_.addFramework("f1", {});
  allocator_.deactivateFramework("f1");
  allocator_.addAgent("a1", res("cpus:1;mem:64"), {});
  EXPECT_TRUE(allocator_.allocate().empty());
  allocator_.activateFramework("f1");
  EXPECT_EQ(allocator_.allocate().size(), 1u);
}

TEST_F(HierarchicalAllocatorTest, RemovingAnAgentOrFrameworkReleasesItsAllocations) {
  allocator_.addFramework("f1", {});
  allocator_.addAgent("a1", res("cpus:2;mem:64"), {});
  allocator_.addAgent("a2", res("cpus:2;mem:64"), {});
  ASSERT_EQ(allocator_.allocate().size(), 2u);
  allocator_.removeAgent("a1");
  EXPECT_EQ(allocator_.allocated("f1").toString(), "cpus:2;mem:64");
  EXPECT_DOUBLE_EQ(allocator_.dominantShare("f1"), 1.0);
  allocator_.removeFramework("f1");
  EXPECT_EQ(allocator_.available("a2").toString(), "cpus:2;mem:64");
  EXPECT_TRUE(allocator_.roles().empty());  // "*" pruned with its last framework
}

TEST_F(HierarchicalAllocatorTest, RecoverNeverMintsResourcesAndSkipsCrumbs) {
  allocator_.addFramework("f1", {});
  allocator_.addAgent("a1", res("cpus:2;mem:64"), {});
  auto out = allocator_.allocate();
  allocator_.recover("f1", "*", "a1", res("cpus:5;mem:64"), 0);
  EXPECT_EQ(allocator_.available("a1").toString(), "cpus:2;mem:64");
  allocator_.recover("f1", "*", "a1", res("cpus:1"), 0);
  EXPECT_EQ(allocator_.available("a1").toString(), "cpus:2;mem:64");
  allocator_.addAgent("a2", res("cpus:0.001;mem:16;disk:100"), {});
  for (const Allocation& a : allocator_.allocate()) EXPECT_NE(a.agentId, "a2");
}

TEST_F(HierarchicalAllocatorTest, WeightedDrfConvergesWithHeterogeneousTasks) {
  ASSERT_TRUE(allocator_.setWeight("light", 1));
  ASSERT_TRUE(allocator_.setWeight("heavy", 3));
  allocator_.addFramework("cpu-bound", {"light"});
  allocator_.addFramework("mem-bound", {"heavy"});
  for (int i = 0; i < 200; ++i) {
    allocator_.addAgent("a" + std::to_string(i), res("cpus:4;mem:4096"), {});
  }
  const Resources cpuTask = res("cpus:1;mem:256");
  const Resources memTask = res("cpus:0.25;mem:1024");
  std::map<std::string, int> tasks;
  int launched = 0;
  runToCompletion([&](const Allocation& a) {
    const Resources& shape = a.frameworkId == "cpu-bound" ? cpuTask : memTask;
    // Stop well before fragmentation (not fairness) decides who fits where.
    if (launched >= 400 || !a.resources.contains(shape)) return Resources();
    ++tasks[a.frameworkId];
    ++launched;
    return shape;  // one task per offer, the rest goes back at once
  });
  double light = allocator_.dominantShare("cpu-bound");  // cpus share
  double heavy = allocator_.dominantShare("mem-bound");  // mem share
  EXPECT_NEAR(heavy / light, 3.0, 0.1) << tasks["cpu-bound"] << " vs " << tasks["mem-bound"];
  EXPECT_NEAR(tasks["cpu-bound"], 100, 3);
}

TEST_F(HierarchicalAllocatorTest, HierarchicalRolesShareTheirParentsWeight) {
  allocator_.addFramework("web", {"eng/web"});
  allocator_.addFramework("db", {"eng/db"});
  allocator_.addFramework("ops", {"ops"});
  for (int i = 0; i < 40; ++i) allocator_.addAgent("a" + std::to_string(i), res("cpus:1;mem:1024"), {});
  std::map<std::string, int> agents;
  runToCompletion([&](const Allocation& a) {
    ++agents[a.frameworkId];
    return a.resources;  // holds everything
  });
  EXPECT_EQ(agents["ops"], 20);
  EXPECT_EQ(agents["web"], 10);
  EXPECT_EQ(agents["db"], 10);
}

TEST_F(HierarchicalAllocatorTest, QuotaLimitIsNeverExceeded) {
  ASSERT_TRUE(allocator_.setQuota("capped", std::nullopt, res("cpus:3;mem:3000")));
  allocator_.addFramework("greedy", {"capped"});
  allocator_.addFramework("other", {});
  for (int i = 0; i < 4; ++i) allocator_.addAgent("a" + std::to_string(i), res("cpus:2;mem:2048"), {});
  runToCompletion([&](const Allocation& a) {
    if (a.frameworkId == "greedy") {
      EXPECT_LE(allocator_.allocated("greedy").scalar("cpus"), 3.0);
      EXPECT_LE(allocator_.allocated("greedy").scalar("mem"), 3000.0);
    }
    return a.resources;
  });
  EXPECT_DOUBLE_EQ(allocator_.allocated("greedy").scalar("cpus"), 3.0);
  EXPECT_DOUBLE_EQ(allocator_.allocated("other").scalar("cpus"), 5.0);
  for (const RoleView& view : allocator_.roles()) {
    if (view.name == "capped") {
      EXPECT_DOUBLE_EQ(view.consumed.scalar("cpus"), 3.0);
    }
  }
}

TEST_F(HierarchicalAllocatorTest, GuaranteesAreMetBeforeOthersGrow) {
  allocator_.addFramework("early", {});  // older: wins ties without quota
  allocator_.addFramework("guaranteed", {"prod"});
  ASSERT_TRUE(allocator_.setQuota("prod", res("cpus:3"), std::nullopt));
  allocator_.addAgent("a1", res("cpus:2;mem:1024"), {});
  allocator_.addAgent("a2", res("cpus:2;mem:1024"), {});
  auto out = allocator_.allocate();
  EXPECT_DOUBLE_EQ(allocator_.allocated("guaranteed").scalar("cpus"), 3.0);
  EXPECT_DOUBLE_EQ(allocator_.allocated("early").scalar("cpus"), 1.0);
}

TEST_F(HierarchicalAllocatorTest, UnmetGuaranteeHoldsHeadroomBack) {
  allocator_.addFramework("other", {});
  allocator_.addFramework("guaranteed", {"prod"});
  ASSERT_TRUE(allocator_.setQuota("prod", res("cpus:3"), std::nullopt));
  allocator_.suppress("guaranteed", {});
  allocator_.addAgent("a1", res("cpus:2;mem:1024"), {});
  allocator_.addAgent("a2", res("cpus:2;mem:1024"), {});
  allocator_.allocate();
  // Only 1 of the 4 cpus may go to others while prod still lacks 3.
  EXPECT_DOUBLE_EQ(allocator_.allocated("other").scalar("cpus"), 1.0);
  allocator_.revive("guaranteed", {});
  allocator_.allocate();
  EXPECT_DOUBLE_EQ(allocator_.allocated("guaranteed").scalar("cpus"), 3.0);
}

TEST_F(HierarchicalAllocatorTest, PassVisitsOnlyDirtyAgentsUnlessSomethingGlobalChanged) {
  allocator_.addFramework("f1", {});
  for (int i = 0; i < 50; ++i) allocator_.addAgent("a" + std::to_string(i), res("cpus:1;mem:64"), {});
  auto out = allocator_.allocate();
  ASSERT_EQ(out.size(), 50u);
  EXPECT_EQ(allocator_.stats().lastPassAgents, 50u);
  allocator_.recover("f1", "*", "a7", res("cpus:1;mem:64"), 0);
  out = allocator_.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].agentId, "a7");
  EXPECT_EQ(allocator_.stats().lastPassAgents, 1u);
  allocator_.allocate();
  EXPECT_EQ(allocator_.stats().lastPassAgents, 0u);
  allocator_.addFramework("f2", {});  // global: everyone may want something
  allocator_.allocate();
  EXPECT_EQ(allocator_.stats().lastPassAgents, 50u);
  ASSERT_TRUE(allocator_.setWeight("*", 2));
  allocator_.allocate();
  EXPECT_EQ(allocator_.stats().lastPassAgents, 50u);
}

TEST_F(HierarchicalAllocatorTest, RandomSorterStillHonoursFiltersAndLimits) {
  HierarchicalAllocator random(clock_, makeSorter("random"));
  ASSERT_TRUE(random.setQuota("capped", std::nullopt, res("cpus:1")));
  random.addFramework("f1", {"capped"});
  random.addFramework("f2", {});
  random.addAgent("a1", res("cpus:4;mem:1024"), {});
  random.allocate();
  EXPECT_LE(random.allocated("f1").scalar("cpus"), 1.0);
  EXPECT_DOUBLE_EQ(random.allocated("f1").scalar("cpus") + random.allocated("f2").scalar("cpus"), 4.0);
}

TEST_F(HierarchicalAllocatorTest, BadOperatorInputChangesNothing) {
  EXPECT_FALSE(allocator_.setWeight("eng", -1));
  EXPECT_FALSE(allocator_.setWeight("bad role", 2));
  auto limitBelow = allocator_.setQuota("eng", res("cpus:2"), res("cpus:1"));
  ASSERT_FALSE(limitBelow);
  EXPECT_NE(limitBelow.error().message.find("limit"), std::string::npos);
  EXPECT_FALSE(allocator_.setQuota("eng", std::nullopt, res("ports:[1-2]")));
  EXPECT_FALSE(allocator_.removeQuota("eng"));
  EXPECT_TRUE(allocator_.roles().empty());
}

TEST_F(HierarchicalAllocatorTest, GuaranteeBeyondCapacityIsAcceptedButFlagged) {
  allocator_.addAgent("a1", res("cpus:2;mem:1024"), {});
  ASSERT_TRUE(allocator_.setQuota("big", res("cpus:100"), std::nullopt));
  auto views = allocator_.roles();
  ASSERT_EQ(views.size(), 1u);
  EXPECT_TRUE(views[0].guaranteeExceedsCapacity);
  ASSERT_TRUE(allocator_.removeQuota("big"));
  EXPECT_TRUE(allocator_.roles().empty());
}

TEST(RoleNameTest, ValidatesLikeMesos) {
  for (const char* good : {"*", "eng", "eng/web", "a.b", "x-y_z", "eng/web/v2"}) {
    EXPECT_TRUE(validateRoleName(good)) << good;
  }
  for (const char* bad : {"", "/eng", "eng/", "eng//web", ".", "..", "eng/..", "a b", "a\tb",
                          "eng/*", "**", "-eng"}) {
    EXPECT_FALSE(validateRoleName(bad)) << bad;
  }
  EXPECT_EQ(roleAncestry("a/b/c"), (std::vector<std::string>{"a", "a/b", "a/b/c"}));
}

}  // namespace
}  // namespace agora::master
