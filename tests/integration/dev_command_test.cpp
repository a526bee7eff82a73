// `agora dev` as a person runs it: stopping it (Ctrl-C, SIGTERM, a closed
// terminal, its parent dying) stops the tasks it runs; after a kill -9 the
// next start, or `agora dev --clean`, kills the tasks left behind.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/client_config.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

bool live(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

std::string slurp(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

class DevCommandTest : public ::testing::Test {
 protected:
  DevCommandTest()
      : workDir_(cluster_.root() + "/dev"),
        masterHttp_("127.0.0.1:" + std::to_string(freePort())),
        agentHttp_("127.0.0.1:" + std::to_string(freePort())),
        listen_("tcp://127.0.0.1:" + std::to_string(freePort())) {}

  std::vector<std::string> devArgv(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {binPath("agora"), "dev",         "--work-dir", workDir_,
                                     "--master-http",  masterHttp_,   "--agent-http", agentHttp_,
                                     "--listen",       listen_,       "--resources",
                                     "cpus:2;mem:1024"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  // Starts `agora dev`; returns once its agent is registered.
  std::unique_ptr<Child> startDev(const std::string& out, std::vector<std::string> extra = {}) {
    SpawnOptions options;
    options.argv = devArgv(std::move(extra));
    options.stdoutPath = out;
    options.stderrPath = out + ".err";
    auto pid = spawn(options);
    EXPECT_TRUE(pid) << (pid ? "" : pid.error().message);
    if (!pid) return nullptr;
    auto dev = std::make_unique<Child>("agora dev", *pid);
    EXPECT_TRUE(waitUp(out)) << slurp(out) << slurp(out + ".err");
    useDevCredentials();
    return dev;
  }
  // This process and the `agora` commands it starts speak to the dev
  // cluster with the token and keys `agora dev` made.
  void useDevCredentials() {
    std::string path = workDir_ + "/security/config";
    auto config = readClientConfig(path);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_FALSE(config->token.empty());
    http::setDefaultCredentials({{}, config->token});
    setenv("AGORA_CONFIG", path.c_str(), 1);
  }
  bool waitUp(const std::string& out) {
    return eventually([&] { return slurp(out).find("cluster up") != std::string::npos; },
                      std::chrono::seconds(30));
  }
  // `agora run` of a long task; the (host) pid of its process once it runs.
  // The task may have its own pid namespace: it is found by its command line.
  // `detach`: its framework has a long failover timeout, so only the dev
  // cluster's cleanup, not the master, ends it once the cluster is gone.
  pid_t startTask(std::unique_ptr<Child>& run, bool detach = false) {
    std::string out = cluster_.root() + "/task" + std::to_string(++tasks_) + ".out";
    std::string duration = std::to_string(3000 + getpid() % 1000) + "." + std::to_string(tasks_);
    SpawnOptions options;
    options.argv = {binPath("agora"), "--master", masterHttp_, "run"};
    if (detach) options.argv.push_back("--detach");
    options.argv.insert(options.argv.end(), {"--", "sleep", duration});
    options.stdoutPath = out;
    options.stderrPath = out + ".err";
    auto pid = spawn(options);
    if (!pid) return 0;
    run = std::make_unique<Child>("agora run", *pid);
    pid_t task = 0;
    eventually([&] { return (task = findProcess("sleep", duration)) > 0; });
    // The agent lists it (stopping names the tasks the agent lists).
    eventually([&] {
      auto r = http::get(agentHttp_ + "/api/v1/containers", std::chrono::seconds(1));
      if (!r) return false;
      auto body = nlohmann::json::parse(r->body, nullptr, false);
      return body.is_object() && body["containers"].size() == static_cast<size_t>(tasks_) &&
             body["containers"].back().value("executor_pid", 0) > 0;
    });
    return task;
  }
  // Starts `agora dev` with a detached task, then SIGKILLs it: its master
  // and agent die with it (their parent-death signal), but an executor
  // outlives its agent by design, so the task is left running. Returns the
  // task's pid; 0 (with a failure recorded) if any of that did not happen.
  pid_t killDevLeavingATask(std::unique_ptr<Child>& run) {
    auto dev = startDev(cluster_.root() + "/dev-killed.out");
    if (!dev) {
      ADD_FAILURE() << "agora dev did not start";
      return 0;
    }
    pid_t task = startTask(run, /*detach=*/true);
    dev->signal(SIGKILL);
    dev->wait(std::chrono::seconds(5));
    bool down = eventually([&] {
      return !http::get(masterHttp_ + "/health", std::chrono::seconds(1)) &&
             !http::get(agentHttp_ + "/health", std::chrono::seconds(1));
    });
    if (task <= 0 || !down || !live(task)) {
      ADD_FAILURE() << "task " << task << (down ? " not left running" : ": the cluster is still up");
      return 0;
    }
    return task;
  }
  static pid_t findProcess(const std::string& argv0, const std::string& argv1) {
    std::string want = argv0 + std::string(1, '\0') + argv1 + std::string(1, '\0');
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = slurp(entry.path().string() + "/cmdline");
      if (cmdline == want && live(std::stoi(name))) return std::stoi(name);
    }
    return 0;
  }

  Cluster cluster_;
  std::string workDir_, masterHttp_, agentHttp_, listen_;
  int tasks_ = 0;
};

class DevStopSignalTest : public DevCommandTest, public ::testing::WithParamInterface<int> {};

TEST_P(DevStopSignalTest, StoppingTheClusterStopsItsTasks) {
  std::string out = cluster_.root() + "/dev.out";
  auto dev = startDev(out);
  ASSERT_TRUE(dev);
  std::unique_ptr<Child> run;
  pid_t task = startTask(run);
  ASSERT_GT(task, 0);

  dev->signal(GetParam());
  EXPECT_EQ(dev->wait(std::chrono::seconds(30)), 0) << slurp(out + ".err");
  EXPECT_FALSE(live(task)) << "the task outlived `agora dev`";
  std::string said = slurp(out);
  EXPECT_NE(said.find("agora dev: stopped 1 task: run-"), std::string::npos) << said;
  EXPECT_NE(said.find("agora dev: stopped\n"), std::string::npos) << said;
  // The task's end reached its framework before the cluster went (the CLI
  // may then spend up to 15 s trying to read the rest of its output from the
  // stopped agent before saying it was cut).
  EXPECT_NE(run->wait(std::chrono::seconds(30)), -1);
}

INSTANTIATE_TEST_SUITE_P(Signals, DevStopSignalTest, ::testing::Values(SIGINT, SIGTERM, SIGHUP));

TEST_F(DevCommandTest, ParentDyingStopsTheClusterAndItsTasks) {
  std::string out = cluster_.root() + "/dev.out", devPid = cluster_.root() + "/dev.pid";
  std::string command;
  for (const auto& word : devArgv()) command += "'" + word + "' ";
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c",
                  command + "> " + out + " 2>&1 & echo $! > " + devPid + "; wait"};
  auto shell = spawn(options);
  ASSERT_TRUE(shell);
  Child parent("sh", *shell);
  ASSERT_TRUE(waitUp(out)) << slurp(out);
  useDevCredentials();
  pid_t dev = 0;
  std::ifstream(devPid) >> dev;
  ASSERT_GT(dev, 0);
  std::unique_ptr<Child> run;
  pid_t task = startTask(run);
  ASSERT_GT(task, 0);

  parent.signal(SIGKILL);
  parent.wait(std::chrono::seconds(5));
  EXPECT_TRUE(eventually([&] { return !live(task) && !live(dev); }, std::chrono::seconds(30)))
      << slurp(out);
  EXPECT_NE(slurp(out).find("stopped 1 task: run-"), std::string::npos) << slurp(out);
}

TEST_F(DevCommandTest, KilledClusterIsCleanedUpByTheNextStart) {
  std::unique_ptr<Child> run;
  pid_t task = killDevLeavingATask(run);
  ASSERT_GT(task, 0);

  std::string out2 = cluster_.root() + "/dev2.out";
  auto again = startDev(out2);
  ASSERT_TRUE(again);
  EXPECT_FALSE(live(task)) << "the next `agora dev` left the task running";
  EXPECT_NE(slurp(out2).find("did not stop; killing the tasks it left running"), std::string::npos)
      << slurp(out2);
  again->signal(SIGINT);
  EXPECT_EQ(again->wait(std::chrono::seconds(30)), 0);
  EXPECT_NE(slurp(out2).find("no tasks were running"), std::string::npos) << slurp(out2);
}

TEST_F(DevCommandTest, KilledClusterIsCleanedUpByClean) {
  std::unique_ptr<Child> run;
  pid_t task = killDevLeavingATask(run);
  ASSERT_GT(task, 0);

  std::string said, err;
  EXPECT_EQ(cluster_.runCommand(devArgv({"--clean"}), &said, &err), 0) << err;
  EXPECT_FALSE(live(task)) << "`agora dev --clean` left the task running";
  EXPECT_FALSE(std::filesystem::exists(workDir_));
  EXPECT_NE(said.find("removed " + workDir_), std::string::npos) << said;
}

TEST_F(DevCommandTest, AllowedHostPathsReachTheAgent) {
  std::string data = cluster_.root() + "/data";
  std::filesystem::create_directories(data);
  std::ofstream(data + "/f") << "from the host\n";
  std::string out = cluster_.root() + "/dev.out";
  auto dev = startDev(out, {"--allowed-host-paths", data});
  ASSERT_TRUE(dev);
  std::string said, err;
  EXPECT_EQ(cluster_.runCommand({binPath("agora"), "--master", masterHttp_, "run", "--volume",
                                 data + ":hostdata:ro", "--", "cat hostdata/f"},
                                &said, &err),
            0)
      << err;
  EXPECT_EQ(said, "from the host\n");
  dev->signal(SIGINT);
  EXPECT_EQ(dev->wait(std::chrono::seconds(30)), 0);
}

}  // namespace
}  // namespace agora::testing
