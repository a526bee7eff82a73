// Placement rounds: pending groups onto offers, spread or packed, with
// constraints and named ports, and why what waits still waits.

#include "frameworks/kit/placement.hpp"

#include <gtest/gtest.h>

namespace agora::kit {
namespace {

Offer offer(const std::string& id, const std::string& host, const std::string& resources,
            const std::string& rack = "r1") {
  Offer o;
  o.id = id;
  o.agentId = "agent-" + host;
  o.hostname = host;
  o.resources = *Resources::parse(resources);
  o.attributes = {{"rack", rack}};
  return o;
}

TaskGroup group(const std::string& name, int pending, const std::string& resources) {
  TaskGroup g;
  g.name = name;
  g.pending = pending;
  g.resources = *Resources::parse(resources);
  return g;
}

std::map<std::string, int> perOffer(const PlacementRound& round) {
  std::map<std::string, int> out;
  for (const PlannedTask& t : round.launches) out[t.offerId]++;
  return out;
}

TEST(PlacementTest, SpreadPutsEachTaskWhereTheGroupHasFewest) {
  std::vector<Offer> offers = {offer("o1", "h1", "cpus:4;mem:4096"),
                               offer("o2", "h2", "cpus:4;mem:4096")};
  auto round = place(offers, {group("web", 4, "cpus:1;mem:128")}, Strategy::kSpread);
  EXPECT_EQ(round.launches.size(), 4u);
  EXPECT_EQ(perOffer(round), (std::map<std::string, int>{{"o1", 2}, {"o2", 2}}));
  EXPECT_TRUE(round.unusedOffers.empty());
  EXPECT_TRUE(round.unplaced.empty());
}

TEST(PlacementTest, BinPackingFillsTheFullestAgentFirstAndFreesTheRest) {
  std::vector<Offer> offers = {offer("big", "h1", "cpus:8;mem:8192"),
                               offer("small", "h2", "cpus:3;mem:4096")};
  auto round = place(offers, {group("batch", 3, "cpus:1;mem:64")}, Strategy::kBinPack);
  EXPECT_EQ(perOffer(round), (std::map<std::string, int>{{"small", 3}}));
  EXPECT_EQ(round.unusedOffers, std::vector<std::string>{"big"});
}

TEST(PlacementTest, ConstraintsAndPortsDecideAndTheWaitingAreExplained) {
  std::vector<Offer> offers = {offer("o1", "h1", "cpus:4;mem:4096;ports:[31000-31001]"),
                               offer("o2", "h2", "cpus:4;mem:4096;ports:[32000-32000]"),
                               offer("o3", "h3", "cpus:0.75;mem:4096;ports:[33000-33005]")};
  TaskGroup web = group("/shop/web", 3, "cpus:1;mem:128");
  web.portNames = {"http", "admin"};
  web.constraints = {*parseConstraint({"hostname", "UNIQUE"})};
  auto round = place(offers, {web});
  ASSERT_EQ(round.launches.size(), 1u);
  const PlannedTask& task = round.launches[0];
  EXPECT_EQ(task.offerId, "o1");
  EXPECT_EQ(task.resources.ranges("ports").size(), 1u);  // 31000-31001
  EXPECT_EQ(task.environment[0], (std::pair<std::string, std::string>{"PORT_HTTP", "31000"}));
  ASSERT_EQ(round.unplaced.size(), 1u);
  const Unplaced& why = round.unplaced[0];
  EXPECT_EQ(why.pending, 2);
  EXPECT_EQ(why.offersSeen, 3);
  EXPECT_EQ(why.reasons.at("constraint hostname:UNIQUE: a task already runs on hostname 'h1'"), 1);
  EXPECT_EQ(why.reasons.at("fewer than 2 free ports"), 1);
  EXPECT_EQ(why.reasons.at("short of cpus 0.25"), 1);
  EXPECT_EQ(why.closest, "agent h3: short of cpus 0.25");
  EXPECT_EQ(round.unusedOffers, (std::vector<std::string>{"o2", "o3"}));
}

TEST(PlacementTest, GroupsShareAnOffersResources) {
  std::vector<Offer> offers = {offer("o1", "h1", "cpus:2;mem:1024")};
  auto round = place(offers, {group("a", 1, "cpus:1.5;mem:128"), group("b", 1, "cpus:1;mem:128")});
  ASSERT_EQ(round.launches.size(), 1u);
  EXPECT_EQ(round.launches[0].group, "a");
  ASSERT_EQ(round.unplaced.size(), 1u);
  EXPECT_EQ(round.unplaced[0].reasons.begin()->first, "short of cpus 0.5");
  EXPECT_EQ(shortfall(*Resources::parse("cpus:1;mem:64"), *Resources::parse("cpus:2;mem:64")),
            "cpus 1");
}

}  // namespace
}  // namespace agora::kit
