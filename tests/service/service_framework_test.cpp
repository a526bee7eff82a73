#include "frameworks/service/service_framework.hpp"

#include <gtest/gtest.h>

#include "common/fake_transport.hpp"
#include "frameworks/kit/memory_store.hpp"
#include "frameworks/sdk/fake_master.hpp"

namespace agora::service {
namespace {

// The runtime's store over the test's records, which the test's registry
// reads and writes too.
class SharedStore final : public kit::Store {
 public:
  explicit SharedStore(kit::MemoryStore& target) : target_(target) {}
  Result<std::optional<kit::Record>> get(const std::string& key) override {
    return target_.get(key);
  }
  Result<std::vector<kit::Record>> list(const std::string& prefix) override {
    return target_.list(prefix);
  }

 protected:
  Result<std::vector<kit::Record>> apply(const std::vector<kit::Write>& writes) override {
    return target_.commit(writes);
  }

 private:
  kit::MemoryStore& target_;
};

class ServiceFrameworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_.addAgent(
        sdk::FakeAgent{"a1", *Resources::parse("cpus:4;mem:4096;ports:[31000-31099]"), "h1", {}});
    master_.addAgent(
        sdk::FakeAgent{"a2", *Resources::parse("cpus:4;mem:4096;ports:[31000-31099]"), "h2", {}});
  }
  void start(const std::string& spec) {
    auto apps = parseApps(spec, "app.yaml");
    ASSERT_TRUE(apps) << apps.error().message;
    ASSERT_TRUE(registry_->apply(*apps, 0));
    kit::RuntimeOptions options;
    options.driver.framework.name = "service";
    auto drivers = [this](
                       sdk::Scheduler& scheduler,
                       sdk::DriverOptions driver) -> Result<std::unique_ptr<sdk::SchedulerDriver>> {
      return std::make_unique<sdk::SchedulerDriver>(
          scheduler, std::move(driver), loop_, network_.connect(master_.endpoint(), "service"));
    };
    runtime_ = std::make_unique<kit::Runtime>(framework_, options, loop_,
                                              std::make_unique<SharedStore>(records_), drivers);
    runtime_->start();
    advance(seconds(1));
  }
  void advance(Duration total) {
    for (Duration done{0}; done < total; done += millis(100)) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
    }
  }
  int running(const std::string& app) {
    int n = 0;
    for (const TaskInfo& launched : master_.launches()) {
      const auto* task = master_.task(launched.taskId);
      n += task != nullptr && !isTerminal(task->state) && findValue(launched.labels, "agora.app") &&
           *findValue(launched.labels, "agora.app") == app;
    }
    return n;
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  sdk::FakeMaster master_{loop_, network_};
  kit::MemoryStore records_;
  std::optional<AppRegistry> registry_{*AppRegistry::load(records_)};
  ServiceFramework framework_{*registry_, clock_};
  std::unique_ptr<kit::Runtime> runtime_;
};

TEST_F(ServiceFrameworkTest, RunsEachAppsInstancesFromItsSpec) {
  start(R"(apps:
  - id: /shop/web
    instances: 3
    cpus: 0.5
    mem: 64
    cmd: "httpd -p $PORT_HTTP"
    env: {GREETING: hi}
    labels: {team: shop}
    ports: [{name: http}]
    kill_grace: 5s
  - {id: /shop/worker, instances: 2, args: [worker, --fast], user: nobody}
)");
  EXPECT_EQ(running("/shop/web"), 3);
  EXPECT_EQ(running("/shop/worker"), 2);
  const TaskInfo* web = nullptr;
  const TaskInfo* worker = nullptr;
  for (const TaskInfo& t : master_.launches()) {
    (t.name == "/shop/web" ? web : worker) = &t;
  }
  ASSERT_TRUE(web && worker);
  EXPECT_EQ(web->command.value, "httpd -p $PORT_HTTP");
  EXPECT_NE(findValue(web->command.environment, "GREETING"), nullptr);
  EXPECT_NE(findValue(web->command.environment, "PORT_HTTP"), nullptr);
  EXPECT_EQ(*findValue(web->labels, "team"), "shop");
  EXPECT_EQ(*findValue(web->labels, "agora.app_version"), "1");
  EXPECT_DOUBLE_EQ(web->killGracePeriodSec, 5);
  EXPECT_NE(web->resources.toString().find("cpus:0.5"), std::string::npos);
  EXPECT_FALSE(worker->command.shell);
  EXPECT_EQ(worker->command.arguments, (std::vector<std::string>{"worker", "--fast"}));
  EXPECT_EQ(worker->command.user, "nobody");
}

TEST_F(ServiceFrameworkTest, AFailingAppIsReplacedWithGrowingBackoff) {
  start("{id: /crash, instances: 1, cmd: 'exit 1', backoff: {initial: 2s, factor: 2, max: 5s}}");
  ASSERT_EQ(master_.launches().size(), 1u);
  master_.sendUpdate(master_.launches().back().taskId, TaskState::FAILED);
  advance(seconds(1));
  EXPECT_EQ(master_.launches().size(), 1u);  // waits 2 s
  advance(seconds(1.5));
  ASSERT_EQ(master_.launches().size(), 2u);
  master_.sendUpdate(master_.launches().back().taskId, TaskState::FAILED);
  advance(seconds(3.5));
  EXPECT_EQ(master_.launches().size(), 2u);  // waits 4 s now
  advance(seconds(1));
  ASSERT_EQ(master_.launches().size(), 3u);
  master_.sendUpdate(master_.launches().back().taskId, TaskState::FAILED);
  advance(seconds(4.5));
  EXPECT_EQ(master_.launches().size(), 3u);  // 8 s capped at 5 s
  advance(seconds(1));
  EXPECT_EQ(master_.launches().size(), 4u);
  EXPECT_EQ(framework_.failures("/crash"), 3);
}

TEST_F(ServiceFrameworkTest, AnInstanceThatStayedUpResetsTheBackoffAndALostOneIsReplacedAtOnce) {
  start("{id: /web, instances: 1, cmd: serve, backoff: {initial: 10s, factor: 2, max: 60s}}");
  std::string first = master_.launches().back().taskId;
  master_.sendUpdate(first, TaskState::RUNNING);
  advance(seconds(ServiceFramework::kStableSeconds + 1));
  master_.sendUpdate(first, TaskState::FAILED);
  advance(seconds(1));
  EXPECT_EQ(framework_.failures("/web"), 1);  // counted from zero again
  advance(seconds(10));
  ASSERT_EQ(master_.launches().size(), 2u);
  master_.sendUpdate(master_.launches().back().taskId, TaskState::LOST);
  advance(seconds(1));
  EXPECT_EQ(master_.launches().size(), 3u);  // no backoff for a lost agent
}

TEST_F(ServiceFrameworkTest, ScalingDownKillsTheNewestAndARemovedAppIsStopped) {
  start("apps:\n  - {id: /web, instances: 3, cmd: serve}\n  - {id: /db, instances: 1, cmd: db}\n");
  ASSERT_EQ(running("/web"), 3);
  std::vector<std::string> web;
  for (const TaskInfo& t : master_.launches()) {
    if (t.name == "/web") web.push_back(t.taskId);
  }
  for (const std::string& id : web) {
    master_.sendUpdate(id, TaskState::RUNNING);
    advance(seconds(1));  // started one after the other: web[2] is the newest
  }
  auto down = parseApps("{id: /web, instances: 2, cmd: serve}", "scale");
  ASSERT_TRUE(registry_->apply(*down, 10));
  auto killed = framework_.converge(*runtime_);
  EXPECT_EQ(killed, (std::vector<std::string>{web[2]}));
  advance(seconds(1));
  EXPECT_EQ(running("/web"), 2);
  EXPECT_EQ(master_.launches().size(), 4u);   // nothing launched instead
  EXPECT_EQ(framework_.failures("/web"), 0);  // killed by us: no failure

  ASSERT_TRUE(registry_->remove("/db"));
  framework_.converge(*runtime_);
  advance(seconds(1));
  EXPECT_EQ(running("/db"), 0);
  EXPECT_EQ(master_.launches().size(), 4u);  // and not replaced

  auto up = parseApps("{id: /web, instances: 4, cmd: serve}", "scale");
  ASSERT_TRUE(registry_->apply(*up, 20));
  framework_.converge(*runtime_);
  advance(seconds(1));
  EXPECT_EQ(running("/web"), 4);
}

}  // namespace
}  // namespace agora::service
