#pragma once
// A Master on a FakeNetwork driven by a SimulatedClock, plus helpers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/fake_transport.hpp"
#include "master/master.hpp"
#include "master/registry/registrar.hpp"
#include "tests/master/fake_peers.hpp"

namespace agora::master::testing {

class MasterTest : public ::testing::Test {
 protected:
  MasterTest() {
    options_.masterId = "M";
    options_.agentPingInterval = seconds(1);
    options_.agentMaxMissedPings = 3;
    options_.frameworkHeartbeatInterval = seconds(2);
    master_ = std::make_unique<Master>(loop_, *server_, options_);
  }
  ~MasterTest() override { master_.reset(); }

  void settle() { loop_.runUntilIdle(); }
  // Advances the clock in 100 ms steps so periodic timers fire in order.
  void advance(double secondsTotal) {
    for (double t = 0; t < secondsTotal - 1e-9; t += 0.1) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
    }
  }
  std::unique_ptr<FakeAgent> agent(const std::string& identity, const std::string& resources,
                                   const std::string& hostname = "host1") {
    auto a = std::make_unique<FakeAgent>(network_, identity);
    a->registerAgent(resources, hostname);
    settle();
    return a;
  }
  // A scheduler "sched-1" whose task `taskId` (cpus:1) is RUNNING on agent
  // "agent-a" (cpus:1;mem:1024).
  std::pair<std::unique_ptr<FakeScheduler>, std::unique_ptr<FakeAgent>> runningTask(
      const std::string& taskId) {
    auto s = scheduler("sched-1");
    auto a = agent("agent-a", "cpus:1;mem:1024");
    s->accept({s->offers[0].id}, {makeTask(taskId, "cpus:1")}, 0);
    settle();
    if (!a->runTasks.empty()) a->sendStatus(s->frameworkId, taskId, TaskState::RUNNING);
    settle();
    return {std::move(s), std::move(a)};
  }
  std::unique_ptr<FakeScheduler> scheduler(const std::string& identity,
                                           const std::string& name = "fw",
                                           double failoverTimeoutSec = 0,
                                           bool partitionAware = false) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->subscribe(name, "", failoverTimeoutSec, partitionAware);
    settle();
    return s;
  }
  // A scheduler named `identity` subscribed in `roles`, with its first offers.
  std::unique_ptr<FakeScheduler> framework(const std::string& identity,
                                           std::vector<std::string> roles) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->roles = std::move(roles);
    s->subscribe(identity);
    settle();
    return s;
  }
  const Task* task(const std::string& frameworkId, const std::string& taskId) {
    return master_->state().tasks.find({frameworkId, taskId});
  }
  const Agent& agentState(const std::string& id) { return master_->state().agents.at(id); }
  // The agent's total as the allocator sees it (reservations and volumes applied).
  Resources agentTotal(const std::string& id) { return master_->allocator().agentTotal(id); }
  uint64_t rejected(const std::string& reason) { return master_->metrics().rejectedCount(reason); }

  // What the master is made with (and remade with, on a registry: WithRegistry).
  MasterOptions options_;
  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  std::unique_ptr<FakeServer> server_ = network_.bind("master");
  std::unique_ptr<Master> master_;
};

// `Base` (a MasterTest) with its master on a SQLite registry in a temporary
// directory. The master "M1" starts in SetUp, so a derived fixture adjusts
// options_ in its constructor; start() and restart() replace the master by a
// new one on the same registry (what its registrar committed stays).
template <class Base = MasterTest>
class WithRegistry : public Base {
 protected:
  WithRegistry() {
    char tmpl[] = "/tmp/agora-registry-XXXXXX";
    dir_ = mkdtemp(tmpl);
    this->master_.reset();
    this->options_.agentReregisterTimeout = seconds(30);
    this->options_.agentUnreachableTimeout = seconds(100);
  }
  ~WithRegistry() override {
    this->master_.reset();
    registrar_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    Base::SetUp();
    start("M1");
  }

  void start(const std::string& masterId) {
    this->master_.reset();
    registrar_.reset();
    auto registrar = Registrar::open(this->loop_, dir_ + "/registry.db", {false, false});
    ASSERT_TRUE(registrar) << registrar.error().message;
    registrar_ = std::move(*registrar);
    MasterOptions options = this->options_;
    options.masterId = masterId;
    options.registrar = registrar_.get();
    this->master_ = std::make_unique<Master>(this->loop_, *this->server_, options);
    this->settle();
  }
  // The master dies once what it queued has run, `downSec` passes, and the
  // next one ("M2", "M3", ...) starts on the same registry.
  void restart(double downSec = 0) {
    this->settle();
    this->master_.reset();
    this->clock_.advance(seconds(downSec));
    start("M" + std::to_string(++restarts_ + 1));
  }

  std::string dir_;
  std::unique_ptr<Registrar> registrar_;
  int restarts_ = 0;
};

}  // namespace agora::master::testing
