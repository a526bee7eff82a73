// Master restarts with real processes: agora-master is SIGKILLed and started
// again on the same work dir while a real agent and scheduler keep running.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs `agora --master M ARGS...`; returns the exit code.
int agoraCli(Cluster& cluster, std::vector<std::string> args, std::string* out,
             std::string* err = nullptr) {
  std::vector<std::string> argv = {binPath("agora"), "--master", cluster.masterHttp()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string ignored;
  return cluster.runCommand(argv, out, err != nullptr ? err : &ignored);
}

class MasterRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.startMaster();
    cluster_.startAgent();
    agentId_ = onlyAgent().value("id", "");
    ASSERT_FALSE(agentId_.empty());
  }

  nlohmann::json onlyAgent() {
    auto agents = cluster_.masterGet("/api/v1/agents").value("agents", nlohmann::json::array());
    return agents.size() == 1 ? agents[0] : nlohmann::json();
  }
  nlohmann::json framework(const std::string& id) {
    auto all = cluster_.masterGet("/api/v1/frameworks").value("frameworks", nlohmann::json::array());
    for (const auto& f : all) {
      if (f.value("id", "") == id) return f;
    }
    return nullptr;
  }
  bool taskInState(const std::string& taskId, const std::string& state) {
    auto t = cluster_.task(taskId);
    return t.is_object() && t.value("state", "") == state;
  }
  // The agent's own view of the task's container: its task state, "" if none.
  std::string agentTaskState(const std::string& taskId) {
    auto response = http::get("http://" + cluster_.agentHttp(0) + "/api/v1/containers");
    if (!response || response->status != 200) return "unavailable";
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    for (const auto& c : json.value("containers", nlohmann::json::array())) {
      if (c.value("task_id", "") == taskId) return c.value("task_state", "");
    }
    return "";
  }
  std::unique_ptr<sdk::SchedulerDriver> startFramework(RecordingScheduler& scheduler,
                                                       double failoverTimeoutSec,
                                                       const std::string& webuiUrl = "") {
    auto launched = std::make_shared<std::atomic<bool>>(false);
    scheduler.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
      if (!launched->exchange(true)) {
        driver.launch(offer.id, {shellTask("sleeper", "sleep 120")}, 5);
      } else {
        driver.decline({offer.id}, 60);
      }
    });
    sdk::DriverOptions options;
    options.framework.name = "restart-test";
    options.framework.roles = {"*"};
    options.framework.failoverTimeoutSec = failoverTimeoutSec;
    options.framework.webuiUrl = webuiUrl;
    options.masterEndpoint = cluster_.masterEndpoint();
  options.curve = cluster_.schedulerKeys();
    options.curve = cluster_.schedulerKeys();
    auto driver = sdk::SchedulerDriver::create(scheduler, options);
    EXPECT_TRUE(driver.has_value());
    (*driver)->start();
    EXPECT_TRUE(scheduler.waitForState("sleeper", TaskState::RUNNING));
    return std::move(*driver);
  }
  void killMaster() {
    cluster_.master().signal(SIGKILL);
    ASSERT_GE(cluster_.master().wait(std::chrono::seconds(5)), 0);
  }
  std::string registryPath() const { return cluster_.root() + "/master/registry.db"; }
  std::string slurp(const std::string& path) const {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
  }
  // The one framework named `name` at the master, or null.
  nlohmann::json frameworkNamed(const std::string& name) {
    auto all = cluster_.masterGet("/api/v1/frameworks").value("frameworks", nlohmann::json::array());
    nlohmann::json found;
    for (const auto& f : all) {
      if (f.value("name", "") == name) found = f;
    }
    return found;
  }

  Cluster cluster_;
  std::string agentId_;
};

TEST_F(MasterRestartTest, TaskKeepsRunningAcrossAMasterSigkillAndCanBeKilledAfterwards) {
  RecordingScheduler scheduler;
  const std::string webuiUrl = "http://127.0.0.1:5060/ui";
  auto driver = startFramework(scheduler, 60, webuiUrl);
  std::string frameworkId = scheduler.frameworkId();
  EXPECT_EQ(framework(frameworkId).value("webui_url", ""), webuiUrl);

  killMaster();
  cluster_.startMaster();
  // The agent re-registers with its ID and the task is rebuilt from its report.
  ASSERT_TRUE(eventually([&] {
    auto agent = onlyAgent();
    return agent.is_object() && agent.value("id", "") == agentId_ &&
           agent.value("status", "") == "REGISTERED";
  }));
  ASSERT_TRUE(eventually([&] { return taskInState("sleeper", "TASK_RUNNING"); }));
  // The scheduler re-subscribes with its framework ID.
  ASSERT_TRUE(eventually([&] {
    auto f = framework(frameworkId);
    return f.is_object() && f.value("connected", false);
  }));
  EXPECT_EQ(scheduler.frameworkId(), frameworkId);
  EXPECT_EQ(agentTaskState("sleeper"), "TASK_RUNNING");
  // Its advertised API came back from the registry; `agora frameworks` lists it.
  EXPECT_EQ(framework(frameworkId).value("webui_url", ""), webuiUrl);
  std::string out;
  ASSERT_EQ(agoraCli(cluster_, {"frameworks"}, &out), 0);
  EXPECT_NE(out.find("URL"), std::string::npos) << out;
  EXPECT_NE(out.find(webuiUrl), std::string::npos) << out;

  driver->kill("sleeper", agentId_);
  EXPECT_TRUE(scheduler.waitForState("sleeper", TaskState::KILLED));
  EXPECT_TRUE(eventually([&] { return taskInState("sleeper", "TASK_KILLED"); }));
  driver->stop();
}

// `agora run` (failover timeout 0) streams a task while the master is
// SIGKILLed and started again: it re-subscribes, keeps streaming, and exits
// with the task's code.
TEST_F(MasterRestartTest, AgoraRunKeepsStreamingAcrossAMasterSigkillAndReturnsTheTaskCode) {
  std::string out = cluster_.root() + "/run.out", err = cluster_.root() + "/run.err";
  SpawnOptions options;
  options.argv = {binPath("agora"), "run", "--master", cluster_.masterHttp(),
                  "--scheduler-endpoint", cluster_.masterEndpoint(), "--timeout", "20", "--",
                  "echo start; while [ ! -e release ]; do sleep 0.1; done; echo end; exit 3"};
  options.stdoutPath = out;
  options.stderrPath = err;
  options.dieWithParent = true;
  auto pid = spawn(options);
  ASSERT_TRUE(pid) << pid.error().message;
  Child run("agora run", *pid);
  ASSERT_TRUE(eventually([&] { return slurp(out).find("start\n") != std::string::npos; }))
      << slurp(out) << slurp(err);
  nlohmann::json before = frameworkNamed("agora-run");
  ASSERT_TRUE(before.is_object());

  killMaster();
  cluster_.startMaster();
  // The same framework subscribes again with the new master and keeps its task.
  ASSERT_TRUE(eventually([&] {
    auto f = frameworkNamed("agora-run");
    return f.is_object() && f.value("connected", false);
  })) << slurp(err) << "\n" << slurp(cluster_.root() + "/master.err");
  EXPECT_EQ(frameworkNamed("agora-run").value("id", ""), before.value("id", ""));
  ASSERT_TRUE(run.running()) << slurp(err);

  // In its sandbox, its working directory (a namespaced task has a /tmp of its own).
  // The agent may re-register after the framework re-subscribed.
  nlohmann::json tasks;
  ASSERT_TRUE(eventually([&] {
    tasks = cluster_.masterGet("/api/v1/tasks");
    return tasks["tasks"].size() == 1u;
  })) << tasks.dump();
  std::string sandbox = tasks["tasks"][0].value("sandbox", "");
  ASSERT_FALSE(sandbox.empty()) << tasks.dump();
  std::ofstream(sandbox + "/release") << "go\n";
  int code = run.wait(std::chrono::seconds(30));
  EXPECT_EQ(code, 3) << slurp(out) << slurp(err);
  EXPECT_EQ(slurp(out), "start\nend\n") << slurp(err);
  EXPECT_EQ(slurp(err).find("refused"), std::string::npos) << slurp(err);
}

TEST_F(MasterRestartTest, WeightsAndQuotaSurviveAMasterSigkill) {
  std::string base = "http://" + cluster_.masterHttp();
  auto weight = http::request("POST", base + "/api/v1/weights", R"({"role":"eng","weight":3})");
  ASSERT_TRUE(weight && weight->status == 200) << (weight ? weight->body : weight.error().message);
  auto quota = http::request("POST", base + "/api/v1/quota",
                             R"({"role":"eng","guarantee":"cpus:1","limit":"cpus:2;mem:512"})");
  ASSERT_TRUE(quota && quota->status == 200) << (quota ? quota->body : quota.error().message);

  killMaster();
  cluster_.startMaster();
  nlohmann::json eng;
  for (const auto& role : cluster_.masterGet("/api/v1/roles").value("roles", nlohmann::json::array())) {
    if (role.value("name", "") == "eng") eng = role;
  }
  ASSERT_TRUE(eng.is_object()) << cluster_.masterGet("/api/v1/roles").dump();
  EXPECT_EQ(eng.value("weight", 0.0), 3.0);
  EXPECT_EQ(eng["quota"]["guarantee"].dump(), R"({"cpus":1.0})");
  EXPECT_EQ(eng["quota"]["limit"].dump(), R"({"cpus":2.0,"mem":512.0})");
}

TEST_F(MasterRestartTest, FailoverDeadlinePassingWhileTheMasterIsDownKillsTheTask) {
  constexpr double kFailoverSec = 8;
  RecordingScheduler scheduler;
  auto driver = startFramework(scheduler, kFailoverSec);
  std::string frameworkId = scheduler.frameworkId();
  driver->stop(/*failover=*/true);  // the scheduler goes away without tearing down
  double deadline = 0;
  ASSERT_TRUE(eventually([&] {
    auto f = framework(frameworkId);
    deadline = f.is_object() ? f.value("failover_deadline", 0.0) : 0;
    return deadline > 0;
  }));
  killMaster();
  // Wait out the deadline while no master runs.
  ASSERT_TRUE(eventually([&] { return wallNow() > deadline + 0.2; },
                         std::chrono::seconds(static_cast<int>(kFailoverSec) + 5)));
  EXPECT_EQ(agentTaskState("sleeper"), "TASK_RUNNING");

  double restartedAt = wallNow();
  cluster_.startMaster();
  // Killed as soon as the agent re-registers, long before a fresh timeout
  // of kFailoverSec from the restart would have run out.
  ASSERT_TRUE(eventually([&] { return agentTaskState("sleeper") != "TASK_RUNNING"; },
                         std::chrono::seconds(15)));
  double killedAfter = wallNow() - restartedAt;
  EXPECT_LT(killedAfter, kFailoverSec - 2) << "the failover timeout restarted with the master";
  std::string state = agentTaskState("sleeper");
  EXPECT_TRUE(state.empty() || state == "TASK_KILLED") << state;
  EXPECT_TRUE(framework(frameworkId).is_null());
}

TEST_F(MasterRestartTest, CorruptRegistryStopsTheMasterUnlessAFreshStartIsForced) {
  cluster_.master().signal(SIGTERM);
  ASSERT_EQ(cluster_.master().wait(std::chrono::seconds(10)), 0);
  auto size = std::filesystem::file_size(registryPath());
  ASSERT_GT(size, 0u);
  std::filesystem::resize_file(registryPath(), size / 2 + 100);
  {
    std::fstream file(registryPath(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);  // inside the header page
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  std::string out, err;
  int code = cluster_.runCommand(
      {binPath("agora-master"), "--work-dir", cluster_.root() + "/master", "--http",
       "127.0.0.1:0", "--listen", "tcp://127.0.0.1:*"},
      &out, &err, std::chrono::seconds(20));
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find(registryPath()), std::string::npos) << err;
  EXPECT_NE(err.find("--registry-fresh"), std::string::npos) << err;

  cluster_.startMaster({"--registry-fresh"});
  bool movedAside = false;
  for (const auto& entry : std::filesystem::directory_iterator(cluster_.root() + "/master")) {
    movedAside |= entry.path().filename().string().rfind("registry.db.bad-", 0) == 0;
  }
  EXPECT_TRUE(movedAside);
  // The agent, unknown to the fresh registry, is admitted again with its ID.
  EXPECT_TRUE(eventually([&] {
    auto agent = onlyAgent();
    return agent.is_object() && agent.value("id", "") == agentId_;
  }));
}

TEST_F(MasterRestartTest, CompletedTasksWithExitCodesAndHistoriesSurviveAMasterAndAgentSigkill) {
  RecordingScheduler scheduler;
  auto launched = std::make_shared<std::atomic<bool>>(false);
  scheduler.setOfferPolicy([launched](sdk::SchedulerDriver& driver, const Offer& offer) {
    if (!launched->exchange(true)) {
      driver.launch(offer.id,
                    {shellTask("done", "true"), shellTask("broken", "exit 3"),
                     shellTask("stopped", "sleep 120")},
                    5);
    } else {
      driver.decline({offer.id}, 60);
    }
  });
  sdk::DriverOptions options;
  options.framework.name = "history-test";
  options.framework.roles = {"*"};
  options.framework.failoverTimeoutSec = 60;
  options.masterEndpoint = cluster_.masterEndpoint();
  options.curve = cluster_.schedulerKeys();
  auto driver = sdk::SchedulerDriver::create(scheduler, options);
  ASSERT_TRUE(driver.has_value());
  (*driver)->start();
  ASSERT_TRUE(scheduler.waitForState("done", TaskState::FINISHED));
  ASSERT_TRUE(scheduler.waitForState("broken", TaskState::FAILED));
  ASSERT_TRUE(scheduler.waitForState("stopped", TaskState::RUNNING));
  (*driver)->kill("stopped", agentId_);
  ASSERT_TRUE(scheduler.waitForState("stopped", TaskState::KILLED));
  // The agent forgets a task once its terminal update is acknowledged, and
  // the master forwards that acknowledgement only once the task's record is
  // durable: from here on, the registry alone must know them.
  ASSERT_TRUE(eventually([&] {
    for (const char* id : {"done", "broken", "stopped"}) {
      if (!agentTaskState(id).empty()) return false;
    }
    return true;
  }));
  (*driver)->stop(/*failover=*/true);
  killMaster();
  cluster_.agent(0).signal(SIGKILL);
  ASSERT_GE(cluster_.agent(0).wait(std::chrono::seconds(5)), 0);
  cluster_.startMaster();

  std::map<std::string, std::pair<std::string, int>> expected = {
      {"done", {"TASK_FINISHED", 0}}, {"broken", {"TASK_FAILED", 3}},
      {"stopped", {"TASK_KILLED", 128 + SIGTERM}}};
  for (const auto& [id, want] : expected) {
    nlohmann::json task = cluster_.task(id);
    ASSERT_TRUE(task.is_object()) << id << ": " << cluster_.masterGet("/api/v1/tasks").dump();
    EXPECT_EQ(task.value("state", ""), want.first) << id;
    EXPECT_EQ(task.value("exit_code", -1), want.second) << id;
    EXPECT_EQ(task.value("agent_id", ""), agentId_) << id;
    EXPECT_NE(task.value("sandbox", "").find(id), std::string::npos) << task.dump();
    auto statuses = task.value("statuses", nlohmann::json::array());
    ASSERT_GE(statuses.size(), 3u) << task.dump();
    EXPECT_EQ(statuses.front().value("state", ""), "TASK_STAGING") << id;
    EXPECT_EQ(statuses.back().value("state", ""), want.first) << id;
  }

  std::string out, err;
  ASSERT_EQ(agoraCli(cluster_, {"tasks"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("AGE"), std::string::npos) << out;
  for (const char* line : {"FINISHED  0 ", "FAILED    3 ", "KILLED    143 "}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " in\n" << out;
  }
  ASSERT_EQ(agoraCli(cluster_, {"tasks", "--state", "killed,Failed"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("stopped"), std::string::npos) << out;
  EXPECT_NE(out.find("broken"), std::string::npos) << out;
  EXPECT_EQ(out.find("done"), std::string::npos) << out;

  ASSERT_EQ(agoraCli(cluster_, {"task", "stopped"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("State:      KILLED (REASON_COMMAND_EXITED), exit code 143"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Agent:      " + agentId_), std::string::npos) << out;
  EXPECT_NE(out.find("Sandbox:    /"), std::string::npos) << out;
  for (const char* state : {"STAGING", "RUNNING", "KILLED"}) {
    EXPECT_NE(out.find(std::string("UTC  ") + state), std::string::npos) << state << "\n" << out;
  }
  EXPECT_EQ(agoraCli(cluster_, {"task", "no-such-task"}, &out, &err), 1);
  EXPECT_NE(err.find("knows no task 'no-such-task'"), std::string::npos) << err;

  auto bogus = http::get("http://" + cluster_.masterHttp() + "/api/v1/tasks?state=bogus");
  ASSERT_TRUE(bogus) << bogus.error().message;
  EXPECT_EQ(bogus->status, 400);
  EXPECT_NE(bogus->body.find("unknown task state 'bogus'"), std::string::npos) << bogus->body;
  EXPECT_NE(bogus->body.find("TASK_FINISHED"), std::string::npos) << bogus->body;
  EXPECT_NE(agoraCli(cluster_, {"tasks", "--state", "bogus"}, &out, &err), 0);
  EXPECT_NE(err.find("unknown task state 'bogus'"), std::string::npos) << err;
}

}  // namespace
}  // namespace agora::testing
