#pragma once
// A Master on a FakeNetwork driven by a SimulatedClock, plus helpers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/fake_transport.hpp"
#include "master/master.hpp"
#include "master/registry/registrar.hpp"
#include "tests/master/fake_peers.hpp"

namespace agora::master::testing {

class MasterTest : public ::testing::Test {
 protected:
  friend class TempRegistry;
  MasterTest() {
    MasterOptions options;
    options.masterId = "M";
    options.agentPingIntervalSec = 1;
    options.agentMaxMissedPings = 3;
    options.frameworkHeartbeatIntervalSec = 2;
    master_ = std::make_unique<Master>(loop_, *server_, options);
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
  std::unique_ptr<FakeScheduler> scheduler(const std::string& identity,
                                           const std::string& name = "fw",
                                           double failoverTimeoutSec = 0,
                                           bool partitionAware = false) {
    auto s = std::make_unique<FakeScheduler>(network_, identity);
    s->subscribe(name, "", failoverTimeoutSec, partitionAware);
    settle();
    return s;
  }
  const Task* task(const std::string& frameworkId, const std::string& taskId) {
    return master_->state().findAnyTask({frameworkId, taskId});
  }
  uint64_t rejected(const std::string& reason) { return master_->metrics().rejectedCount(reason); }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  std::unique_ptr<FakeServer> server_ = network_.bind("master");
  std::unique_ptr<Master> master_;
};

// A master on a SQLite registry in a temp dir, that a test restarts. The
// derived fixture adjusts options_ and calls start().
class PersistentMasterTest : public MasterTest {
 protected:
  PersistentMasterTest() {
    char tmpl[] = "/tmp/agora-recovery-XXXXXX";
    dir_ = mkdtemp(tmpl);
    master_.reset();
    options_.agentPingIntervalSec = 1;
    options_.agentMaxMissedPings = 3;
    options_.frameworkHeartbeatIntervalSec = 2;
    options_.agentReregisterTimeoutSec = 30;
    options_.agentUnreachableTimeoutSec = 100;
  }
  ~PersistentMasterTest() override {
    master_.reset();
    registrar_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(const std::string& masterId) {
    auto registrar = Registrar::open(loop_, dir_ + "/registry.db", {false, false});
    ASSERT_TRUE(registrar) << registrar.error().message;
    registrar_ = std::move(*registrar);
    MasterOptions options = options_;
    options.masterId = masterId;
    options.registrar = registrar_.get();
    master_ = std::make_unique<Master>(loop_, *server_, options);
    settle();
  }
  // The master dies (whatever its registrar committed stays), `downSec`
  // passes, and a new master starts on the same registry.
  void restart(double downSec = 0) {
    settle();
    master_.reset();
    registrar_.reset();
    clock_.advance(seconds(downSec));
    start("M" + std::to_string(++restarts_ + 1));
  }

  MasterOptions options_;
  std::string dir_;
  std::unique_ptr<Registrar> registrar_;
  int restarts_ = 0;
};

// A registry in a temporary directory, for what must survive a master
// restart. REQUIRES: the fixture destroys its master before this.
class TempRegistry {
 public:
  TempRegistry() {
    char tmpl[] = "/tmp/agora-registry-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TempRegistry() {
    registrar_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Replaces `master` with a new one named `masterId` on this registry.
  void restart(MasterTest& test, const std::string& masterId) {
    test.master_.reset();
    registrar_.reset();
    auto registrar = Registrar::open(test.loop_, dir_ + "/registry.db", {false, false});
    ASSERT_TRUE(registrar) << registrar.error().message;
    registrar_ = std::move(*registrar);
    MasterOptions options;
    options.masterId = masterId;
    options.registrar = registrar_.get();
    test.master_ = std::make_unique<Master>(test.loop_, *test.server_, options);
    test.settle();
  }

 private:
  std::string dir_;
  std::unique_ptr<Registrar> registrar_;
};

// `Base` (a MasterTest) with its master on a TempRegistry, started as "M1";
// start() replaces it by a new master on the same registry.
template <class Base>
class WithRegistry : public Base {
 protected:
  WithRegistry() { start("M1"); }
  ~WithRegistry() override { this->master_.reset(); }
  void start(const std::string& masterId) { registry_.restart(*this, masterId); }
  TempRegistry registry_;
};

}  // namespace agora::master::testing
