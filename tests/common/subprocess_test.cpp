#include "common/subprocess.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace agora {
namespace {

TEST(SubprocessTest, RunsWithEnvironmentCwdAndRedirects) {
  char dirTemplate[] = "/tmp/agora-spawn-XXXXXX";
  std::string dir = mkdtemp(dirTemplate);
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo $GREETING; pwd; echo oops >&2; exit 3"};
  options.env = std::vector<std::string>{"GREETING=hi", "PATH=/usr/bin:/bin"};
  options.cwd = dir;
  options.stdoutPath = dir + "/out";
  options.stderrPath = dir + "/err";
  auto pid = spawn(options);
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_EQ(exitCodeOf(status), 3);
  EXPECT_EQ(describeWaitStatus(status), "exited with status 3");
  std::stringstream out, err;
  out << std::ifstream(dir + "/out").rdbuf();
  err << std::ifstream(dir + "/err").rdbuf();
  EXPECT_EQ(out.str(), "hi\n" + dir + "\n");
  EXPECT_EQ(err.str(), "oops\n");
  std::system(("rm -rf " + dir).c_str());
}

TEST(SubprocessTest, TheChildInheritsNoDescriptorBeyondItsStandardOnes) {
  // A descriptor without FD_CLOEXEC (as a library may leave a socket for a
  // moment) must not outlive exec: a daemon's listening socket held by its
  // children would keep its restart from binding the port.
  int leaky = dup(2);
  ASSERT_GE(leaky, 3);
  char dirTemplate[] = "/tmp/agora-spawn-XXXXXX";
  std::string dir = mkdtemp(dirTemplate);
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "ls /proc/self/fd > " + dir + "/fds"};
  auto pid = spawn(options);
  close(leaky);
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_EQ(exitCodeOf(status), 0);
  std::ifstream in(dir + "/fds");
  std::vector<int> fds;
  for (int fd; in >> fd;) fds.push_back(fd);
  // 0-2, plus the one ls opens to read /proc/self/fd and the shell's
  // redirection (as 1): nothing else, so nothing at `leaky`'s number that is
  // not ls's own directory descriptor.
  EXPECT_LE(fds.size(), 4u);
  for (int fd : fds) EXPECT_LE(fd, 3) << "inherited descriptor " << fd;
  std::system(("rm -rf " + dir).c_str());
}

TEST(SubprocessTest, WaitForExitReapsAnExitAndGivesUpOnARunningChild) {
  SpawnOptions sleeper;
  sleeper.argv = {"/bin/sleep", "30"};
  auto running = spawn(sleeper);
  ASSERT_TRUE(running) << running.error().message;
  EXPECT_FALSE(waitForExit(*running, std::chrono::milliseconds(50)));  // still sleeps
  kill(*running, SIGKILL);
  auto killed = waitForExit(*running, std::chrono::seconds(10));  // woken by the exit
  ASSERT_TRUE(killed);
  EXPECT_EQ(exitCodeOf(*killed), 128 + SIGKILL);
  EXPECT_EQ(waitpid(*running, nullptr, WNOHANG), -1) << "reaped already";

  SpawnOptions quitter;
  quitter.argv = {"/bin/sh", "-c", "exit 4"};
  auto quit = spawn(quitter);
  ASSERT_TRUE(quit) << quit.error().message;
  auto status = waitForExit(*quit, std::chrono::seconds(10));
  ASSERT_TRUE(status);
  EXPECT_EQ(exitCodeOf(*status), 4);
  // Not our child: no status, and no waiting out the timeout on it.
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(waitForExit(1, std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SubprocessTest, ExecFailureIsAnError) {
  SpawnOptions options;
  options.argv = {"/nonexistent/binary"};
  auto pid = spawn(options);
  ASSERT_FALSE(pid.has_value());
  EXPECT_NE(pid.error().message.find("No such file"), std::string::npos) << pid.error().message;
}

}  // namespace
}  // namespace agora
