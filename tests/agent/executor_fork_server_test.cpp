// The executor fork server with the real agora-executor binary: executors
// are copies of one server and children of the agent, with an executor's
// command line; failures before the executor runs are reported as an exec'd
// launch reports them; a dead server is replaced by exec'd executors.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/executor/fork_server.hpp"
#include "agent/executor_fork_server.hpp"
#include "agent/paths.hpp"
#include "agent/proc_stat.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string commOf(pid_t pid) {
  std::string comm = readAll("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

// Our children named agora-executor.
std::vector<pid_t> executorChildren() {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = readProcStat(std::stoi(name));
    if (stat && stat->ppid == getpid() && commOf(stat->pid) == "agora-executor") {
      out.push_back(stat->pid);
    }
  }
  return out;
}

class ExecutorForkServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!forkServerSupported()) GTEST_SKIP() << "no fork server in this build or kernel";
    char tmpl[] = "/tmp/agora-forksrv-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs the loop (and the reaper) until `done` or 10 s.
  bool runUntil(const std::function<bool()>& done) {
    return testing::runUntil(loop_, reaper_, done, seconds(10));
  }

  // An executor started in the test dir, writing executor.log there.
  ProcessOptions inTestDir() const {
    ProcessOptions process;
    process.cwd = dir_;
    process.stdoutPath = dir_ + "/executor.log";
    return process;
  }

  std::string dir_;
  EventLoop loop_;
  ChildReaper reaper_{loop_, millis(20)};
};

TEST_F(ExecutorForkServerTest, AnExecutorIsOurChildAndItsExitStatusReachesUs) {
  ExecutorForkServer server(reaper_, std::string(AGORA_BIN_DIR) + "/agora-executor");
  ProcessOptions process = inTestDir();
  // No such launch file: the executor starts, says why and exits with 2.
  auto pid = server.launch(dir_ + "/missing/launch.bin", process);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_GT(server.serverPid(), 0);
  EXPECT_EQ(commOf(server.serverPid()), "agora-forksrv");
  int status = -100;
  reaper_.watch(*pid, [&](int s) { status = s; });
  ASSERT_TRUE(runUntil([&] { return status != -100; }));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(readAll(dir_ + "/executor.log").find("missing/launch.bin"), std::string::npos)
      << readAll(dir_ + "/executor.log");
  EXPECT_EQ(server.serversStarted(), 1u);
}

TEST_F(ExecutorForkServerTest, AFailedStepIsNamedAndTheChildIsReaped) {
  ExecutorForkServer server(reaper_, std::string(AGORA_BIN_DIR) + "/agora-executor");
  ProcessOptions process = inTestDir();
  process.cwd = dir_ + "/no-such-dir";
  auto pid = server.launch(dir_ + "/launch.bin", process);
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().message.find("chdir " + dir_ + "/no-such-dir: No such file"),
            std::string::npos)
      << pid.error().message;
  EXPECT_TRUE(executorChildren().empty());

  process.cwd = dir_;
  process.joinFiles = {dir_ + "/no-such-cgroup/tasks"};
  pid = server.launch(dir_ + "/launch.bin", process);
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().message.find("join " + dir_ + "/no-such-cgroup/tasks"), std::string::npos)
      << pid.error().message;
  // The same server serves on.
  EXPECT_EQ(server.serversStarted(), 1u);
  EXPECT_GT(server.serverPid(), 0);
}

TEST_F(ExecutorForkServerTest, TheServerGoesWithItsOwner) {
  pid_t serverPid = 0;
  {
    ExecutorForkServer server(reaper_, std::string(AGORA_BIN_DIR) + "/agora-executor");
    ProcessOptions process = inTestDir();
    auto pid = server.launch(dir_ + "/missing.bin", process);
    ASSERT_TRUE(pid) << pid.error().message;
    serverPid = server.serverPid();
    ASSERT_GT(serverPid, 0);
    waitpid(*pid, nullptr, 0);
  }
  EXPECT_FALSE(readProcStat(serverPid).has_value());  // reaped, not a zombie
}

TEST_F(ExecutorForkServerTest, AMissingBinaryMeansExecInstead) {
  ExecutorForkServer server(reaper_, dir_ + "/no-such-executor");
  ProcessOptions process = inTestDir();
  auto pid = server.launch(dir_ + "/launch.bin", process);
  ASSERT_FALSE(pid);
  EXPECT_EQ(pid.error().code, ErrorCode::kUnavailable) << pid.error().message;
  EXPECT_EQ(server.serverPid(), -1);
}

// Through a real agent: tasks run, their executors are children of the
// agent named and shown as exec'd executors, one server serves them all;
// when the server is killed, running tasks go on and new ones still start.
TEST_F(ExecutorForkServerTest, AnAgentsExecutorsComeFromOneServer) {
  ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(dir_)));
  testing::RealAgentHarness agent(dir_, /*namespaces=*/false);
  ASSERT_EQ(agent.error(), "");
  TaskInfo task;
  task.taskId = "t1";
  // The server's own start-up setting stays with it (tasks on the host's
  // filesystem inherit their executor's environment).
  // Nor does the task get the executor's start socket (descriptor 3).
  task.command.value =
      "echo from-a-copy ${LD_BIND_NOW:-unset}; test -e /proc/self/fd/3 && echo fd3; sleep 60";
  agent.launch(task);
  ASSERT_TRUE(agent.waitRunning("t1"));
  task.taskId = "t2";
  agent.launch(task);
  ASSERT_TRUE(agent.waitRunning("t2"));
  EXPECT_EQ(agent.waitSandboxFile("t1", "stdout"), "from-a-copy unset\n");
  // STARTING and RUNNING of each came over its start socket, passed on by the server.
  auto startSocketUpdates = [&] { return agent.agent().snapshot()->counters.startSocketUpdates; };
  EXPECT_EQ(startSocketUpdates(), 4u);

  const ExecutorForkServer* server = agent.containerizer().forkServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->serversStarted(), 1u);
  pid_t serverPid = server->serverPid();
  ASSERT_GT(serverPid, 0);
  auto executors = executorChildren();
  ASSERT_EQ(executors.size(), 2u);
  for (pid_t pid : executors) {
    std::string cmdline = readAll("/proc/" + std::to_string(pid) + "/cmdline");
    EXPECT_NE(cmdline.find("agora-executor --launch-file " + dir_), std::string::npos) << cmdline;
    EXPECT_NE(cmdline.find("/launch.bin"), std::string::npos) << cmdline;
    EXPECT_EQ(cmdline.find("--fork-server"), std::string::npos) << cmdline;
  }

  kill(serverPid, SIGKILL);
  ASSERT_TRUE(agent.runUntil([&] { return server->serverPid() == -1; }, seconds(5)));
  task.taskId = "t3";
  task.command.value = "echo exec-d";
  agent.launch(task);
  const TaskStatus* done = agent.waitTerminal("t3");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->state, TaskState::FINISHED) << done->message;
  EXPECT_GT(startSocketUpdates(), 4u) << "nothing came over the exec'd executor's start socket";
  EXPECT_EQ(agent.latest("t1")->state, TaskState::RUNNING);
  EXPECT_EQ(agent.latest("t2")->state, TaskState::RUNNING);
  EXPECT_EQ(server->serversStarted(), 1u);  // paused after the failure: t3 was exec'd
}

}  // namespace
}  // namespace agora::agent
