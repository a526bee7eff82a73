// `agora run` and the SDK's examples against real processes: failing fast with
// the reason when the master is missing or the address names the wrong side
// of it, explaining constraints no agent meets, printing refusals once.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/subprocess.hpp"

#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using std::chrono::steady_clock;

class CliRunTest : public ::testing::Test {
 protected:
  // Runs `agora --master M ARGS...`; returns the exit code.
  int agora(std::vector<std::string> args, std::string* out, std::string* err,
            std::string master = "") {
    std::vector<std::string> argv = {binPath("agora"), "--master",
                                     master.empty() ? cluster_.masterHttp() : master};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_.runCommand(argv, out, err);
  }
  static double secondsSince(steady_clock::time_point start) {
    return std::chrono::duration<double>(steady_clock::now() - start).count();
  }

  // The task ID from `agora run`'s "agora: launched task ID ..." line.
  static std::string launchedTask(const std::string& err) {
    size_t at = err.find("agora: launched task ");
    if (at == std::string::npos) return "";
    return err.substr(at + 21, err.find_first_of(" \n", at + 21) - at - 21);
  }
  static std::string slurp(const std::string& path) {
    std::stringstream ss;
    ss << std::ifstream(path, std::ios::binary).rdbuf();
    return ss.str();
  }

  Cluster cluster_;
};

TEST_F(CliRunTest, OutputBeyond64MiBArrivesComplete) {
  cluster_.startMaster();
  cluster_.startAgent();
  // Counted and summed on the way, not held in memory.
  std::string command = "'" + binPath("agora") + "' --master " + cluster_.masterHttp() +
                        " run -- 'seq 1 15000000' | cksum";
  std::string out, err, expected;
  ASSERT_EQ(cluster_.runCommand({"bash", "-o", "pipefail", "-c", command}, &out, &err,
                                std::chrono::seconds(300)),
            0)
      << err;
  ASSERT_EQ(cluster_.runCommand({"bash", "-c", "seq 1 15000000 | cksum"}, &expected), 0);
  EXPECT_EQ(out, expected) << "bytes: " << out << " expected " << expected << err;
  EXPECT_EQ(err.find("output cut"), std::string::npos) << err;
}

TEST_F(CliRunTest, RandomBytesArriveUnchanged) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  ASSERT_EQ(agora({"run", "--", "head -c 4096 /dev/urandom > rand.bin; cat rand.bin"}, &out,
                  &err),
            0)
      << err;
  nlohmann::json task = cluster_.task(launchedTask(err));
  ASSERT_TRUE(task.is_object()) << err;
  std::string sent = slurp(task["sandbox"].get<std::string>() + "/rand.bin");
  ASSERT_EQ(sent.size(), 4096u);
  EXPECT_EQ(out.size(), 4096u);
  EXPECT_TRUE(out == sent);
}

TEST_F(CliRunTest, MultibyteCharacterAcrossTheMiBBoundaryArrivesIntact) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  // U+00E9 is bytes 1048575 and 1048576: the agent's 1 MiB chunks cut it.
  ASSERT_EQ(agora({"run", "--", "head -c 1048575 /dev/zero | tr '\\0' a; printf '\\303\\251\\n'"},
                  &out, &err),
            0)
      << err;
  ASSERT_EQ(out.size(), 1048578u) << err;
  EXPECT_EQ(out.substr(1048570), "aaaaa\xc3\xa9\n");
}

TEST_F(CliRunTest, AgentWithoutHttpApiIsNamedWhileTheTaskRuns) {
  cluster_.startMaster();
  // An agent with no HTTP API: its tasks' sandboxes cannot be read.
  SpawnOptions options;
  options.argv = {binPath("agora-agent"), "--master", cluster_.masterEndpoint(),
                  "--work-dir", cluster_.root() + "/agent-nohttp",
                  "--resources", "cpus:2;mem:1024;disk:1024;ports:[31000-31100]"};
  for (const auto& flag : cluster_.agentSecurityFlags()) options.argv.push_back(flag);
  options.stdoutPath = cluster_.root() + "/agent-nohttp.log";
  options.stderrPath = options.stdoutPath + ".err";
  auto pid = spawn(options);
  ASSERT_TRUE(static_cast<bool>(pid));
  Child agent("agent-nohttp", *pid);
  ASSERT_TRUE(eventually([&] {
    return !cluster_.masterGet("/api/v1/agents").value("agents", nlohmann::json::array()).empty();
  }));
  std::string out, err;
  // Cut off long before the task ends: the warning must come while it runs.
  agora({"run", "--", "echo hi; sleep 12"}, &out, &err, "");
  (void)out;
  EXPECT_NE(err.find("cannot read the output of task run-"), std::string::npos) << err;
  EXPECT_NE(err.find("its agent has no HTTP API"), std::string::npos) << err;
}

TEST_F(CliRunTest, RunWithoutAMasterFailsAtOnceNamingTheAddress) {
  std::string nowhere = "127.0.0.1:" + std::to_string(freePort());
  std::string out, err;
  auto start = steady_clock::now();
  int code = agora({"run", "--", "true"}, &out, &err, nowhere);
  EXPECT_LT(secondsSince(start), 3.0);
  EXPECT_EQ(code, 125);
  EXPECT_NE(err.find("cannot reach the master at " + nowhere), std::string::npos) << err;
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
}

TEST_F(CliRunTest, SchedulerEndpointThatRefusesFailsAtOnce) {
  cluster_.startMaster();
  std::string nowhere = "tcp://127.0.0.1:" + std::to_string(freePort());
  std::string out, err;
  auto start = steady_clock::now();
  int code = agora({"run", "--scheduler-endpoint", nowhere, "--", "true"}, &out, &err);
  EXPECT_LT(secondsSince(start), 3.0);
  EXPECT_EQ(code, 125);
  EXPECT_NE(err.find("--scheduler-endpoint: cannot connect to " + nowhere.substr(6)),
            std::string::npos)
      << err;
}

TEST_F(CliRunTest, MasterFlagAtTheSchedulerEndpointIsNamedAsSuch) {
  cluster_.startMaster();
  std::string out, err;
  auto start = steady_clock::now();
  int code = agora({"tasks"}, &out, &err, cluster_.masterEndpoint().substr(6));
  EXPECT_LT(secondsSince(start), 3.0);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("is a master's scheduler endpoint (ZeroMQ)"), std::string::npos) << err;
}

TEST_F(CliRunTest, HelloTakesEitherAddressOfTheMaster) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  // The HTTP address: the scheduler endpoint is found through /api/v1/master.
  std::string state = cluster_.root() + "/hello";
  EXPECT_EQ(cluster_.runCommand({binPath("agora-hello"), "--master", cluster_.masterHttp(),
                                 "--tasks", "1", "--work-dir", state},
                                &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("1 finished, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(cluster_.runCommand({binPath("agora-hello"), "--master", cluster_.masterEndpoint(),
                                 "--tasks", "1", "--work-dir", state},
                                &out, &err),
            0)
      << err;
}

TEST_F(CliRunTest, HelloFailsAtOnceWhenNothingListens) {
  std::string nowhere = "127.0.0.1:" + std::to_string(freePort());
  std::string out, err;
  auto start = steady_clock::now();
  int code = cluster_.runCommand({binPath("agora-hello"), "--master", nowhere, "--work-dir",
                                  cluster_.root() + "/hello"},
                                 &out, &err,
                                 std::chrono::seconds(20));
  EXPECT_LT(secondsSince(start), 3.0);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("cannot connect to " + nowhere + ": Connection refused"), std::string::npos)
      << err;
}

TEST_F(CliRunTest, ConstraintNoAgentMeetsIsExplained) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  int code = agora({"run", "--constraint", "rack=r1", "--timeout", "1", "--", "true"}, &out, &err);
  EXPECT_EQ(code, 125);
  EXPECT_NE(err.find("no agent matches constraint rack=r1: 1 agent, attributes {}"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("is an agent registered"), std::string::npos) << err;
}

TEST_F(CliRunTest, MasterRefusalIsPrintedOnceAndExits1) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  int code = agora({"run", "--role", "a b", "--", "true"}, &out, &err);
  EXPECT_EQ(code, 1) << err;
  EXPECT_EQ(err.rfind("agora: the master refused us: ", 0), 0u) << err;
  // One line: no glog line repeating it.
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}


TEST_F(CliRunTest, PortsAndDiskComeFromTheOfferAndTheTaskIdIsPrinted) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:2;mem:1024;disk:1024;ports:[31000-31100]");
  std::string out, err;
  ASSERT_EQ(agora({"run", "--disk", "10", "--port", "http", "--port", "admin_2", "--",
                   "echo http=$PORT_HTTP admin=$PORT_ADMIN_2"},
                  &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("http=31000 admin=31001"), std::string::npos) << out;
  size_t at = err.find("agora: launched task run-");
  ASSERT_NE(at, std::string::npos) << err;
  std::string taskId = err.substr(at + 21, err.find(' ', at + 21) - at - 21);
  nlohmann::json task = cluster_.task(taskId);
  ASSERT_TRUE(task.is_object()) << taskId;
  EXPECT_EQ(task["resources"]["disk"], 10.0) << task.dump();
  EXPECT_EQ(agora({"run", "--port", "bad-name", "--", "true"}, &out, &err), 2);
}

TEST_F(CliRunTest, VolumeIdMountsAnExistingVolume) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:2;mem:1024;disk:256;disk(eng):512;ports:[31000-31100]");
  std::string agentId = cluster_.masterGet("/api/v1/agents")["agents"][0]["id"].get<std::string>();
  std::string out, err;
  ASSERT_EQ(agora({"volume", "create", agentId, "disk(eng):64", "--id", "v1", "--path", "data"},
                  &out, &err),
            0)
      << err;
  // The role comes from the volume; the path may be repeated.
  ASSERT_EQ(agora({"run", "--volume-id", "v1:data", "--", "echo kept > data/f"}, &out, &err), 0)
      << err;
  ASSERT_EQ(agora({"run", "--volume-id", "v1", "--", "cat data/f"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "kept\n");
  EXPECT_EQ(agora({"run", "--volume-id", "v1:elsewhere", "--", "true"}, &out, &err), 2);
  EXPECT_NE(err.find("volume 'v1' mounts at 'data'"), std::string::npos) << err;
  EXPECT_EQ(agora({"run", "--volume-id", "nope", "--", "true"}, &out, &err), 1);
  EXPECT_NE(err.find("no agent has a volume 'nope'"), std::string::npos) << err;
}

TEST_F(CliRunTest, DetachLeavesTheTaskRunningAndSaysHowToEndIt) {
  cluster_.startMaster();
  cluster_.startAgent();
  std::string out, err;
  auto start = steady_clock::now();
  ASSERT_EQ(agora({"run", "--detach", "--", "sleep 300"}, &out, &err), 0) << err;
  EXPECT_LT(secondsSince(start), 10.0);
  size_t at = err.find("agora kill run-");
  ASSERT_NE(at, std::string::npos) << err;
  std::string taskId = err.substr(at + 11, err.find('\n', at) - at - 11);
  EXPECT_NE(err.find("agora logs -f " + taskId), std::string::npos) << err;
  // The framework outlives the command, and so does its task.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  nlohmann::json task = cluster_.task(taskId);
  ASSERT_TRUE(task.is_object()) << taskId;
  EXPECT_EQ(task["state"], "TASK_RUNNING") << task.dump();
}

}  // namespace
}  // namespace agora::testing
