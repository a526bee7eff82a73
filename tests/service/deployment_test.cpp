// The deployment state machine: rolling with min_health and max_surge,
// canaries, rollbacks on failures and deadlines; and a property test that
// drives random interleavings of instance events through it.
#include "frameworks/service/deployment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace agora::service {
namespace {

AppSpec app(int64_t instances, double minHealth, int64_t maxSurge) {
  AppSpec a;
  a.id = "/web";
  a.cmd = "serve";
  a.instances = instances;
  a.upgrade.minHealth = minHealth;
  a.upgrade.maxSurge = maxSurge;
  return a;
}

Deployment deployment(bool canary = false) {
  Deployment d;
  d.id = 1;
  d.app = "/web";
  d.from = 1;
  d.to = 2;
  d.canary = canary;
  return d;
}

// A simulated app: instances that start, become OK, fail and die as the
// test says; each step of the deployment is carried out on it.
struct Sim {
  std::vector<Instance> instances;
  int next = 0;
  double now = 0;

  void add(bool current, bool ok) {
    instances.push_back({"t" + std::to_string(next++), current, true, ok, now});
  }
  int count(bool current, bool okOnly) const {
    int n = 0;
    for (const auto& i : instances) n += i.live && i.current == current && (!okOnly || i.ok);
    return n;
  }
  int ok() const { return count(true, true) + count(false, true); }
  int liveAndDying() const { return static_cast<int>(instances.size()); }
  void apply(const DeploymentStep& step) {
    for (const auto& id : step.kill) {
      for (auto& i : instances) {
        if (i.taskId == id) i.live = false, i.ok = false;
      }
    }
    for (int k = 0; k < step.launch; ++k) add(true, false);
  }
  void becomeOk() {
    for (auto& i : instances) {
      if (i.live && !i.ok) i.ok = true;
    }
  }
  void reapDying() {
    std::erase_if(instances, [](const Instance& i) { return !i.live; });
  }
};

TEST(DeploymentTest, RollsOneAtATimeWithFullHealthAndOneSurge) {
  AppSpec target = app(3, 1.0, 1);
  Deployment d = deployment();
  Sim sim;
  for (int i = 0; i < 3; ++i) sim.add(false, true);
  auto step = advance(d, target, sim.instances, 0);
  EXPECT_EQ(step.launch, 1);
  EXPECT_TRUE(step.kill.empty()) << "3 OK of floor 3: nothing may go yet";
  sim.apply(step);
  step = advance(d, target, sim.instances, 1);
  EXPECT_EQ(step.launch, 0) << "at the ceiling of 4";
  sim.becomeOk();
  step = advance(d, target, sim.instances, 2);
  ASSERT_EQ(step.kill.size(), 1u);
  EXPECT_EQ(step.launch, 0) << "the killed one still counts until it is gone";
  sim.apply(step);
  sim.reapDying();
  step = advance(d, target, sim.instances, 3);
  EXPECT_EQ(step.launch, 1);
  EXPECT_EQ(d.status, "rolling: 1 of 3 new healthy, 2 old instances left");
  for (double t = 4; t < 20 && d.running(); ++t) {
    sim.apply(step);
    sim.becomeOk();
    sim.reapDying();
    step = advance(d, target, sim.instances, t);
  }
  EXPECT_EQ(d.outcome, Deployment::Outcome::kSucceeded);
  EXPECT_EQ(sim.count(true, true), 3);
  EXPECT_EQ(sim.count(false, false), 0);
}

TEST(DeploymentTest, ZeroMinHealthReplacesEverythingAtOnce) {
  AppSpec target = app(4, 0.0, 0);
  Deployment d = deployment();
  Sim sim;
  for (int i = 0; i < 4; ++i) sim.add(false, true);
  auto step = advance(d, target, sim.instances, 0);
  EXPECT_EQ(step.kill.size(), 4u);
  EXPECT_EQ(step.launch, 0);
  sim.apply(step);
  sim.reapDying();
  step = advance(d, target, sim.instances, 1);
  EXPECT_EQ(step.launch, 4);
}

TEST(DeploymentTest, OldInstancesThatServeNobodyGoFirst) {
  AppSpec target = app(3, 1.0, 1);
  Deployment d = deployment();
  Sim sim;
  sim.add(false, true);
  sim.add(false, false);  // crashing in backoff
  sim.add(false, true);
  auto step = advance(d, target, sim.instances, 0);
  EXPECT_EQ(step.kill, std::vector<std::string>{"t1"});
}

TEST(DeploymentTest, TooManyFailuresRollBackAndARollbackOnlyFails) {
  AppSpec target = app(2, 1.0, 1);
  target.upgrade.maxFailures = 2;
  Deployment d = deployment();
  Sim sim;
  sim.add(false, true);
  sim.add(false, true);
  advance(d, target, sim.instances, 0);
  for (int i = 0; i < 3; ++i) recordFailure(d, "Command exited with status 1");
  advance(d, target, sim.instances, 1);
  EXPECT_EQ(d.outcome, Deployment::Outcome::kRolledBack);
  EXPECT_EQ(d.status, "3 new instances failed (at most 2 may): Command exited with status 1");
  Deployment back = deployment();
  back.rollback = true;
  for (int i = 0; i < 3; ++i) recordFailure(back, "again");
  advance(back, target, sim.instances, 1);
  EXPECT_EQ(back.outcome, Deployment::Outcome::kFailed) << "a rollback does not roll back";
  Deployment first = deployment();
  first.from = 0;
  for (int i = 0; i < 3; ++i) recordFailure(first, "again");
  advance(first, target, {}, 1);
  EXPECT_EQ(first.outcome, Deployment::Outcome::kFailed) << "nothing to roll back to";
}

TEST(DeploymentTest, NoProgressWithinTheDeadlineRollsBack) {
  // marathon#4866: a new instance that never becomes healthy must not hang
  // the deployment.
  AppSpec target = app(2, 1.0, 1);
  target.upgrade.progressDeadline = seconds(60);
  Deployment d = deployment();
  Sim sim;
  sim.add(false, true);
  sim.add(false, true);
  auto step = advance(d, target, sim.instances, 0);
  sim.apply(step);  // never becomes OK
  advance(d, target, sim.instances, 59);
  EXPECT_TRUE(d.running());
  advance(d, target, sim.instances, 60);
  EXPECT_EQ(d.outcome, Deployment::Outcome::kRolledBack);
  EXPECT_EQ(d.status, "no progress for 1m (0 of 2 new instances healthy)");
}

TEST(DeploymentTest, CanariesWaitForPromotionThenRoll) {
  AppSpec target = app(3, 1.0, 1);
  target.canary = Canary{};
  target.canary->instances = 1;
  Deployment d = deployment(/*canary=*/true);
  Sim sim;
  for (int i = 0; i < 3; ++i) sim.add(false, true);
  auto step = advance(d, target, sim.instances, 0);
  EXPECT_EQ(step.launch, 1);
  EXPECT_TRUE(step.kill.empty());
  sim.apply(step);
  sim.becomeOk();
  step = advance(d, target, sim.instances, 1);
  EXPECT_EQ(step.launch, 0);
  EXPECT_EQ(d.status, "1 canary healthy; waiting for promotion");
  step = advance(d, target, sim.instances, 5000);  // waiting is not stalling
  EXPECT_TRUE(d.running());
  ASSERT_TRUE(promote(d));
  EXPECT_FALSE(promote(d)) << "promoted once";
  step = advance(d, target, sim.instances, 5001);
  EXPECT_EQ(step.kill.size(), 1u) << "4 OK, floor 3: one old may go";
}

TEST(DeploymentTest, CanariesPromoteThemselvesAfterStayingHealthy) {
  AppSpec target = app(2, 0.5, 1);
  target.canary = Canary{1, seconds(30)};
  Deployment d = deployment(true);
  Sim sim;
  sim.add(false, true);
  sim.add(false, true);
  sim.apply(advance(d, target, sim.instances, 0));
  sim.becomeOk();
  advance(d, target, sim.instances, 10);
  EXPECT_EQ(d.status, "1 canary healthy; waiting for promotion (automatic after 30s)");
  advance(d, target, sim.instances, 39);
  EXPECT_FALSE(d.promoted);
  advance(d, target, sim.instances, 40);
  EXPECT_TRUE(d.promoted);
}

TEST(DeploymentTest, UnpromotedCanariesRollBackAtTheirDeadline) {
  AppSpec target = app(2, 0.5, 1);
  target.canary = Canary{1, std::nullopt, seconds(100)};
  Deployment d = deployment(true);
  Sim sim;
  sim.add(false, true);
  sim.apply(advance(d, target, sim.instances, 0));
  sim.becomeOk();
  advance(d, target, sim.instances, 1);
  advance(d, target, sim.instances, 101);
  EXPECT_EQ(d.outcome, Deployment::Outcome::kRolledBack);
  EXPECT_EQ(d.status, "canaries not promoted within 1m40s");
}

TEST(DeploymentTest, RoundTripsThroughJson) {
  Deployment d = deployment(true);
  d.status = "rolling";
  d.failures = 2;
  d.lastFailure = "x";
  d.started = 12.5;
  auto back = decodeDeployment(encodeDeployment(d));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(encodeDeployment(*back), encodeDeployment(d));
  EXPECT_FALSE(decodeDeployment("{\"id\": 1}"));
  EXPECT_FALSE(decodeDeployment("nonsense"));
}

// Random interleavings: instances become OK, fail (old or new), and the
// killed ones go away, in any order, while the deployment steps. Its kills
// never take the OK count below the floor (unless it was below already),
// its launches never take the live count above the ceiling, and once the
// failures stop it finishes.
TEST(DeploymentTest, PropertyNeverBelowTheFloorNeverAboveTheCeilingAndAlwaysFinishes) {
  std::mt19937 random(20261207);
  int succeeded = 0, rolledBack = 0;
  for (int run = 0; run < 2000; ++run) {
    int instances = 1 + static_cast<int>(random() % 8);
    double minHealth = (random() % 5) / 4.0;
    int surge = static_cast<int>(random() % 3);
    if (minHealth >= 1.0 && surge == 0) surge = 1;  // refused by the spec
    AppSpec target = app(instances, minHealth, surge);
    target.upgrade.maxFailures = 1000;
    target.upgrade.progressDeadline = seconds(1e6);
    bool canary = random() % 4 == 0;
    if (canary) target.canary = Canary{1 + static_cast<int64_t>(random() % instances), seconds(5)};
    Deployment d = deployment(canary);
    Sim sim;
    int old = static_cast<int>(random() % (instances + 3));
    for (int i = 0; i < old; ++i) sim.add(false, random() % 5 != 0);
    const int floor = static_cast<int>(healthyFloor(target));
    const int ceiling = static_cast<int>(liveCeiling(target));
    bool failing = true;
    for (int t = 0; t < 400 && d.running(); ++t) {
      sim.now = t;
      if (t == 200) failing = false;
      // Events, in random order and number.
      int events = static_cast<int>(random() % 4);
      for (int e = 0; e < events; ++e) {
        if (sim.instances.empty()) break;
        Instance& i = sim.instances[random() % sim.instances.size()];
        switch (random() % 4) {
          case 0:
            if (i.live) i.ok = true;
            break;
          case 1:
            if (failing && i.live) {
              if (i.current) recordFailure(d, "crash");
              i.live = false, i.ok = false;
            }
            break;
          case 2:
            if (!i.live) i.taskId = "gone";
            break;
          case 3:
            if (failing && i.live) i.ok = false;
            break;
        }
      }
      std::erase_if(sim.instances, [](const Instance& i) { return i.taskId == "gone"; });
      if (!failing) {
        sim.becomeOk();
        sim.reapDying();
      }
      int okBefore = sim.ok();
      int liveBefore = sim.liveAndDying();
      bool canaryPhase = canary && !d.promoted;
      DeploymentStep step = advance(d, target, sim.instances, t);
      // Kills first.
      DeploymentStep kills = step;
      kills.launch = 0;
      sim.apply(kills);
      ASSERT_GE(sim.ok(), std::min(okBefore, floor))
          << "run " << run << " t " << t << ": a kill took OK below the floor " << floor;
      DeploymentStep launches;
      launches.launch = step.launch;
      sim.apply(launches);
      // Canaries start beside every old instance, above the ceiling if they must.
      if (!canaryPhase) {
        ASSERT_LE(sim.liveAndDying(), std::max(liveBefore, ceiling))
            << "run " << run << " t " << t << ": launches above the ceiling " << ceiling;
      }
      if (canary && d.running() && !d.promoted) {
        ASSERT_LE(sim.count(true, false), target.canary->instances) << "more canaries than asked";
      }
    }
    ASSERT_FALSE(d.running()) << "run " << run << " never finished: " << d.status;
    succeeded += d.outcome == Deployment::Outcome::kSucceeded;
    rolledBack += d.outcome != Deployment::Outcome::kSucceeded;
    if (d.outcome == Deployment::Outcome::kSucceeded) {
      ASSERT_EQ(sim.count(true, true), instances);
      ASSERT_EQ(sim.count(false, false), 0);
    }
  }
  EXPECT_EQ(succeeded, 2000) << rolledBack << " did not succeed";
}

}  // namespace
}  // namespace agora::service
