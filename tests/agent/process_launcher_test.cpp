// launchProcess() with real processes: what a child left waiting before exec
// does when its parent dies (an agent SIGKILLed in the middle of a launch).

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "agent/executor/process_launcher.hpp"

#include "tests/agent/loopback_listener.hpp"

namespace agora::agent {
namespace {

using testing::listenOn;
using testing::portOf;

struct Held {
  pid_t child = 0;
  uint16_t port = 0;
};

// Waits (no polling) until `pid` - not our child - has exited, at most
// `timeout`; true when it did (a zombie counts as exited).
bool exitsWithin(pid_t pid, std::chrono::milliseconds timeout) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd ready{fd, POLLIN, 0};
  bool exited = poll(&ready, 1, static_cast<int>(timeout.count())) == 1;
  close(fd);
  return exited;
}

// A daemon (a process listening on a port, close-on-exec) that is SIGKILLed
// from its beforeExec hook, as an agent killed while attaching a new
// executor to its cgroups.
TEST(ProcessLauncherTest, AChildHeldBeforeExecExitsWhenItsParentDiesAndFreesThePort) {
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    close(report[0]);
    int listener = listenOn(0);
    if (listener < 0) _exit(2);
    Held held{0, portOf(listener)};
    ProcessOptions options;
    options.argv = {"/bin/true"};
    options.beforeExec = [&](pid_t child) -> Status {
      held.child = child;
      if (write(report[1], &held, sizeof(held)) != sizeof(held)) _exit(3);
      kill(getpid(), SIGKILL);
      pause();
      return {};
    };
    (void)launchProcess(options);
    _exit(4);
  }
  close(report[1]);
  Held held;
  ssize_t n = read(report[0], &held, sizeof(held));
  close(report[0]);
  int status = 0;
  waitpid(daemon, &status, 0);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(held))) << "the daemon exited with " << status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  bool gone = exitsWithin(held.child, std::chrono::seconds(5));
  EXPECT_TRUE(gone) << "the child " << held.child << " still waits for its dead parent";
  int again = listenOn(held.port);
  EXPECT_GE(again, 0) << "port " << held.port << " is still held after the daemon died";
  if (again >= 0) close(again);
  if (!gone) kill(held.child, SIGKILL);
}

}  // namespace
}  // namespace agora::agent
