// Static and dynamic reservations: the allocator offers reserved resources
// only to their role's subtree and counts them in the role's quota; RESERVE /
// UNRESERVE in ACCEPT and the operator API change them or refuse with a
// reason and change nothing; the registry keeps them across a restart.

#include <filesystem>
#include <future>
#include <thread>

#include "master/allocator/hierarchical_allocator.hpp"
#include "master/http_api.hpp"
#include "master/registry/registrar.hpp"
#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

// --- Allocator ---------------------------------------------------------------

class ReservationAllocatorTest : public ::testing::Test {
 protected:
  // Offers of one pass by framework ID.
  std::map<std::string, std::string> pass() {
    std::map<std::string, std::string> out;
    for (const Allocation& a : allocator_.allocate()) out[a.frameworkId] = a.resources.toString();
    return out;
  }
  const RoleView* role(const std::string& name) {
    roles_ = allocator_.roles();
    for (const RoleView& view : roles_) {
      if (view.name == name) return &view;
    }
    return nullptr;
  }

  SimulatedClock clock_;
  HierarchicalAllocator allocator_{clock_};
  std::vector<RoleView> roles_;
};

TEST_F(ReservationAllocatorTest, ReservedResourcesGoOnlyToTheRoleAndItsDescendants) {
  allocator_.addFramework("ads", {"ads"});
  allocator_.addAgent("a1", res("cpus(eng):2;mem(eng):1024"), {});
  EXPECT_TRUE(pass().empty());  // nobody in eng's subtree
  allocator_.addFramework("web", {"eng/web"});
  auto offers = pass();
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers["web"], "cpus(eng):2;mem(eng):1024");
}

TEST_F(ReservationAllocatorTest, UnreservedGoesToEveryoneReservedOnlyToItsRole) {
  allocator_.addFramework("ads", {"ads"});
  allocator_.addFramework("eng", {"eng"});
  allocator_.addAgent("a1", res("cpus(eng):2;mem(eng):1024;cpus:6;mem:8192"), {});
  std::map<std::string, Resources> got;
  for (int round = 0; round < 4; ++round) {
    for (const Allocation& a : allocator_.allocate()) got[a.frameworkId] += a.resources;
  }
  EXPECT_EQ(got["eng"].reservedFor("eng").toString(), "cpus(eng):2;mem(eng):1024");
  EXPECT_TRUE(got["ads"].reservedPart().empty()) << got["ads"].toString();
  EXPECT_EQ((got["eng"] + got["ads"]).toString(), "cpus:6;mem:8192;cpus(eng):2;mem(eng):1024");
}

TEST_F(ReservationAllocatorTest, ReservationsCountTowardTheRolesQuota) {
  allocator_.addAgent("a1", res("cpus(eng):2;mem(eng):512;cpus:8;mem:4096"), {});
  ASSERT_TRUE(allocator_.setQuota("eng", std::nullopt, res("cpus:3;mem:4096")));
  // Unused reservations count in full.
  ASSERT_NE(role("eng"), nullptr);
  EXPECT_DOUBLE_EQ(role("eng")->consumed.scalar("cpus"), 2);
  EXPECT_TRUE(role("eng")->allocated.empty());
  EXPECT_EQ(role("eng")->reserved.toString(), "cpus(eng):2;mem(eng):512");
  allocator_.addFramework("f1", {"eng"});
  auto offers = pass();
  // Limit 3 cpus: the 2 reserved plus 1 unreserved.
  EXPECT_EQ(res(offers["f1"]).flatten().scalar("cpus"), 3);
  EXPECT_EQ(res(offers["f1"]).reservedFor("eng").toString(), "cpus(eng):2;mem(eng):512");
  EXPECT_DOUBLE_EQ(role("eng")->consumed.scalar("cpus"), 3);
}

TEST_F(ReservationAllocatorTest, ReservationsMeetTheGuaranteeWithoutHoldingBackOthers) {
  allocator_.addAgent("a1", res("cpus(eng):2;mem(eng):512;cpus:2;mem:512"), {});
  ASSERT_TRUE(allocator_.setQuota("eng", res("cpus:2;mem:512"), std::nullopt));
  allocator_.addFramework("ads", {"ads"});
  auto offers = pass();
  EXPECT_EQ(offers["ads"], "cpus:2;mem:512");  // no headroom kept: eng's guarantee is met
}

TEST_F(ReservationAllocatorTest, UpdateAvailableAndAllocationChangeReservationsOrRefuse) {
  allocator_.addAgent("a1", res("cpus:4;mem:1024"), {});
  Resources before = allocator_.agentTotal("a1");
  EXPECT_FALSE(allocator_.updateAvailable("a1", res("cpus:5"), res("cpus(eng,dynamic):5")));
  EXPECT_FALSE(allocator_.updateAvailable("nope", res("cpus:1"), res("cpus(eng,dynamic):1")));
  EXPECT_EQ(allocator_.agentTotal("a1"), before);
  ASSERT_TRUE(allocator_.updateAvailable("a1", res("cpus:1"), res("cpus(eng,dynamic):1")));
  EXPECT_EQ(allocator_.agentTotal("a1").toString(), "cpus:3;mem:1024;cpus(eng,dynamic):1");
  EXPECT_EQ(role("eng")->reserved.toString(), "cpus(eng,dynamic):1");
  allocator_.addFramework("f1", {"eng"});
  auto offers = pass();
  EXPECT_EQ(offers["f1"], "cpus:3;mem:1024;cpus(eng,dynamic):1");
  EXPECT_FALSE(allocator_.updateAllocation("f1", "eng", "a1", res("cpus:4"), res("cpus(eng,dynamic):4")));
  ASSERT_TRUE(allocator_.updateAllocation("f1", "eng", "a1", res("cpus(eng,dynamic):1"),
                                          res("cpus:1")));
  EXPECT_EQ(allocator_.agentTotal("a1").toString(), "cpus:4;mem:1024");
  EXPECT_EQ(role("eng")->reserved.toString(), "");
  EXPECT_EQ(allocator_.allocated("f1").toString(), "cpus:4;mem:1024");
}

// Reservations count toward quota once: refused beyond the limit, and usable
// by the role without being charged again.
TEST_F(ReservationAllocatorTest, AReservationBeyondTheLimitIsRefusedNamingTheResource) {
  allocator_.addAgent("a1", res("cpus:4;mem:2048"), {});
  ASSERT_TRUE(allocator_.setQuota("eng", std::nullopt, res("cpus:1;mem:256")));
  Status refused =
      allocator_.updateAvailable("a1", res("cpus:1;mem:512"), res("cpus(eng,dynamic):1;mem(eng,dynamic):512"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message,
              ::testing::HasSubstr("reserving mem 512 for role eng would take role eng to mem 512, "
                                   "over its quota limit mem 256 (it consumes mem 0"));
  EXPECT_EQ(allocator_.agentTotal("a1").toString(), "cpus:4;mem:2048");
  // A parent's limit binds its sub-roles' reservations.
  refused = allocator_.updateAvailable("a1", res("cpus:2"), res("cpus(eng/web,dynamic):2"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("role eng (parent of eng/web)"));
  // Names the limit does not mention are unlimited.
  EXPECT_TRUE(allocator_.updateAvailable("a1", res("cpus:1;mem:256"),
                                         res("cpus(eng,dynamic):1;mem(eng,dynamic):256")));
  EXPECT_FALSE(allocator_.updateAvailable("a1", res("cpus:0.1"), res("cpus(eng,dynamic):0.1")));
}

TEST_F(ReservationAllocatorTest, TheRoleUsesItsReservationWithoutBeingChargedTwice) {
  allocator_.addAgent("a1", res("cpus:4;mem:2048"), {});
  ASSERT_TRUE(allocator_.setQuota("eng", std::nullopt, res("cpus:1;mem:256")));
  ASSERT_TRUE(allocator_.updateAvailable("a1", res("cpus:1;mem:256"),
                                         res("cpus(eng,dynamic):1;mem(eng,dynamic):256")));
  EXPECT_EQ(role("eng")->reservedFree.toString(), "cpus(eng,dynamic):1;mem(eng,dynamic):256");
  allocator_.addFramework("f1", {"eng"});
  auto offers = pass();
  // At its limit through the reservation alone: offered the reservation, nothing unreserved.
  EXPECT_EQ(offers["f1"], "cpus(eng,dynamic):1;mem(eng,dynamic):256");
  EXPECT_EQ(role("eng")->consumed.toString(), "cpus:1;mem:256");
  EXPECT_TRUE(role("eng")->reservedFree.empty());
  // A task on half of it; the rest comes back and is offered again.
  allocator_.recover("f1", "eng", "a1", res("cpus(eng,dynamic):0.5;mem(eng,dynamic):128"), 0);
  EXPECT_EQ(role("eng")->consumed.toString(), "cpus:1;mem:256");
  offers = pass();
  EXPECT_EQ(offers["f1"], "cpus(eng,dynamic):0.5;mem(eng,dynamic):128");
}

TEST_F(ReservationAllocatorTest, AFrameworksReserveOfItsOfferIsChargedOnce) {
  allocator_.addAgent("a1", res("cpus:4;mem:2048"), {});
  ASSERT_TRUE(allocator_.setQuota("eng", std::nullopt, res("cpus:2")));
  allocator_.addFramework("f1", {"eng"});
  ASSERT_EQ(res(pass()["f1"]).scalar("cpus"), 2);
  // Its offer already counts: reserving it does not count it again.
  EXPECT_TRUE(allocator_.checkReservationQuota(res("cpus:2"), res("cpus(eng,dynamic):2"), "f1", "eng"));
  // A free reservation on top of the offer would pass the limit.
  Status refused = allocator_.checkReservationQuota(res("cpus:1"), res("cpus(eng,dynamic):1"), "", "");
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("to cpus 3, over its quota limit cpus 2"));
}

TEST_F(ReservationAllocatorTest, ALimitBelowTheReservationsIsRefused) {
  allocator_.addAgent("a1", res("cpus(eng):2;mem(eng):512;cpus:2;mem:512"), {});
  Status refused = allocator_.setQuota("eng", std::nullopt, res("cpus:1;mem:4096"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message,
              ::testing::HasSubstr("limit: cpus 1 is below the 2 reserved for role eng"));
  EXPECT_EQ(role("eng")->limit, std::nullopt);
  EXPECT_TRUE(allocator_.setQuota("eng", std::nullopt, res("cpus:2;mem:512")));
}

// --- Master: offer operations and the operator API -----------------------------

class ReservationTest : public MasterTest {
 protected:
  // ACCEPT with one RESERVE or UNRESERVE of `resources`, then launches `tasks`.
  void acceptWith(FakeScheduler& s, const std::string& offerId, bool reserve,
                  const std::string& resources, const std::vector<TaskInfo>& tasks = {}) {
    s.acceptWith({offerId},
                 {{reserve ? schema::Operation::RESERVE : schema::Operation::UNRESERVE,
                   res(resources)}},
                 tasks);
    settle();
  }
  http::Response post(bool reserve, std::string body) {
    http::Request request;
    request.body = std::move(body);
    auto result = std::async(std::launch::async,
                             [&] { return api_.reservation(request, reserve); });
    while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      loop_.runUntilIdle();
      std::this_thread::yield();
    }
    settle();
    return result.get();
  }
  HttpApi api_{master_->snapshotCell(), loop_, *master_};
};

TEST_F(ReservationTest, StaticReservationIsOfferedOnlyToTheRoleAndShownPerRole) {
  auto ads = framework("ads", {"ads"});
  auto a = agent("agent-1", "cpus(eng):2;mem(eng):1024;cpus:1;mem:256");
  ASSERT_EQ(ads->offers.size(), 1u);
  EXPECT_EQ(ads->offers[0].resources.toString(), "cpus:1;mem:256");
  auto eng = framework("eng", {"eng"});
  ASSERT_EQ(eng->offers.size(), 1u);
  EXPECT_EQ(eng->offers[0].resources.toString(), "cpus(eng):2;mem(eng):1024");
  eng->accept({eng->offers[0].id}, {makeTask("t1", "cpus(eng):2;mem(eng):512")});
  settle();
  ASSERT_EQ(a->runTasks.size(), 1u);
  auto roles = nlohmann::json::parse(master_->snapshot()->rolesBody)["roles"];
  for (const auto& r : roles) {
    if (r["name"] == "eng") {
      EXPECT_EQ(r["reserved"]["cpus"], 2.0) << r.dump();
    }
  }
  auto allocation = nlohmann::json::parse(master_->snapshot()->allocationBody);
  EXPECT_EQ(allocation["cluster"]["reserved"]["eng"]["mem"], 1024.0);
}

TEST_F(ReservationTest, ReserveAndLaunchInOneAcceptThenUnreserve) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024");
  ASSERT_EQ(s->offers.size(), 1u);
  acceptWith(*s, s->offers[0].id, true, "cpus(eng):2;mem(eng):512",
             {makeTask("t1", "cpus(eng,dynamic):1;mem(eng,dynamic):256")});
  ASSERT_EQ(a->runTasks.size(), 1u) << (s->updates.empty() ? "" : s->updates.back().message);
  EXPECT_EQ(master_->state().agents.at(a->agentId).dynamic.toString(),
            "cpus(eng,dynamic):2;mem(eng,dynamic):512");
  EXPECT_EQ(agentTotal(a->agentId).toString(), "cpus:2;mem:512;cpus(eng,dynamic):2;mem(eng,dynamic):512");
  // The rest comes back, the reserved part as reserved.
  ASSERT_EQ(s->outstandingOffers().size(), 1u);
  const Offer& next = s->offers.back();
  EXPECT_EQ(next.resources.toString(), "cpus:2;mem:512;cpus(eng,dynamic):1;mem(eng,dynamic):256");
  acceptWith(*s, next.id, false, "cpus(eng,dynamic):1;mem(eng,dynamic):256");
  EXPECT_EQ(master_->state().agents.at(a->agentId).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):256");  // the task still holds the rest
}

TEST_F(ReservationTest, RefusedOfferOperationsChangeNothing) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus(eng):1;cpus:4;mem:1024");
  Resources total = agentTotal(a->agentId);
  struct Case {
    bool reserve;
    const char* resources;
    const char* why;
  };
  for (const Case& c : {Case{true, "cpus(ads):1", "not one of the framework's roles"},
                        Case{true, "cpus(eng):9", "not among the offer's unreserved"},
                        Case{true, "cpus:1", "must name a role"},
                        Case{false, "cpus(eng):1", "static reservation"},
                        Case{false, "cpus(eng,dynamic):1", "not among the offer's reserved"}}) {
    std::vector<std::string> offers = s->outstandingOffers();
    ASSERT_EQ(offers.size(), 1u) << c.resources;
    uint64_t before = rejected("invalid_operation");
    acceptWith(*s, offers[0], c.reserve, c.resources, {makeTask("t", "cpus:1")});
    EXPECT_EQ(rejected("invalid_operation"), before + 1) << c.resources;
    ASSERT_NE(s->lastUpdateFor("t"), nullptr);
    EXPECT_THAT(s->lastUpdateFor("t")->message, ::testing::HasSubstr(c.why));
    EXPECT_EQ(agentTotal(a->agentId), total) << c.resources;
    EXPECT_TRUE(master_->state().agents.at(a->agentId).dynamic.empty());
    EXPECT_TRUE(a->runTasks.empty());
  }
}

TEST_F(ReservationTest, RefusesReservingForAnotherRoleThanTheOffers) {
  auto s = framework("sched", {"web", "eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024");
  std::vector<std::string> offers = s->outstandingOffers();
  ASSERT_EQ(offers.size(), 1u);
  std::string other = s->offers.back().role == "web" ? "eng" : "web";
  acceptWith(*s, offers[0], true, "cpus(" + other + "):1", {makeTask("t", "cpus:1")});
  ASSERT_NE(s->lastUpdateFor("t"), nullptr);
  EXPECT_THAT(s->lastUpdateFor("t")->message, ::testing::HasSubstr("the offer is allocated to role"));
  EXPECT_EQ(agentTotal(a->agentId).toString(), "cpus:4;mem:1024");
}

TEST_F(ReservationTest, OperatorReservesRescindingOffersAndRefusesBadRequests) {
  auto ads = framework("ads", {"ads"});
  auto a = agent("agent-1", "cpus(eng):1;cpus:4;mem:1024");
  ASSERT_EQ(ads->outstandingOffers().size(), 1u);
  std::string id = a->agentId;
  struct Case {
    bool reserve;
    std::string body;
    int status;
    const char* why;
  };
  for (const Case& c : {
           Case{true, R"({"agent_id":"nope","resources":"cpus:1","role":"eng"})", 404, "not registered"},
           Case{true, R"({"agent_id":")" + id + R"(","resources":"cpus:1","role":"eng/../x"})", 400, "invalid role"},
           Case{true, R"({"agent_id":")" + id + R"(","resources":"cpus:9","role":"eng"})", 400, "unreserved"},
           Case{true, R"({"agent_id":")" + id + R"(","resources":"cpus:1"})", 400, "role: required"},
           Case{false, R"({"agent_id":")" + id + R"(","resources":"cpus:1","role":"eng"})", 400, "static reservation"},
           Case{false, R"({"agent_id":")" + id + R"(","resources":"cpus:1","role":"ads"})", 400, "no dynamic reservation"},
       }) {
    auto response = post(c.reserve, c.body);
    EXPECT_EQ(response.status, c.status) << c.body << " " << response.body;
    EXPECT_THAT(response.body, ::testing::HasSubstr(c.why)) << c.body;
    EXPECT_EQ(agentTotal(id).toString(), "cpus:4;mem:1024;cpus(eng):1");
    EXPECT_TRUE(ads->rescinds.empty());
  }
  auto ok = post(true, R"({"agent_id":")" + id + R"(","resources":"cpus:2;mem:512","role":"eng","principal":"ops"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ads->rescinds.size(), 1u);  // the offer held what was reserved
  EXPECT_EQ(agentTotal(id).toString(),
            "cpus:2;mem:512;cpus(eng):1;cpus(eng,dynamic:ops):2;mem(eng,dynamic:ops):512");
  EXPECT_EQ(ads->offers.back().resources.toString(), "cpus:2;mem:512");
  auto back = post(false, R"({"agent_id":")" + id + R"(","resources":"cpus:2;mem:512","role":"eng","principal":"ops"})");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(agentTotal(id).toString(), "cpus:4;mem:1024;cpus(eng):1");
}

TEST_F(ReservationTest, ReservationsBeyondTheQuotaLimitAreRefusedWithTheReason) {
  auto s = framework("sched", {"eng"});
  auto a = agent("agent-1", "cpus:4;mem:1024");
  std::string id = a->agentId;
  ASSERT_TRUE(master_->setQuota("eng", std::nullopt, res("mem:256")));
  settle();
  // The operator's reserve: mem beyond the limit.
  auto refused = post(true, R"({"agent_id":")" + id + R"(","resources":"cpus:1;mem:512","role":"eng"})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body, ::testing::HasSubstr("over its quota limit mem 256"));
  EXPECT_TRUE(s->rescinds.empty());  // refused before any offer was taken back
  EXPECT_TRUE(master_->state().agents.at(id).dynamic.empty());
  // A framework's RESERVE in an ACCEPT, once the limit is below what it was offered.
  std::vector<std::string> offers = s->outstandingOffers();
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(master_->setQuota("eng", std::nullopt, res("cpus:1")));
  acceptWith(*s, offers[0], true, "cpus(eng):2", {makeTask("t", "cpus(eng,dynamic):1")});
  ASSERT_NE(s->lastUpdateFor("t"), nullptr);
  EXPECT_THAT(s->lastUpdateFor("t")->message, ::testing::HasSubstr("over its quota limit cpus 1"));
  EXPECT_TRUE(master_->state().agents.at(id).dynamic.empty());
  EXPECT_EQ(agentTotal(id).toString(), "cpus:4;mem:1024");
}

// --- Registry ------------------------------------------------------------------

class ReservationRecoveryTest : public WithRegistry<MasterTest> {};

TEST_F(ReservationRecoveryTest, DynamicReservationsSurviveARestartAndMustFitTheAgent) {
  auto a = agent("agent-1", "cpus:4;mem:1024");
  std::string id = a->agentId;
  ASSERT_TRUE(master_->reserve(id, res("cpus(eng,dynamic):1;mem(eng,dynamic):256")));
  ASSERT_TRUE(master_->reserve(id, res("cpus(ops,dynamic):2")));
  settle();
  start("M2");
  EXPECT_EQ(master_->state().agents.at(id).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):256;cpus(ops,dynamic):2");
  // The agent comes back smaller: what no longer fits is dropped (and forgotten).
  a->reregister(id, "cpus:2;mem:1024", {});
  settle();
  EXPECT_EQ(master_->allocator().agentTotal(id).toString(),
            "cpus:1;mem:768;cpus(eng,dynamic):1;mem(eng,dynamic):256");
  start("M3");
  EXPECT_EQ(master_->state().agents.at(id).dynamic.toString(),
            "cpus(eng,dynamic):1;mem(eng,dynamic):256");
}

}  // namespace
}  // namespace agora::master::testing
