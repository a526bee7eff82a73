// Offer constraints on agent attributes (SUBSCRIBE) and minimum allocatable
// resources: evaluation, the allocator's per-agent masks and the master.

#include "master/allocator/offer_constraints.hpp"

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "master/allocator/hierarchical_allocator.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master {
namespace {

using agora::testing::res;

std::shared_ptr<const OfferConstraints> compiled(const std::vector<std::string>& texts) {
  std::vector<AttributeConstraint> constraints;
  for (const auto& t : texts) constraints.push_back(*parseAttributeConstraint(t));
  auto out = OfferConstraints::compile(constraints);
  EXPECT_TRUE(out.has_value()) << out.error().message;
  return *out;
}

TEST(OfferConstraintsTest, EachPredicateOnPresentAndAbsentAttributes) {
  KeyValues rack1 = {{"rack", "r1"}, {"zone", "us-east-1"}};
  KeyValues bare = {};
  EXPECT_TRUE(compiled({"rack"})->matches(rack1));
  EXPECT_FALSE(compiled({"rack"})->matches(bare));
  EXPECT_TRUE(compiled({"!gpu"})->matches(rack1));
  EXPECT_FALSE(compiled({"!rack"})->matches(rack1));
  EXPECT_TRUE(compiled({"rack=r1"})->matches(rack1));
  EXPECT_FALSE(compiled({"rack=r2"})->matches(rack1));
  EXPECT_FALSE(compiled({"rack=r1"})->matches(bare));
  EXPECT_TRUE(compiled({"rack!=r2"})->matches(rack1));
  EXPECT_TRUE(compiled({"rack!=r1"})->matches(bare));
  EXPECT_TRUE(compiled({"zone~us-.*"})->matches(rack1));
  EXPECT_FALSE(compiled({"zone~us"})->matches(rack1));  // the whole value must match
  EXPECT_FALSE(compiled({"zone~us-.*"})->matches(bare));
  EXPECT_TRUE(compiled({"zone!~eu-.*"})->matches(rack1));
  EXPECT_TRUE(compiled({"zone!~eu-.*"})->matches(bare));
  EXPECT_TRUE(compiled({"rack=r1", "zone~us-.*"})->matches(rack1));
  EXPECT_FALSE(compiled({"rack=r1", "zone~eu-.*"})->matches(rack1));
}

TEST(OfferConstraintsTest, InvalidRegexIsRefusedWithTheConstraint) {
  auto out = OfferConstraints::compile({*parseAttributeConstraint("zone~us-(")});
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().message.find("zone~us-("), std::string::npos) << out.error().message;
  EXPECT_NE(out.error().message.find("invalid regex"), std::string::npos);
}

TEST(OfferConstraintsTest, PathologicalRegexStaysLinear) {
  // Backtracking engines take exponential time here; RE2 does not.
  auto c = compiled({"name~(a+)+$"});
  KeyValues attrs = {{"name", std::string(5000, 'a') + "b"}};
  EXPECT_FALSE(c->matches(attrs));
}

class ConstrainedAllocatorTest : public ::testing::Test {
 protected:
  // Offers per framework from one pass, as "framework@agent".
  std::vector<std::string> pass() {
    std::vector<std::string> out;
    for (const Allocation& a : allocator_.allocate()) out.push_back(a.frameworkId + "@" + a.agentId);
    std::sort(out.begin(), out.end());
    return out;
  }
  SimulatedClock clock_;
  HierarchicalAllocator allocator_{clock_};
};

TEST_F(ConstrainedAllocatorTest, ConstrainedFrameworkGetsOnlyMatchingAgents) {
  allocator_.addFramework("f1", {});
  allocator_.setOfferConstraints("f1", compiled({"rack=r1"}));
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r1"}});
  allocator_.addAgent("a2", res("cpus:4;mem:1024"), {}, {{"rack", "r2"}});
  allocator_.addAgent("a3", res("cpus:4;mem:1024"), {});
  EXPECT_EQ(pass(), std::vector<std::string>({"f1@a1"}));
  // An unconstrained framework takes what f1 may not have.
  allocator_.addFramework("f2", {});
  EXPECT_EQ(pass(), std::vector<std::string>({"f2@a2", "f2@a3"}));
}

TEST_F(ConstrainedAllocatorTest, LiftingConstraintsOpensTheOtherAgents) {
  allocator_.addFramework("f1", {});
  allocator_.setOfferConstraints("f1", compiled({"rack=r1"}));
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r2"}});
  EXPECT_TRUE(pass().empty());
  allocator_.setOfferConstraints("f1", nullptr);
  EXPECT_EQ(pass(), std::vector<std::string>({"f1@a1"}));
}

TEST_F(ConstrainedAllocatorTest, NewRoleOfAConstrainedFrameworkIsConstrainedToo) {
  allocator_.addFramework("f1", {"a"});
  allocator_.setOfferConstraints("f1", compiled({"rack=r1"}));
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r2"}});
  allocator_.addFramework("f1", {"a", "b"});
  EXPECT_TRUE(pass().empty());
}

TEST_F(ConstrainedAllocatorTest, ReusedClientSlotDoesNotInheritConstraints) {
  allocator_.addFramework("f1", {});
  allocator_.setOfferConstraints("f1", compiled({"rack=r1"}));
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r2"}});
  EXPECT_TRUE(pass().empty());
  allocator_.removeFramework("f1");
  allocator_.addFramework("f2", {});  // takes f1's freed client index
  EXPECT_EQ(pass(), std::vector<std::string>({"f2@a1"}));
}

TEST_F(ConstrainedAllocatorTest, ReaddedAgentIsJudgedByItsNewAttributes) {
  allocator_.addFramework("f1", {});
  allocator_.setOfferConstraints("f1", compiled({"rack=r1"}));
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r2"}});
  EXPECT_TRUE(pass().empty());
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {}, {{"rack", "r1"}});
  EXPECT_EQ(pass(), std::vector<std::string>({"f1@a1"}));
}

TEST(MinAllocatableTest, ParsesAlternativesAndRefusesRangesOrGarbage) {
  auto two = parseMinAllocatable("cpus:1;mem:64|disk:1024");
  ASSERT_TRUE(two.has_value());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].toString(), "cpus:1;mem:64");
  EXPECT_FALSE(parseMinAllocatable("ports:[1-2]").has_value());
  EXPECT_FALSE(parseMinAllocatable("cpus:1|").has_value());
  EXPECT_FALSE(parseMinAllocatable("cpus:x").has_value());
}

TEST(MinAllocatableTest, PoolsBelowEveryAlternativeAreNotOffered) {
  SimulatedClock clock;
  HierarchicalAllocator allocator(clock);
  allocator.setMinAllocatable(*parseMinAllocatable("cpus:1;mem:256|disk:1000"));
  allocator.addFramework("f1", {});
  allocator.addAgent("small", res("cpus:0.5;mem:4096"), {});
  allocator.addAgent("thin", res("cpus:8;mem:128"), {});
  EXPECT_TRUE(allocator.allocate().empty());
  allocator.addAgent("disky", res("cpus:0.5;mem:128;disk:2000"), {});
  auto out = allocator.allocate();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].agentId, "disky");
}

}  // namespace

namespace testing {
namespace {

TEST_F(MasterTest, SubscribeWithInvalidConstraintRegexIsRefused) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->offerConstraints = {*parseAttributeConstraint("zone~(")};
  s->subscribe("fw");
  settle();
  EXPECT_TRUE(s->frameworkId.empty());
  ASSERT_FALSE(s->errors.empty());
  EXPECT_NE(s->errors[0].find("invalid regex"), std::string::npos) << s->errors[0];
  EXPECT_TRUE(master_->state().frameworks.empty());
}

TEST_F(MasterTest, ConstrainedFrameworkIsOfferedOnlyMatchingAgents) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->offerConstraints = {*parseAttributeConstraint("rack=r1")};
  s->subscribe("fw");
  settle();
  auto other = std::make_unique<FakeAgent>(network_, "agent-b");
  other->attributes = {{"rack", "r2"}};
  other->registerAgent("cpus:4;mem:4096");
  auto match = std::make_unique<FakeAgent>(network_, "agent-a");
  match->attributes = {{"rack", "r1"}};
  match->registerAgent("cpus:4;mem:4096");
  settle();
  ASSERT_EQ(s->offers.size(), 1u);
  EXPECT_EQ(s->offers[0].agentId, match->agentId);
  advance(2);
  EXPECT_EQ(s->offers.size(), 1u);
}

}  // namespace
}  // namespace testing
}  // namespace agora::master
