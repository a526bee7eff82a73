#include "frameworks/service/app_spec.hpp"

#include <gtest/gtest.h>

#include "frameworks/service/app_json.hpp"

namespace agora::service {
namespace {

const char* kWeb = R"(id: /shop/web
instances: 3
cpus: 0.1
mem: 32
cmd: "busybox httpd -f -p $PORT_HTTP -h /srv"
env: {GREETING: hello}
ports: [{name: http}]
health_checks:
  - {http: {port: http, path: /}, grace: 5s, interval: 1s, timeout: 1s, max_failures: 3}
readiness: {http: {port: http, path: /ready}}
constraints: [[hostname, UNIQUE]]
upgrade: {min_health: 1.0, max_surge: 1}
canary: {instances: 1, auto_promote_after: 30s}
backoff: {initial: 1s, factor: 1.15, max: 300s}
kill_grace: 3s
autoscale: {min: 2, max: 20, target_cpu: 0.6}
secrets: {DB_PASSWORD: {env: DB_PASSWORD}, TLS_KEY: {file: tls.key}}
environments: {prod: {instances: 10, env: {MODE: prod, GREETING: hi}}}
)";

// The error of parsing `text` (empty when it parses).
std::string errorOf(const std::string& text, const std::vector<std::string>& known = {}) {
  auto apps = parseApps(text, "app.yaml", known);
  return apps ? "" : apps.error().message;
}

TEST(AppSpecTest, ReadsEveryFieldOfTheContract) {
  auto apps = parseApps(kWeb, "web.yaml");
  ASSERT_TRUE(apps) << apps.error().message;
  ASSERT_EQ(apps->size(), 1u);
  const AppSpec& app = apps->front();
  EXPECT_EQ(app.id, "/shop/web");
  EXPECT_EQ(app.group(), "/shop");
  EXPECT_EQ(app.instances, 3);
  EXPECT_DOUBLE_EQ(app.memMb, 32);
  EXPECT_EQ(app.env, (KeyValues{{"GREETING", "hello"}}));
  ASSERT_EQ(app.ports.size(), 1u);
  ASSERT_EQ(app.healthChecks.size(), 1u);
  EXPECT_EQ(app.healthChecks[0].kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(app.healthChecks[0].interval, seconds(1));
  auto tcp = parseApps("{id: /a, cmd: x, ports: [{name: db}], health_checks: [{tcp: {port: db}}]}",
                       "a.yaml");
  ASSERT_TRUE(tcp) << tcp.error().message;
  EXPECT_EQ(tcp->front().healthChecks[0].kind, HealthCheck::Kind::kTcp);
  auto command =
      parseApps("{id: /a, cmd: x, health_checks: [{command: 'test -f /tmp/ok'}]}", "a.yaml");
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_EQ(command->front().healthChecks[0].command, "test -f /tmp/ok");
  auto two = parseApps("{id: /a, cmd: x, health_checks: [{command: a}, {command: b}]}", "a.yaml");
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message.find("one health check per app"), std::string::npos);
  ASSERT_TRUE(app.readiness);
  EXPECT_EQ(app.readiness->path, "/ready");
  ASSERT_EQ(app.constraints.size(), 1u);
  EXPECT_EQ(app.constraints[0].text(), "hostname:UNIQUE");
  ASSERT_TRUE(app.canary && app.canary->autoPromoteAfter);
  EXPECT_EQ(*app.canary->autoPromoteAfter, seconds(30));
  EXPECT_DOUBLE_EQ(app.backoff.factor, 1.15);
  ASSERT_TRUE(app.autoscale);
  EXPECT_EQ(app.autoscale->max, 20);
  ASSERT_EQ(app.secrets.size(), 2u);
  EXPECT_EQ(app.secrets[1].file, "tls.key");

  auto prod = withEnvironment(app, "prod");
  ASSERT_TRUE(prod);
  EXPECT_EQ(prod->instances, 10);
  EXPECT_EQ(prod->env, (KeyValues{{"GREETING", "hi"}, {"MODE", "prod"}}));
  auto staging = withEnvironment(app, "staging");
  ASSERT_FALSE(staging);
  EXPECT_NE(staging.error().message.find("it has: prod"), std::string::npos);
}

TEST(AppSpecTest, AGroupFileHoldsSeveralAppsWithDependencies) {
  auto apps = parseApps(R"(apps:
  - {id: /shop/db, cmd: "sleep 100"}
  - {id: /shop/web, cmd: "sleep 100", dependencies: [/shop/db, /ops/log]}
)",
                        "group.yaml", {"/ops/log"});
  ASSERT_TRUE(apps) << apps.error().message;
  EXPECT_EQ(apps->size(), 2u);
  EXPECT_EQ(apps->at(1).dependencies, (std::vector<std::string>{"/shop/db", "/ops/log"}));
}

TEST(AppSpecTest, BadSpecsAreRefusedWithWhereAndWhy) {
  struct Case {
    std::string text, expected;
  };
  std::vector<Case> cases = {
      {"id: /a\ncmd: x\ninstanses: 3\n", "app.yaml:3:1: instanses: unknown field"},
      {"id: /a\ncmd: x\ninstances: many\n", "app.yaml:3:12: instances: expected"},
      {"id: /a\ncmd: x\ninstances: -1\n", "instances: must be between 0 and 100000"},
      {"id: /a\ncmd: x\ninstances: 1000000000\n", "instances: must be between 0 and 100000"},
      {"id: /a\ncmd: x\ncpus: 0\n", "cpus: must be between"},
      {"id: /a\ncmd: x\nmem: 1P\n", "mem:"},
      {"id: shop\ncmd: x\n", "must be a path like /shop/web"},
      {"id: /Shop/Web\ncmd: x\n", "is not a path segment"},
      {"id: /a\n", "needs something to run"},
      {"id: /a\ncmd: x\nargs: [y]\n", "give cmd or args, not both"},
      {"id: /a\ncmd: x\nconstraints: [[hostname, UNIQ]]\n", "unknown operator 'UNIQ'"},
      {"id: /a\ncmd: x\nports: [{name: http}, {name: http}]\n", "named twice"},
      {"id: /a\ncmd: x\nports: [{name: HTTP}]\n", "lower-case letters"},
      {"id: /a\ncmd: x\nhealth_checks: [{http: {port: web}}]\n",
       "'web' is not one of the app's ports"},
      {"id: /a\ncmd: x\nhealth_checks: [{command: ok, tcp: {port: p}}]\n", "exactly one of"},
      {"id: /a\ncmd: x\nhealth_checks: [{command: ok, interval: 1s, timeout: 5s}]\n",
       "timeout: must be between"},
      {"id: /a\ncmd: x\nhealth_checks: [{command: ok, interval: often}]\n", "expected a duration"},
      {"id: /a\ncmd: x\nupgrade: {min_health: 1, max_surge: 0}\n", "leaves no room"},
      {"id: /a\ncmd: x\nupgrade: {min_health: 1.5}\n", "min_health: must be between 0 and 1"},
      {"id: /a\ncmd: x\ninstances: 2\ncanary: {instances: 3}\n", "the app's instances"},
      {"id: /a\ncmd: x\nbackoff: {initial: 10s, max: 1s}\n", "max: must be between"},
      {"id: /a\ncmd: x\nautoscale: {min: 5, max: 2}\n", "at least min"},
      {"id: /a\ncmd: x\nsecrets: {K: {file: ../../etc/shadow}}\n",
       "3:14: secrets.K: secret 'K': file '../../etc/shadow' must be a relative path"},
      {"id: /a\ncmd: x\nsecrets: {K: {}}\n", "give exactly one of env and file"},
      {"id: /a\ncmd: x\nsecrets: {K: {env: AGORA_TASK_ID}}\n", "set by the agent"},
      {"id: /a\ncmd: x\nsecrets: {K: {env: A}, L: {env: A}}\n",
       "secrets: secret 'L': another secret already sets A"},
      {"id: /a\ncmd: x\nautoscale: {min: 1, max: 2, interval: 10ms}\n", "interval"},
      {"id: /a\ncmd: x\nenv: {1BAD: x}\n", "is not a variable name"},
      {"id: /a\ncmd: x\ndependencies: [/a]\n", "cannot depend on itself"},
      {"id: /a\ncmd: x\ndependencies: [/b]\n", "dependency /b is neither in this file"},
      {"apps:\n  - {id: /a, cmd: x}\n  - {id: /a, cmd: y}\n",
       "app.yaml:3:10: apps[1].id: app /a is in this file twice"},
      {"apps:\n  - {id: /a, cmd: x, dependencies: [/b]}\n  - {id: /b, cmd: y, dependencies: "
       "[/a]}\n",
       "dependencies form a cycle: /a -> /b -> /a"},
      {"apps: []\n", "no apps"},
      {"id: /a\ncmd: x\ninstances: 2\ninstances: 3\n", "app.yaml:4:1: instances: given twice"},
      {"id: /a\ncmd: x\nenv: {A: 1, A: 2}\n", "env.A: given twice"},
      {"id: /a\ncmd: [x\n", "app.yaml:3:1: end of sequence flow not found"},
  };
  for (const Case& c : cases) {
    std::string error = errorOf(c.text);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "spec:\n"
        << c.text << "error: " << error << "\nexpected: " << c.expected;
  }
}

TEST(AppSpecTest, ReadinessMayBeHttpTcpOrACommandAndNeverKills) {
  auto apps =
      parseApps("id: /a\ncmd: x\nports: [{name: pg}]\nreadiness: {tcp: {port: pg}, interval: 2s}\n",
                "app.yaml");
  ASSERT_TRUE(apps) << apps.error().message;
  const HealthCheck& tcp = *apps->front().readiness;
  EXPECT_EQ(tcp.kind, HealthCheck::Kind::kTcp);
  EXPECT_EQ(tcp.port, "pg");
  EXPECT_EQ(tcp.interval, seconds(2));
  EXPECT_EQ(tcp.timeout, seconds(1));
  EXPECT_EQ(tcp.grace, Duration::zero());
  EXPECT_EQ(tcp.maxFailures, 1);
  apps = parseApps("id: /a\ncmd: x\nreadiness: {command: test -f ready}\n", "app.yaml");
  ASSERT_TRUE(apps) << apps.error().message;
  EXPECT_EQ(apps->front().readiness->command, "test -f ready");
  // Round trip through the stored JSON.
  auto again = parseApps(appJson(apps->front()).dump(), "stored");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->front().readiness->command, "test -f ready");
  auto graced = parseApps("id: /a\ncmd: x\nreadiness: {command: x, grace: 5s}\n", "app.yaml");
  ASSERT_FALSE(graced);
  EXPECT_NE(graced.error().message.find("grace: unknown field"), std::string::npos)
      << graced.error().message;
}

TEST(AppSpecTest, AppIdsArePaths) {
  EXPECT_TRUE(validateAppId("/web"));
  EXPECT_TRUE(validateAppId("/shop/web-2.blue"));
  for (const char* bad : {"", "/", "web", "/shop/", "/shop//web", "/shop/../web", "/a b"}) {
    EXPECT_FALSE(validateAppId(bad)) << bad;
  }
  AppSpec top;
  top.id = "/web";
  EXPECT_EQ(top.group(), "/");
}

TEST(AppJsonTest, AnAppAsJsonIsTheSameAppAgain) {
  auto apps = parseApps(std::string(kWeb) +
                            "constraints: [[hostname, UNIQUE], [rack, LIKE, 'r:[0-9]+'], "
                            "[zone, MAX_PER, '2']]\nlabels: {team: shop}\n",
                        "web.yaml");
  ASSERT_FALSE(apps) << "constraints given twice must be refused";
  apps = parseApps(kWeb, "web.yaml");
  ASSERT_TRUE(apps) << apps.error().message;
  AppSpec app = apps->front();
  app.constraints.push_back(*kit::parseConstraintText("rack:LIKE:r:[0-9]+"));
  app.constraints.push_back(*kit::parseConstraintText("zone:MAX_PER:2"));
  app.labels = {{"team", "shop"}};
  nlohmann::json json = appJson(app);
  auto again = parseApps(json.dump(), "stored");
  ASSERT_TRUE(again) << again.error().message << "\n" << json.dump(2);
  EXPECT_EQ(appJson(again->front()), json) << json.dump(2);
  // Secrets by reference only.
  EXPECT_EQ(json["secrets"]["DB_PASSWORD"], (nlohmann::json{{"env", "DB_PASSWORD"}}));
  // The smallest app reads back too (defaults written out).
  auto minimal = parseApps("{id: /a, args: [sleep, '10']}", "minimal");
  ASSERT_TRUE(minimal);
  auto minimalAgain = parseApps(appJson(minimal->front()).dump(), "stored");
  ASSERT_TRUE(minimalAgain) << minimalAgain.error().message;
  EXPECT_EQ(appJson(minimalAgain->front()), appJson(minimal->front()));
}

}  // namespace
}  // namespace agora::service
