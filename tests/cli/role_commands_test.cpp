// `agora roles | quota | weight`: argument parsing, the request each sends,
// the roles table, and the no-offer explanation for `agora run --role`.

#include <gtest/gtest.h>

#include <sstream>

#include "cli/reserve_commands.hpp"
#include "cli/role_commands.hpp"
#include "cli/role_explain.hpp"

namespace agora::cli {
namespace {

using nlohmann::json;

TEST(QuotaArgsTest, SetBuildsTheQuotaRequest) {
  GlobalOptions global;
  auto change = parseQuotaArgs({"set", "eng/web", "--guarantee", "cpus:1;mem:512", "--limit",
                                "cpus:2;mem:1024", "--master", "m:1"},
                               global);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(change->method, "POST");
  EXPECT_EQ(change->path, "/api/v1/quota");
  EXPECT_EQ(json::parse(change->body),
            (json{{"role", "eng/web"}, {"guarantee", "cpus:1;mem:512"}, {"limit", "cpus:2;mem:1024"}}));
  EXPECT_EQ(global.master, "m:1");

  change = parseQuotaArgs({"set", "eng", "--limit=cpus:0.5"}, global);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(json::parse(change->body), (json{{"role", "eng"}, {"limit", "cpus:0.5"}}));
}

TEST(QuotaArgsTest, RemoveEncodesTheRoleInTheQuery) {
  GlobalOptions global;
  auto change = parseQuotaArgs({"rm", "eng/web"}, global);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->method, "DELETE");
  EXPECT_EQ(change->path, "/api/v1/quota?role=eng%2Fweb");
  EXPECT_TRUE(change->body.empty());
}

TEST(QuotaArgsTest, UsageErrorsAreInvalidArgument) {
  GlobalOptions global;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"set"},
                                             {"set", "eng"},
                                             {"add", "eng", "--limit", "cpus:1"},
                                             {"set", "eng", "--limit", "cpus:x"},
                                             {"set", "eng", "--limit", "ports:[1-2]"},
                                             {"set", "eng", "extra", "--limit", "cpus:1"},
                                             {"rm", "eng", "--limit", "cpus:1"},
                                             {"set", "eng", "--bogus", "1"}}) {
    auto change = parseQuotaArgs(args, global);
    ASSERT_FALSE(change.has_value()) << ::testing::PrintToString(args);
    EXPECT_EQ(change.error().code, ErrorCode::kInvalidArgument) << change.error().message;
  }
}

TEST(WeightArgsTest, SetParsesANumber) {
  GlobalOptions global;
  auto change = parseWeightArgs({"set", "eng", "2.5"}, global);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(change->path, "/api/v1/weights");
  EXPECT_EQ(json::parse(change->body), (json{{"role", "eng"}, {"weight", 2.5}}));
  // Range checks are the master's: its refusal is shown verbatim.
  EXPECT_TRUE(parseWeightArgs({"set", "eng", "0"}, global).has_value());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"set", "eng"}, {"set", "eng", "two"}, {"set", "eng", "2x"}, {"get", "eng", "2"}}) {
    auto bad = parseWeightArgs(args, global);
    ASSERT_FALSE(bad.has_value()) << ::testing::PrintToString(args);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  }
}

json sampleRoles() {
  return json::parse(R"({"roles":[
    {"name":"eng","weight":2,"quota":{"guarantee":{"cpus":1,"mem":512},"limit":{"cpus":2},
     "consumed":{"cpus":1.5}},"guarantee_exceeds_capacity":false,
     "allocated":{"cpus":1.5},"offered":{"cpus":0.5},"frameworks":["F1","F2"],
     "suppressed_frameworks":["F2"],
     "filters":[{"framework_id":"F1","agents":3,"earliest_expiry":1010,"latest_expiry":4600}]},
    {"name":"eng/web","weight":1,"quota":{"guarantee":null,"limit":{"cpus":0.5},"consumed":{}},
     "allocated":{},"offered":{},"frameworks":[],"suppressed_frameworks":[],"filters":[]},
    {"name":"big","weight":1,"quota":{"guarantee":{"cpus":64},"limit":null,"consumed":{}},
     "guarantee_exceeds_capacity":true,"frameworks":[],"filters":[]}]})");
}

TEST(RolesTableTest, RendersQuotaAllocationFrameworksAndFilters) {
  std::string text = rolesTable(sampleRoles(), 1000).render();
  EXPECT_NE(text.find("ROLE"), std::string::npos);
  EXPECT_NE(text.find("FILTERS"), std::string::npos);
  std::istringstream lines(text);
  std::string header, eng, web, big;
  std::getline(lines, header);
  std::getline(lines, eng);
  std::getline(lines, web);
  std::getline(lines, big);
  EXPECT_NE(eng.find("cpus:1 mem:512"), std::string::npos) << eng;
  EXPECT_NE(eng.find("cpus:1.5"), std::string::npos) << eng;
  EXPECT_NE(eng.find("F1,F2"), std::string::npos) << eng;
  EXPECT_NE(eng.find("F1:3 agents (10s..1h)"), std::string::npos) << eng;
  EXPECT_NE(web.find("cpus:0.5"), std::string::npos) << web;
  EXPECT_NE(big.find("(exceeds cluster)"), std::string::npos) << big;
  // Garbage renders as an empty table, not a crash.
  EXPECT_EQ(rolesTable(json::array(), 0).rows(), 0u);
  EXPECT_EQ(rolesTable(json{{"roles", {1, "x", nullptr}}}, 0).rows(), 0u);
}

TEST(RolesTableTest, FormatsSpans) {
  EXPECT_EQ(formatSpan(0.2), "1s");
  EXPECT_EQ(formatSpan(-5), "0s");
  EXPECT_EQ(formatSpan(125), "2m");
  EXPECT_EQ(formatSpan(365.0 * 86400), "365d");
  EXPECT_EQ(formatFilters(json::array(), 0), "-");
}

TEST(RoleExplainTest, NamesTheLimitBelowTheRequest) {
  Resources one = *Resources::parse("cpus:1;mem:32");
  RoleExplanation why = explainRole(sampleRoles(), "eng/web", one, std::nullopt);
  EXPECT_TRUE(why.quotaBlocks);
  EXPECT_EQ(why.text, "role eng/web: quota limit cpus 0.5 < requested 1");
}

TEST(RoleExplainTest, NamesAnAncestorsLimitAndWhatIsConsumed) {
  Resources one = *Resources::parse("cpus:1;mem:32");
  RoleExplanation why = explainRole(sampleRoles(), "eng/db", one, std::nullopt);
  EXPECT_TRUE(why.quotaBlocks);
  EXPECT_EQ(why.text,
            "role eng/db: quota limit (of parent role eng) cpus 2 with 1.5 consumed "
            "(reservations, in use or not, plus unreserved allocations) leaves 0.5 < requested 1");
}

// The role's own reservation is counted in `consumed` once; using it costs nothing more.
TEST(RoleExplainTest, AFreeReservationIsNotChargedAgain) {
  json roles = {{"roles",
                 {{{"name", "eng"},
                   {"quota",
                    {{"limit", {{"cpus", 1}, {"mem", 256}}},
                     {"consumed", {{"cpus", 1}, {"mem", 256}}}}},
                   {"reserved", {{"cpus", 1}, {"mem", 256}}},
                   {"reserved_free", {{"cpus", 1}, {"mem", 256}}}}}}};
  Resources half = *Resources::parse("cpus:0.5;mem:128");
  RoleExplanation why = explainRole(roles, "eng", half, std::nullopt);
  EXPECT_FALSE(why.quotaBlocks) << why.text;
  // A sub-role may use its parent's reservation too.
  roles["roles"].push_back({{"name", "eng/web"}, {"quota", {{"consumed", json::object()}}}});
  EXPECT_FALSE(explainRole(roles, "eng/web", half, std::nullopt).quotaBlocks);
  // Once a task holds it, what the limit leaves is all there is.
  roles["roles"][0]["reserved_free"] = {{"cpus", 0.25}, {"mem", 256}};
  why = explainRole(roles, "eng", half, std::nullopt);
  EXPECT_TRUE(why.quotaBlocks);
  EXPECT_EQ(why.text,
            "role eng: quota limit cpus 1 with 1 consumed (reservations, in use or not, plus "
            "unreserved allocations) leaves 0 plus 0.25 reserved and free < requested 0.5");
}

TEST(RoleExplainTest, WithoutQuotaReportsTheLargestOffer) {
  Resources one = *Resources::parse("cpus:1;mem:32");
  RoleExplanation why =
      explainRole(sampleRoles(), "ops", one, *Resources::parse("cpus:0.5;mem:128"));
  EXPECT_FALSE(why.quotaBlocks);
  EXPECT_EQ(why.text, "role ops has no quota; largest offer to ops had " +
                          Resources::parse("cpus:0.5;mem:128")->toString());
  why = explainRole(json::object(), "ops", one, std::nullopt);
  EXPECT_EQ(why.text, "role ops has no quota; no offer was made to ops");
  why = explainRole(sampleRoles(), "big", one, std::nullopt);
  EXPECT_FALSE(why.quotaBlocks);
  EXPECT_NE(why.text.find("its quota does not block"), std::string::npos);
}

}  // namespace
}  // namespace agora::cli

namespace agora::cli {
namespace {

TEST(ReserveArgsTest, BuildsReserveAndUnreserveRequests) {
  GlobalOptions global;
  auto change = parseReserveArgs({"M-S1", "cpus:1;mem:512", "--role", "eng", "--principal", "ops"},
                                 global, true);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(change->path, "/api/v1/reserve");
  EXPECT_EQ(nlohmann::json::parse(change->body),
            (nlohmann::json{{"agent_id", "M-S1"}, {"resources", "cpus:1;mem:512"}, {"role", "eng"},
                            {"principal", "ops"}}));
  change = parseReserveArgs({"M-S1", "cpus:1", "--role=eng/web"}, global, false);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->path, "/api/v1/unreserve");
  EXPECT_EQ(change->done, "unreserved cpus:1 of agent M-S1 from role eng/web");
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"M-S1", "cpus:1"},
                                             {"M-S1", "--role", "eng"},
                                             {"M-S1", "cpus:1", "--role", "bad role"},
                                             {"M-S1", "cpus:1", "--role", "*"},
                                             {"M-S1", "cpus(eng):1", "--role", "eng"},
                                             {"M-S1", "cpus:x", "--role", "eng"}}) {
    auto refused = parseReserveArgs(bad, global, true);
    ASSERT_FALSE(refused.has_value()) << bad[1];
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace agora::cli
