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

// CPU use as agents would report it: each task burns `rate(task)` CPU
// seconds per second of the test's clock.
class FakeUsage final : public UsageSource {
 public:
  explicit FakeUsage(Clock& clock) : clock_(clock) {}
  void poll(std::vector<std::string>, std::function<void(UsageByTask)> done) override {
    ++polls;
    double now = clock_.wallSeconds();
    UsageByTask out;
    for (const std::string& task : tasks()) {
      CpuSample& s = burnt_[task];
      if (s.at > 0) s.cpuSeconds += rate(task) * (now - s.at);
      s.at = now;
      out[task] = s;
    }
    done(std::move(out));
  }
  std::function<std::vector<std::string>()> tasks;
  std::function<double(const std::string&)> rate = [](const std::string&) { return 0.0; };
  int polls = 0;

 private:
  Clock& clock_;
  std::map<std::string, CpuSample> burnt_;
};

class ServiceFrameworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_.addAgent(
        sdk::FakeAgent{"a1", *Resources::parse("cpus:4;mem:4096;ports:[31000-31099]"), "h1", {}});
    master_.addAgent(
        sdk::FakeAgent{"a2", *Resources::parse("cpus:4;mem:4096;ports:[31000-31099]"), "h2", {}});
  }
  // Starts the framework, then applies `spec` through the API's path.
  void start(const std::string& spec) {
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
    apply(spec, 0);
    advance(seconds(1));
  }
  void advance(Duration total) {
    for (Duration done{0}; done < total; done += millis(100)) {
      clock_.advance(millis(100));
      loop_.runUntilIdle();
    }
  }
  // An apply through the API's path: registry, then a deployment per app.
  void apply(const std::string& spec, double now) {
    auto apps = parseApps(spec, "apply");
    ASSERT_TRUE(apps) << apps.error().message;
    std::map<std::string, int64_t> previous;
    for (const AppSpec& app : *apps) {
      if (const AppVersion* v = registry_->current(app.id)) previous[app.id] = v->version;
    }
    auto written = registry_->apply(*apps, now);
    ASSERT_TRUE(written) << written.error().message;
    ASSERT_TRUE(framework_.deploy(*runtime_, *written, previous));
    loop_.runUntilIdle();
  }
  // The live tasks of `app`, launched in this order.
  std::vector<std::string> live(const std::string& app) {
    std::vector<std::string> out;
    for (const TaskInfo& launched : master_.launches()) {
      const auto* task = master_.task(launched.taskId);
      if (task != nullptr && !isTerminal(task->state) && launched.name == app) {
        out.push_back(launched.taskId);
      }
    }
    return out;
  }
  // Answers every live task of `app` the way a working instance does: running,
  // then healthy (and ready); kills the master was asked for are carried out.
  void serve(const std::string& app, bool healthy = true) {
    carryOutKills();
    for (const std::string& id : live(app)) {
      const auto* task = master_.task(id);
      if (task->state != TaskState::RUNNING) master_.sendUpdate(id, TaskState::RUNNING);
      if (task->healthy != healthy) master_.sendVerdicts(id, healthy, std::nullopt);
    }
    advance(millis(200));
  }
  void carryOutKills() {
    for (const auto& kill : master_.kills()) {
      const auto* task = master_.task(kill.taskId);
      if (task != nullptr && !isTerminal(task->state)) {
        master_.sendUpdate(kill.taskId, TaskState::KILLED);
      }
    }
    loop_.runUntilIdle();
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
  apply("{id: /web, instances: 2, cmd: serve}", 10);
  ASSERT_EQ(master_.kills().size(), 1u);
  EXPECT_EQ(master_.kills()[0].taskId, web[2]);
  carryOutKills();
  advance(seconds(1));
  EXPECT_EQ(running("/web"), 2);
  EXPECT_EQ(master_.launches().size(), 4u);   // nothing launched instead
  EXPECT_EQ(framework_.failures("/web"), 0);  // killed by us: no failure

  ASSERT_TRUE(registry_->remove("/db"));
  framework_.removed(*runtime_, "/db");
  carryOutKills();
  advance(seconds(1));
  EXPECT_EQ(running("/db"), 0);
  EXPECT_EQ(master_.launches().size(), 4u);  // and not replaced

  apply("{id: /web, instances: 4, cmd: serve}", 20);
  advance(seconds(1));
  EXPECT_EQ(running("/web"), 4);
  EXPECT_EQ(master_.launches().size(), 6u) << "scaling restarted nothing";
}

constexpr const char* kWeb = R"(id: /web
instances: 3
cmd: "serve v1"
ports: [{name: http}]
health_checks: [{http: {port: http, path: /health}, grace: 1s, interval: 1s, max_failures: 2}]
upgrade: {min_health: 1.0, max_surge: 1, max_failures: 2}
)";

std::string webVersion(const std::string& cmd) {
  std::string spec = kWeb;
  spec.replace(spec.find("serve v1"), 8, cmd);
  return spec;
}

TEST_F(ServiceFrameworkTest, HealthChecksGoToTheTaskAndAnUnhealthyInstanceIsReplaced) {
  start(kWeb);
  ASSERT_EQ(master_.launches().size(), 3u);
  const TaskInfo& first = master_.launches()[0];
  EXPECT_EQ(first.healthCheck.kind, CheckKind::HTTP);
  EXPECT_EQ(first.healthCheck.path, "/health");
  EXPECT_EQ(std::to_string(first.healthCheck.port),
            *findValue(first.command.environment, "PORT_HTTP"));
  EXPECT_EQ(first.healthCheck.maxFailures, 2u);
  serve("/web");
  EXPECT_EQ(framework_.deployment("/web")->outcome, Deployment::Outcome::kSucceeded);
  master_.sendVerdicts(first.taskId, false, std::nullopt, "unhealthy: HTTP 500");
  loop_.runUntilIdle();
  ASSERT_EQ(master_.kills().size(), 1u);
  EXPECT_EQ(master_.kills()[0].taskId, first.taskId);
  carryOutKills();
  advance(seconds(2));  // the app's backoff: 1 s
  EXPECT_EQ(master_.launches().size(), 4u);
  EXPECT_EQ(framework_.failures("/web"), 1);
}

TEST_F(ServiceFrameworkTest, ARollingUpdateReplacesEveryInstanceKeepingThreeHealthy) {
  start(kWeb);
  serve("/web");
  apply(webVersion("serve v2"), 100);
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) {
    int healthy = 0;
    for (const std::string& id : live("/web")) healthy += master_.task(id)->healthy == true;
    ASSERT_GE(healthy, 3) << "step " << i;
    ASSERT_LE(live("/web").size(), 4u) << "step " << i;
    serve("/web");
  }
  EXPECT_EQ(framework_.deployment("/web")->outcome, Deployment::Outcome::kSucceeded);
  ASSERT_EQ(live("/web").size(), 3u);
  for (const std::string& id : live("/web")) {
    EXPECT_EQ(master_.task(id)->info.command.value, "serve v2");
  }
}

TEST_F(ServiceFrameworkTest, AVersionThatNeverGetsHealthyIsRolledBackByItself) {
  start(kWeb);
  serve("/web");
  apply(webVersion("serve v2"), 100);
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) serve("/web");
  std::vector<std::string> v2 = live("/web");
  apply(webVersion("serve v3-broken"), 200);
  // The new instance runs but fails its health check, again and again.
  for (int i = 0; i < 40 && framework_.deployment("/web")->to == 3; ++i) {
    carryOutKills();
    for (const std::string& id : live("/web")) {
      const auto* task = master_.task(id);
      bool broken = task->info.command.value == "serve v3-broken";
      if (task->state != TaskState::RUNNING) master_.sendUpdate(id, TaskState::RUNNING);
      if (broken && task->healthy != false) master_.sendVerdicts(id, false, std::nullopt);
    }
    advance(seconds(1));
  }
  const Deployment* d = framework_.deployment("/web");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->rollback) << "a rollback deployment follows";
  EXPECT_EQ(d->to, 4);
  EXPECT_EQ(registry_->current("/web")->spec.cmd, "serve v2");
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) serve("/web");
  EXPECT_EQ(framework_.deployment("/web")->outcome, Deployment::Outcome::kSucceeded);
  EXPECT_EQ(live("/web"), v2) << "the v2 instances were never touched";
}

TEST_F(ServiceFrameworkTest, CanariesWaitForAPromotion) {
  start(kWeb);
  serve("/web");
  std::string spec = webVersion("serve v2") + "canary: {instances: 1}\n";
  apply(spec, 100);
  for (int i = 0; i < 5; ++i) serve("/web");
  EXPECT_EQ(live("/web").size(), 4u);
  EXPECT_EQ(framework_.deployment("/web")->status, "1 canary healthy; waiting for promotion");
  ASSERT_TRUE(framework_.promote(*runtime_, "/web"));
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) serve("/web");
  EXPECT_EQ(framework_.deployment("/web")->outcome, Deployment::Outcome::kSucceeded);
  EXPECT_FALSE(framework_.promote(*runtime_, "/web"));
}

TEST_F(ServiceFrameworkTest, AManualRollbackAppliesAnEarlierVersionAgain) {
  start(kWeb);
  serve("/web");
  apply(webVersion("serve v2"), 100);
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) serve("/web");
  auto back = framework_.rollback(*runtime_, "/web", std::nullopt);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->spec.cmd, "serve v1");
  for (int i = 0; i < 20 && framework_.deployment("/web")->running(); ++i) serve("/web");
  for (const std::string& id : live("/web")) {
    EXPECT_EQ(master_.task(id)->info.command.value, "serve v1");
  }
  EXPECT_FALSE(framework_.rollback(*runtime_, "/web", 9));
}

TEST_F(ServiceFrameworkTest,
       AnUnreachableInstanceIsReplacedAfterItsGraceAndOneOfTwoGoesWhenItReturns) {
  start("{id: /web, instances: 2, cmd: serve, unreachable_grace: 30s}");
  serve("/web");
  ASSERT_EQ(live("/web").size(), 2u);
  std::string cut = live("/web")[0];
  master_.sendUpdate(cut, TaskState::UNREACHABLE, TaskReason::AGENT_UNREACHABLE);
  advance(seconds(20));
  EXPECT_EQ(master_.launches().size(), 2u) << "within the grace nothing is replaced";
  advance(seconds(12));
  ASSERT_EQ(master_.launches().size(), 3u) << "replaced after the grace";
  serve("/web");
  master_.sendUpdate(cut, TaskState::RUNNING);  // its agent is back
  advance(seconds(2));
  carryOutKills();
  EXPECT_EQ(live("/web").size(), 2u) << "one of the two was killed, never both kept";
  EXPECT_EQ(framework_.failures("/web"), 0);
}

TEST_F(ServiceFrameworkTest, AnAppWaitsForItsDependenciesToBeHealthy) {
  start(R"(apps:
  - {id: /shop/db, instances: 2, cmd: db, ports: [{name: pg}],
     health_checks: [{tcp: {port: pg}, grace: 1s, interval: 1s}]}
  - {id: /shop/web, instances: 2, cmd: web, dependencies: [/shop/db]}
)");
  EXPECT_EQ(live("/shop/db").size(), 2u);
  EXPECT_TRUE(live("/shop/web").empty()) << "db is not healthy yet";
  EXPECT_NE(framework_.holdReason("/shop/web").find("waiting for /shop/db"), std::string::npos)
      << framework_.holdReason("/shop/web");
  serve("/shop/db");
  advance(seconds(1));
  EXPECT_EQ(live("/shop/web").size(), 2u) << framework_.holdReason("/shop/web");
}

TEST_F(ServiceFrameworkTest, AnAppWaitsForItsSecretsAndItsInstancesGetThem) {
  start(R"(apps:
  - {id: /shop/web, instances: 2, cmd: web,
     secrets: {db-pass: {env: DB_PASSWORD}, tls-key: {file: tls/key.pem}}}
)");
  EXPECT_TRUE(live("/shop/web").empty());
  EXPECT_EQ(framework_.holdReason("/shop/web"),
            "secret db-pass is not set (agora secret set db-pass)");
  ASSERT_NE(runtime_->secrets(), nullptr);
  ASSERT_TRUE(runtime_->secrets()->set("db-pass", "hunter2", 1));
  runtime_->wake();
  advance(seconds(1));
  EXPECT_TRUE(live("/shop/web").empty());
  EXPECT_EQ(framework_.holdReason("/shop/web"),
            "secret tls-key is not set (agora secret set tls-key)");
  ASSERT_TRUE(runtime_->secrets()->set("tls-key", "-----BEGIN KEY-----", 2));
  runtime_->wake();
  advance(seconds(1));
  ASSERT_EQ(live("/shop/web").size(), 2u) << framework_.holdReason("/shop/web");
  const TaskInfo& launched = master_.launches().front();
  ASSERT_EQ(launched.secrets.size(), 2u);
  EXPECT_EQ(launched.secrets[0].name, "db-pass");
  EXPECT_EQ(launched.secrets[0].value, "hunter2");
  EXPECT_EQ(launched.secrets[0].env, "DB_PASSWORD");
  EXPECT_EQ(launched.secrets[1].value, "-----BEGIN KEY-----");
  EXPECT_EQ(launched.secrets[1].file, "tls/key.pem");
  EXPECT_TRUE(framework_.holdReason("/shop/web").empty());
}

TEST_F(ServiceFrameworkTest, AutoscalingFollowsCpuUpAtOnceAndDownAfterTheWindow) {
  auto usage = std::make_unique<FakeUsage>(clock_);
  FakeUsage* fake = usage.get();
  fake->tasks = [this] { return live("/api"); };
  double busy = 0.5;  // CPU seconds per second per instance, of cpus 0.5: 100 %
  fake->rate = [&busy](const std::string&) { return busy; };
  framework_.setUsageSource(std::move(usage));
  start(R"(apps:
  - {id: /api, instances: 1, cpus: 0.5, mem: 64, cmd: api,
     autoscale: {min: 1, max: 4, target_cpu: 0.5, interval: 1s, scale_down_window: 5s}}
)");
  serve("/api");
  // The first look comes one interval in, the first rate one later: 1.0 of
  // a 0.5 target is twice as much: 2, then 4 (at most max).
  advance(seconds(3));
  serve("/api");
  EXPECT_GE(fake->polls, 2);
  EXPECT_EQ(registry_->current("/api")->spec.instances, 2) << framework_.autoscaleReason("/api");
  EXPECT_EQ(registry_->current("/api")->version, 1) << "resized in place, no new version";
  for (int i = 0; i < 5 && registry_->current("/api")->spec.instances < 4; ++i) {
    advance(seconds(1));
    serve("/api");
  }
  EXPECT_EQ(registry_->current("/api")->spec.instances, 4) << framework_.autoscaleReason("/api");
  EXPECT_EQ(running("/api"), 4);

  // Idle: nothing goes before the 5 s window has only idle recommendations.
  busy = 0.01;
  advance(seconds(3));
  serve("/api");
  EXPECT_EQ(registry_->current("/api")->spec.instances, 4);
  EXPECT_NE(framework_.autoscaleReason("/api").find("window agrees"), std::string::npos)
      << framework_.autoscaleReason("/api");
  advance(seconds(5));
  serve("/api");
  EXPECT_EQ(registry_->current("/api")->spec.instances, 1) << framework_.autoscaleReason("/api");
  carryOutKills();
  EXPECT_EQ(running("/api"), 1);

  // A new version keeps the autoscaler's count (within its new bounds).
  apply(R"(apps:
  - {id: /api, instances: 1, cpus: 0.5, mem: 64, cmd: api2,
     autoscale: {min: 2, max: 4, target_cpu: 0.5, interval: 1s, scale_down_window: 5s}}
)",
        10);
  EXPECT_EQ(registry_->current("/api")->spec.instances, 2);
  EXPECT_EQ(registry_->current("/api")->version, 2);
}

}  // namespace
}  // namespace agora::service
