// Roles through the master: offers carry their role, the operator API
// changes weights and quota on the loop and /api/v1/roles shows them.

#include <future>
#include <thread>

#include "master/http_api.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

class RoleApiTest : public MasterTest {
 protected:
  // Calls a handler on another thread (handlers wait for the loop) while
  // this thread runs the loop, as the master's real loop would.
  http::Response call(http::Response (HttpApi::*handler)(const http::Request&) const,
                      std::string body, std::map<std::string, std::string> query = {}) {
    http::Request request;
    request.body = std::move(body);
    request.query = std::move(query);
    auto result = std::async(std::launch::async, [&] { return (api_.*handler)(request); });
    while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      loop_.runUntilIdle();
      std::this_thread::yield();
    }
    settle();
    return result.get();
  }
  nlohmann::json role(const std::string& name) {
    auto roles = nlohmann::json::parse(master_->snapshot()->rolesBody)["roles"];
    for (const auto& r : roles) {
      if (r["name"] == name) return r;
    }
    return nullptr;
  }

  HttpApi api_{master_->snapshotCell(), loop_, *master_};
};

TEST_F(RoleApiTest, OffersCarryTheRoleAndAcceptedTasksAreAccountedToIt) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->roles = {"eng/web"};
  s->subscribe("web");
  settle();
  auto a = agent("agent-1", "cpus:4;mem:1024");
  ASSERT_EQ(s->offers.size(), 1u);
  EXPECT_EQ(s->offers[0].role, "eng/web");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus:1;mem:128")});
  settle();
  const Task* t = task(s->offers[0].frameworkId, "t1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->role.get(), "eng/web");
  nlohmann::json web = role("eng/web");
  ASSERT_FALSE(web.is_null());
  EXPECT_EQ(web["frameworks"].size(), 1u);
  EXPECT_FALSE(role("eng").is_null());  // the parent exists implicitly
}

TEST_F(RoleApiTest, RejectsInvalidRolesAtSubscribe) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->roles = {"eng/../x"};
  s->subscribe("bad");
  settle();
  EXPECT_EQ(rejected("invalid_framework"), 1u);
  EXPECT_TRUE(master_->state().frameworks.empty());
}

TEST_F(RoleApiTest, SetsWeightsAndQuotaOnTheLoop) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  EXPECT_EQ(call(&HttpApi::setWeight, R"({"role":"eng","weight":2})").status, 200);
  EXPECT_EQ(role("eng")["weight"], 2.0);
  auto quota = call(&HttpApi::setQuota,
                    R"({"role":"eng","guarantee":"cpus:1;mem:512","limit":"cpus:2;mem:1024"})");
  EXPECT_EQ(quota.status, 200) << quota.body;
  EXPECT_EQ(role("eng")["quota"]["guarantee"]["cpus"], 1.0);
  EXPECT_EQ(role("eng")["quota"]["limit"]["mem"], 1024.0);
  EXPECT_EQ(role("eng")["guarantee_exceeds_capacity"], false);
  EXPECT_EQ(call(&HttpApi::setQuota, R"({"role":"big","guarantee":"cpus:64"})").status, 200);
  EXPECT_EQ(role("big")["guarantee_exceeds_capacity"], true);
  EXPECT_EQ(call(&HttpApi::removeQuota, "", {{"role", "big"}}).status, 200);
  EXPECT_TRUE(role("big").is_null());
  EXPECT_EQ(call(&HttpApi::removeQuota, "", {{"role", "big"}}).status, 404);
}

TEST_F(RoleApiTest, BadOperatorInputIs400NamingTheFieldAndChangesNothing) {
  struct Case {
    http::Response (HttpApi::*handler)(const http::Request&) const;
    const char* body;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {&HttpApi::setWeight, R"({"role":"eng","weight":-1})", "weight"},
           {&HttpApi::setWeight, R"({"role":"a b","weight":2})", "role"},
           {&HttpApi::setWeight, R"({"weight":2})", "role"},
           {&HttpApi::setWeight, "not json", "body"},
           {&HttpApi::setQuota, R"({"role":"eng","guarantee":"cpus:2","limit":"cpus:1"})", "limit"},
           {&HttpApi::setQuota, R"({"role":"eng","guarantee":"cpus:x"})", "guarantee"},
           {&HttpApi::setQuota, R"({"role":"eng","limit":"ports:[1-2]"})", "limit"},
           {&HttpApi::setQuota, R"({"role":"/eng","limit":"cpus:1"})", "role"},
       }) {
    http::Response response = call(c.handler, c.body);
    EXPECT_EQ(response.status, 400) << c.body;
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"].get<std::string>().rfind(c.field, 0), 0u)
        << response.body;
  }
  EXPECT_EQ(call(&HttpApi::removeQuota, "", {{"role", "eng/"}}).status, 400);
  EXPECT_TRUE(nlohmann::json::parse(master_->snapshot()->rolesBody)["roles"].empty());
}

TEST_F(RoleApiTest, QuotaLimitCapsOffersThroughTheMaster) {
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->roles = {"capped"};
  s->subscribe("capped");
  settle();
  EXPECT_EQ(call(&HttpApi::setQuota, R"({"role":"capped","limit":"cpus:1;mem:256"})").status, 200);
  auto a = agent("agent-1", "cpus:4;mem:1024");
  ASSERT_EQ(s->offers.size(), 1u);
  EXPECT_EQ(s->offers[0].resources.toString(), "cpus:1;mem:256");
  EXPECT_EQ(role("capped")["offered"]["cpus"], 1.0);
}

// A reservation is charged to the role's quota once: a role at its limit
// through its reservation is offered the reservation and runs tasks on it.
TEST_F(RoleApiTest, ARoleAtItsLimitThroughItsReservationRunsOnIt) {
  auto a = agent("agent-1", "cpus(eng):1;mem(eng):256;cpus:3;mem:768");
  EXPECT_EQ(call(&HttpApi::setQuota, R"({"role":"eng","limit":"cpus:1;mem:256"})").status, 200);
  auto below = call(&HttpApi::setQuota, R"({"role":"eng","limit":"cpus:0.5;mem:256"})");
  EXPECT_EQ(below.status, 400);
  EXPECT_THAT(below.body, ::testing::HasSubstr("limit: cpus 0.5 is below the 1 reserved for role eng"));
  nlohmann::json eng = role("eng");
  EXPECT_EQ(eng["quota"]["limit"]["cpus"], 1.0) << eng.dump();
  EXPECT_EQ(eng["quota"]["consumed"]["cpus"], 1.0) << eng.dump();
  EXPECT_EQ(eng["reserved_free"]["cpus"], 1.0) << eng.dump();

  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->roles = {"eng"};
  s->subscribe("eng");
  settle();
  ASSERT_EQ(s->offers.size(), 1u);
  EXPECT_EQ(s->offers[0].resources.toString(), "cpus(eng):1;mem(eng):256");
  s->accept({s->offers[0].id}, {makeTask("t1", "cpus(eng):0.5;mem(eng):128")});
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u) << (s->updates.empty() ? "" : s->updates.back().message);
  eng = role("eng");
  EXPECT_EQ(eng["quota"]["consumed"]["cpus"], 1.0) << eng.dump();  // not 1.5
  EXPECT_EQ(eng["in_use"]["cpus"], 0.5) << eng.dump();
  // The accept's unused half is back (refused by the framework for now): free again.
  EXPECT_EQ(eng["reserved_free"]["cpus"], 0.5) << eng.dump();
}

TEST_F(RoleApiTest, RolesShowOffersUseSuppressionAndFilters) {
  auto inRole = [&](const std::string& identity) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->roles = {"eng/web"};
    s->subscribe(identity);
    settle();
    return s;
  };
  auto web = inRole("sched-web");
  std::vector<std::unique_ptr<FakeAgent>> agents;
  for (const char* id : {"agent-1", "agent-2"}) agents.push_back(agent(id, "cpus:4;mem:1024"));
  auto idle = inRole("sched-idle");
  // One framework holds both offers; it uses part of one and declines the other.
  FakeScheduler* holder = web.get();
  FakeScheduler* other = idle.get();
  ASSERT_EQ(holder->offers.size(), 2u);
  ASSERT_TRUE(other->offers.empty());
  nlohmann::json offered = this->role("eng/web");
  EXPECT_EQ(offered["offered"]["cpus"], 8.0);
  EXPECT_EQ(offered["allocated"]["cpus"], 8.0);
  EXPECT_EQ(nlohmann::json::parse(master_->snapshot()->allocationBody)["offers"].size(), 2u);
  other->suppress();
  settle();
  holder->accept({holder->offers[0].id}, {makeTask("t1", "cpus:1;mem:128")}, 30);
  holder->decline({holder->offers[1].id}, 600);
  settle();

  nlohmann::json role = this->role("eng/web");
  ASSERT_FALSE(role.is_null());
  EXPECT_EQ(role["in_use"]["cpus"], 1.0);
  EXPECT_EQ(role["reserved"], nlohmann::json::object());
  EXPECT_EQ(role["suppressed_frameworks"], nlohmann::json::array({other->frameworkId}));
  ASSERT_EQ(role["filters"].size(), 1u);
  EXPECT_EQ(role["filters"][0]["framework_id"], holder->frameworkId);
  EXPECT_EQ(role["filters"][0]["agents"], 2);  // the accept's 30 s filter and the decline's
  double now = clock_.wallSeconds();
  EXPECT_NEAR(role["filters"][0]["earliest_expiry"].get<double>(), now + 30, 0.01);
  EXPECT_NEAR(role["filters"][0]["latest_expiry"].get<double>(), now + 600, 0.01);
  // The parent counts its subtree.
  EXPECT_EQ(this->role("eng")["allocated"], role["allocated"]);

  nlohmann::json allocation = nlohmann::json::parse(master_->snapshot()->allocationBody);
  EXPECT_TRUE(allocation["offer_timeout_sec"].is_null());
  EXPECT_EQ(allocation["cluster"]["total"]["cpus"], 8.0);
  EXPECT_EQ(allocation["cluster"]["allocated"]["cpus"], 1.0);
  EXPECT_EQ(allocation["cluster"]["free"]["cpus"], 7.0);
  EXPECT_TRUE(allocation["offers"].empty());
  EXPECT_EQ(allocation["roles"].size(), 2u);
  EXPECT_GT(allocation["allocator"]["passes"].get<uint64_t>(), 0u);

  // Expired filters leave the view once the allocator drops them.
  advance(31);
  role = this->role("eng/web");
  ASSERT_EQ(role["filters"].size(), 1u);
  EXPECT_EQ(role["filters"][0]["agents"], 1);
  advance(600);
  EXPECT_TRUE(this->role("eng/web")["filters"].empty());
}

}  // namespace
}  // namespace agora::master::testing
