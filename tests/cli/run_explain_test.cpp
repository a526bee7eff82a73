#include "cli/run_explain.hpp"

#include <gtest/gtest.h>

namespace agora::cli {
namespace {

AttributeConstraint parse(const std::string& text) { return *parseAttributeConstraint(text); }

nlohmann::json agents(std::vector<nlohmann::json> attributes) {
  nlohmann::json list = nlohmann::json::array();
  for (auto& a : attributes) list.push_back({{"id", "a"}, {"status", "REGISTERED"}, {"attributes", a}});
  return {{"agents", list}};
}

TEST(RunExplainTest, NamesTheConstraintNoAgentSatisfiesAndTheAgentsAttributes) {
  auto why = explainConstraints(agents({nlohmann::json::object()}), {parse("rack=r1")});
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "no agent matches constraint rack=r1: 1 agent, attributes {}");

  why = explainConstraints(agents({{{"rack", "r2"}}, {{"rack", "r3"}}, {{"rack", "r2"}}}),
                           {parse("zone"), parse("rack=r1")});
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "no agent matches constraint zone: 3 agents, attributes {rack:r2}, {rack:r3}");
}

TEST(RunExplainTest, ConstraintsMetOnlySeparately) {
  auto why = explainConstraints(agents({{{"rack", "r1"}}, {{"zone", "a"}}}),
                                {parse("rack=r1"), parse("zone=a")});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("no agent matches all of the constraints rack=r1 zone=a: 2 agents", 0), 0u)
      << *why;
}

TEST(RunExplainTest, NothingToSayWhenAnAgentMatches) {
  EXPECT_FALSE(explainConstraints(agents({{{"rack", "r1"}}}), {parse("rack~r.*"), parse("!gpu")}));
  EXPECT_FALSE(explainConstraints(agents({{{"rack", "r1"}}}), {}));
}

TEST(RunExplainTest, Predicates) {
  nlohmann::json a = {{"rack", "r1"}};
  EXPECT_TRUE(satisfies(a, parse("rack")));
  EXPECT_FALSE(satisfies(a, parse("!rack")));
  EXPECT_TRUE(satisfies(a, parse("rack!=r2")));
  EXPECT_TRUE(satisfies(a, parse("gpu!=x")));
  EXPECT_FALSE(satisfies(a, parse("rack~r")));  // whole value
  EXPECT_TRUE(satisfies(a, parse("rack!~x.*")));
}

}  // namespace
}  // namespace agora::cli
