// Marathon's placement constraints against offers and the tasks already
// placed, each refusal naming its constraint.

#include "frameworks/kit/constraints.hpp"

#include <gtest/gtest.h>

namespace agora::kit {
namespace {

Placement at(const std::string& host, const std::string& rack) {
  return Placement{host, {{"rack", rack}}};
}

Constraint parse(const std::vector<std::string>& parts) {
  auto c = parseConstraint(parts);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : Constraint{};
}

TEST(ConstraintsTest, UniqueKeepsOneTaskPerValue) {
  Constraint unique = parse({"hostname", "unique"});
  EXPECT_TRUE(allows(unique, at("h1", "r1"), {}));
  Status refused = allows(unique, at("h1", "r1"), {at("h1", "r1")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "constraint hostname:UNIQUE: a task already runs on hostname 'h1'");
  EXPECT_TRUE(allows(unique, at("h2", "r1"), {at("h1", "r1")}));
}

TEST(ConstraintsTest, ClusterFollowsTheValueOrTheFirstTask) {
  EXPECT_FALSE(allows(parse({"rack", "CLUSTER", "r2"}), at("h1", "r1"), {}));
  EXPECT_TRUE(allows(parse({"rack", "CLUSTER", "r2"}), at("h1", "r2"), {}));
  Constraint together = parse({"rack", "CLUSTER"});
  EXPECT_TRUE(allows(together, at("h1", "r1"), {}));
  EXPECT_TRUE(allows(together, at("h2", "r1"), {at("h1", "r1")}));
  EXPECT_FALSE(allows(together, at("h3", "r2"), {at("h1", "r1")}));
}

TEST(ConstraintsTest, GroupBySpreadsEvenly) {
  Constraint spread = parse({"rack", "GROUP_BY", "2"});
  // Two racks expected, one seen: only the other rack takes the next task.
  EXPECT_FALSE(allows(spread, at("h2", "r1"), {at("h1", "r1")}));
  EXPECT_TRUE(allows(spread, at("h3", "r2"), {at("h1", "r1")}));
  EXPECT_TRUE(allows(spread, at("h2", "r1"), {at("h1", "r1"), at("h3", "r2")}));
  Status uneven = allows(spread, at("h4", "r1"), {at("h1", "r1"), at("h2", "r1"), at("h3", "r2")});
  ASSERT_FALSE(uneven);
  EXPECT_NE(uneven.error().message.find("another value has 1"), std::string::npos);
}

TEST(ConstraintsTest, LikeUnlikeIsAndMaxPer) {
  EXPECT_TRUE(allows(parse({"rack", "LIKE", "r[12]"}), at("h", "r1"), {}));
  EXPECT_FALSE(allows(parse({"rack", "LIKE", "r[12]"}), at("h", "r3"), {}));
  EXPECT_FALSE(allows(parse({"rack", "LIKE", "r"}), at("h", "r1"), {}));  // whole value
  EXPECT_FALSE(allows(parse({"rack", "UNLIKE", "r1"}), at("h", "r1"), {}));
  EXPECT_TRUE(allows(parse({"gpu", "UNLIKE", "yes"}), at("h", "r1"), {}));  // no attribute
  EXPECT_FALSE(allows(parse({"gpu", "IS", "yes"}), at("h", "r1"), {}));
  EXPECT_TRUE(allows(parse({"rack", "IS", "r1"}), at("h", "r1"), {}));
  Constraint two = parse({"rack", "MAX_PER", "2"});
  EXPECT_TRUE(allows(two, at("h3", "r1"), {at("h1", "r1")}));
  EXPECT_FALSE(allows(two, at("h3", "r1"), {at("h1", "r1"), at("h2", "r1")}));
  EXPECT_TRUE(allowsAll({parse({"hostname", "UNIQUE"}), two}, at("h3", "r2"),
                        {at("h1", "r1"), at("h2", "r1")}));
}

TEST(ConstraintsTest, BadConstraintsAreNamed) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"hostname"},
                                             {"hostname", "SOMETIMES"},
                                             {"hostname", "UNIQUE", "x"},
                                             {"rack", "MAX_PER"},
                                             {"rack", "MAX_PER", "0"},
                                             {"rack", "GROUP_BY", "two"},
                                             {"rack", "LIKE", "r[1"},
                                             {"rack", "IS"},
                                             {"", "UNIQUE"}}) {
    auto c = parseConstraint(bad);
    ASSERT_FALSE(c) << bad[0] << " " << (bad.size() > 1 ? bad[1] : "");
    EXPECT_EQ(c.error().message.rfind("constraint [", 0), 0u) << c.error().message;
  }
  EXPECT_EQ(parse({"rack", "max_per", "3"}).text(), "rack:MAX_PER:3");
  EXPECT_EQ(parse({"rack", "GROUP_BY"}).number, 0);
}

}  // namespace
}  // namespace agora::kit
