// ChildReaper with real child processes: exits reach their handlers through
// the loop (one pidfd each), with their wait status; children nobody watches
// are left to their owners; unwatched ones too; processes that are not our
// children are reported through their pidfds.

#include "agent/executor/child_reaper.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>

namespace agora::agent {
namespace {

// A child that exits with `code` once it can read a byte from `gate` (or at
// once without one).
pid_t child(int code, int gate = -1) {
  pid_t pid = fork();
  if (pid == 0) {
    if (gate >= 0) {
      char byte;
      while (read(gate, &byte, 1) < 0 && errno == EINTR) {
      }
    }
    _exit(code);
  }
  return pid;
}

// Turns the loop, without calling poll(), until `done` (10 s at most).
template <class Done>
bool turnUntil(EventLoop& loop, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) loop.runOnce(millis(20));
  return done();
}

TEST(ChildReaperTest, AnExitReachesItsHandlerThroughTheLoopWithItsStatus) {
  EventLoop loop;
  ChildReaper reaper(loop, seconds(3600));  // the timer never fires here
  std::map<pid_t, int> statuses;
  for (int code = 0; code < 50; ++code) {
    pid_t pid = child(code);
    ASSERT_GT(pid, 0);
    reaper.watch(pid, [&statuses, pid](int status) { statuses[pid] = status; });
  }
  EXPECT_EQ(reaper.watchingWithoutPidfd(), 0u) << "pidfds are expected on this kernel";
  ASSERT_TRUE(turnUntil(loop, [&] { return statuses.size() == 50; }));
  EXPECT_EQ(reaper.watching(), 0u);
  std::map<int, int> byCode;
  for (const auto& [pid, status] : statuses) {
    ASSERT_TRUE(WIFEXITED(status));
    byCode[WEXITSTATUS(status)]++;
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1) << "reaped already";
  }
  EXPECT_EQ(byCode.size(), 50u);
}

TEST(ChildReaperTest, ChildrenItDoesNotWatchAreLeftToTheirOwners) {
  EventLoop loop;
  ChildReaper reaper(loop, millis(10));
  pid_t other = child(3);
  pid_t dropped = child(4);
  int watchedStatus = -2;
  pid_t watched = child(5);
  reaper.watch(dropped, [](int) { ADD_FAILURE() << "unwatched child reported"; });
  reaper.unwatch(dropped);
  reaper.watch(watched, [&](int status) { watchedStatus = status; });
  ASSERT_TRUE(turnUntil(loop, [&] { return watchedStatus != -2; }));
  EXPECT_EQ(WEXITSTATUS(watchedStatus), 5);
  reaper.poll();
  for (auto [pid, code] : {std::pair{other, 3}, std::pair{dropped, 4}}) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid) << "the reaper took a child it did not watch";
    EXPECT_EQ(WEXITSTATUS(status), code);
  }
}

TEST(ChildReaperTest, OnlyTheChildThatExitedIsReported) {
  EventLoop loop;
  ChildReaper reaper(loop, millis(10));
  int gates[2];
  ASSERT_EQ(pipe(gates), 0);
  pid_t waiting = child(1, gates[0]);
  int reported = 0;
  reaper.watch(waiting, [&](int) { ++reported; });
  int quickStatus = -2;
  reaper.watch(child(2), [&](int status) { quickStatus = status; });
  ASSERT_TRUE(turnUntil(loop, [&] { return quickStatus != -2; }));
  loop.runOnce(millis(50));
  reaper.poll();
  EXPECT_EQ(reported, 0);
  EXPECT_EQ(reaper.watching(), 1u);
  ASSERT_EQ(write(gates[1], "x", 1), 1);
  ASSERT_TRUE(turnUntil(loop, [&] { return reported == 1; }));
  close(gates[0]);
  close(gates[1]);
}

TEST(ChildReaperTest, AProcessThatIsNotOurChildIsReportedWithoutAStatus) {
  EventLoop loop;
  ChildReaper reaper(loop, millis(10));
  int pids[2];
  ASSERT_EQ(pipe(pids), 0);
  pid_t middle = fork();
  if (middle == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      pause();
      _exit(0);
    }
    ssize_t n = write(pids[1], &grandchild, sizeof(grandchild));
    _exit(n == sizeof(grandchild) ? 0 : 1);
  }
  pid_t grandchild = 0;
  ASSERT_EQ(read(pids[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(grandchild)));
  ASSERT_EQ(waitpid(middle, nullptr, 0), middle);
  int status = 0;
  ASSERT_TRUE(reaper.watchForeign(grandchild, [&](int s) { status = s; }));
  ASSERT_EQ(kill(grandchild, SIGKILL), 0);
  ASSERT_TRUE(turnUntil(loop, [&] { return status == ChildReaper::kUnknownStatus; }));
  EXPECT_EQ(reaper.watching(), 0u);
  close(pids[0]);
  close(pids[1]);
}

}  // namespace
}  // namespace agora::agent
