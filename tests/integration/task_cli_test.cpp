// `agora kill` and `agora logs NAME` against a real master and agent, with
// tasks launched by `agora run` processes (each its own framework).

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

class TaskCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.startMaster(masterFlags_);
    cluster_.startAgent();
  }

  std::vector<std::string> agoraArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {binPath("agora"), "--master", cluster_.masterHttp()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  // Runs `agora --master M ARGS...` to completion; returns the exit code.
  int agora(const std::vector<std::string>& args, std::string* out, std::string* err) {
    return cluster_.runCommand(agoraArgv(args), out, err);
  }
  // Starts `agora run --name NAME -- sh -c SCRIPT` in the background (killed
  // at teardown) and returns the ID of its task once the task is RUNNING.
  std::string runInBackground(const std::string& name, const std::string& script) {
    SpawnOptions options;
    options.argv = agoraArgv({"run", "--scheduler-endpoint", cluster_.masterEndpoint(), "--name",
                              name, "--", "sh", "-c", script});
    options.stdoutPath = cluster_.root() + "/run" + std::to_string(runs_.size()) + ".out";
    options.stderrPath = options.stdoutPath + ".err";
    auto pid = spawn(options);
    EXPECT_TRUE(pid.has_value());
    if (!pid) return "";
    runs_.push_back(std::make_unique<Child>("agora run", *pid));
    std::string id;
    bool running = eventually([&] {
      auto tasks = cluster_.masterGet("/api/v1/tasks");
      if (!tasks.is_object()) return false;
      for (const auto& task : tasks.value("tasks", nlohmann::json::array())) {
        if (task.value("name", "") == name && task.value("state", "") == "TASK_RUNNING" &&
            !known_.count(task.value("id", ""))) {
          id = task.value("id", "");
          known_.insert(id);
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(running) << "no new RUNNING task named " << name;
    return id;
  }

  std::vector<std::string> masterFlags_;
  Cluster cluster_;
  std::vector<std::unique_ptr<Child>> runs_;
  std::set<std::string> known_;
};

// An agent that stops answering for seconds (stopped, overloaded, a network
// hiccup) without the master declaring it lost.
class TaskCliOutageTest : public TaskCliTest {
 protected:
  TaskCliOutageTest() { masterFlags_ = {"--agent-max-missed-pings", "100"}; }
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(TaskCliTest, KillEndsATaskOfAnyFrameworkAndItsSchedulerSeesKilled) {
  std::string id = runInBackground("sleeper", "echo started; sleep 60");
  ASSERT_FALSE(id.empty());
  std::string out, err;
  ASSERT_EQ(agora({"kill", id}, &out, &err), 0) << err;
  EXPECT_NE(out.find("task " + id + ": TASK_KILLED"), std::string::npos) << out;
  EXPECT_EQ(cluster_.task(id).value("state", ""), "TASK_KILLED");
  // `agora run` (the task's framework) got TASK_KILLED: it exits 143.
  EXPECT_EQ(runs_.back()->wait(std::chrono::seconds(15)), 143);

  // Refusals say what is wrong and exit 1.
  EXPECT_EQ(agora({"kill", id}, &out, &err), 1);
  EXPECT_NE(err.find("task '" + id + "' has already ended (TASK_KILLED)"), std::string::npos)
      << err;
  EXPECT_EQ(agora({"kill", "no-such-task"}, &out, &err), 1);
  EXPECT_NE(err.find("no task 'no-such-task' is known to the master"), std::string::npos) << err;
  auto response =
      http::request("POST", "http://" + cluster_.masterHttp() + "/api/v1/tasks/no-such-task/kill",
                    "", std::chrono::seconds(5));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 404);
}

TEST_F(TaskCliTest, LogsTakesANameOnlyOneTaskHas) {
  std::string first = runInBackground("greeter", "echo hello-from-greeter; sleep 60");
  ASSERT_FALSE(first.empty());
  std::string out, err;
  ASSERT_TRUE(eventually([&] {
    return agora({"logs", "greeter"}, &out, &err) == 0 &&
           out.find("hello-from-greeter") != std::string::npos;
  })) << out
      << err;

  // A second task of that name: the name is ambiguous, the IDs are listed.
  std::string second = runInBackground("greeter", "echo again; sleep 60");
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(agora({"logs", "greeter"}, &out, &err), 1);
  EXPECT_NE(err.find("2 tasks are named 'greeter'"), std::string::npos) << err;
  EXPECT_NE(err.find(first), std::string::npos) << err;
  EXPECT_NE(err.find(second), std::string::npos) << err;
  // An ID still works.
  EXPECT_EQ(agora({"logs", second}, &out, &err), 0) << err;
  // kill takes a name too, when one running task has it.
  EXPECT_EQ(agora({"kill", "greeter"}, &out, &err), 1);
  EXPECT_NE(err.find("2 tasks are named 'greeter'"), std::string::npos) << err;
  ASSERT_EQ(agora({"kill", first}, &out, &err), 0) << err;
  ASSERT_EQ(agora({"kill", "greeter"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("task " + second + ": TASK_KILLED"), std::string::npos) << out;
}

TEST_F(TaskCliTest, NegativeWeightGetsTheMastersRangeError) {
  std::string out, err;
  EXPECT_EQ(agora({"weight", "set", "eng", "-1"}, &out, &err), 1);
  EXPECT_EQ(err, "agora: weight: must be a number in (0, 1e6]\n");
}

TEST_F(TaskCliOutageTest, LogsFollowRidesOutAnAgentThatStopsAnsweringForAWhile) {
  std::string id = runInBackground(
      "counter", "i=0; while [ $i -lt 60 ]; do echo line-$i; i=$((i+1)); sleep 0.1; done");
  ASSERT_FALSE(id.empty());
  std::string sandbox = cluster_.task(id).value("sandbox", "");
  ASSERT_FALSE(sandbox.empty());
  SpawnOptions options;
  options.argv = agoraArgv({"logs", "-f", id});
  options.stdoutPath = cluster_.root() + "/follow.out";
  options.stderrPath = cluster_.root() + "/follow.err";
  auto pid = spawn(options);
  ASSERT_TRUE(pid.has_value());
  Child follower("agora logs -f", *pid);
  ASSERT_TRUE(eventually([&] {
    return readFile(options.stdoutPath).find("line-5\n") != std::string::npos;
  }));
  // The agent stops answering while the task goes on writing.
  cluster_.agent(0).signal(SIGSTOP);
  bool wrote = eventually([&] {
    return readFile(sandbox + "/stdout").find("line-30\n") != std::string::npos;
  });
  cluster_.agent(0).signal(SIGCONT);
  ASSERT_TRUE(wrote);
  ASSERT_EQ(follower.wait(std::chrono::seconds(60)), 0) << readFile(options.stderrPath);
  std::string expected;
  for (int i = 0; i < 60; ++i) expected += "line-" + std::to_string(i) + "\n";
  EXPECT_EQ(readFile(options.stdoutPath), expected) << readFile(options.stderrPath);
}

}  // namespace
}  // namespace agora::testing
