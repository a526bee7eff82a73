// SandboxGc on real directories: removal after the delay, sooner as the disk
// fills (its use given by the test), and sandboxes left by an earlier run
// aged from their modification time.

#include "agent/sandbox_gc.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

class SandboxGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-gc-XXXXXX";
    dir_ = mkdtemp(tmpl);
    root_ = dir_ + "/sandboxes";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string sandbox(const std::string& framework, const std::string& task,
                      const std::string& container) {
    std::string path = root_ + "/" + framework + "/" + task + "/" + container;
    fs::create_directories(path);
    std::ofstream(path + "/stdout") << "output\n";
    return path;
  }

  std::unique_ptr<SandboxGc> gc(Duration delay) {
    SandboxGc::Options options;
    options.sandboxesRoot = root_;
    options.trash = dir_ + "/trash";
    options.delay = delay;
    options.interval = std::chrono::hours(1);  // collect() is called by the test
    return std::make_unique<SandboxGc>(loop_, options, [this] { return Result<double>(used_); });
  }

  double now() { return loop_.clock().wallSeconds(); }

  EventLoop loop_;
  std::string dir_, root_;
  double used_ = 0;
};

TEST_F(SandboxGcTest, TheDelayShrinksAsTheDiskFills) {
  auto g = gc(seconds(900));
  EXPECT_EQ(g->effectiveDelay(0), seconds(900));
  EXPECT_EQ(g->effectiveDelay(0.45), seconds(450));
  EXPECT_EQ(g->effectiveDelay(0.9), seconds(0));
  EXPECT_EQ(g->effectiveDelay(1), seconds(0));
}

TEST_F(SandboxGcTest, SandboxesGoAfterTheDelayOrSoonerOnAFullerDisk) {
  auto g = gc(seconds(60));
  std::string old = sandbox("fw1", "t1", "c1");
  std::string recent = sandbox("fw2", "t2", "c2");
  std::string sibling = sandbox("fw2", "t3", "c3");
  g->schedule(old, now() - 100);  // due already: goes at once
  g->schedule(recent, now() - 10);
  EXPECT_EQ(g->collect(), 0u);
  EXPECT_EQ(g->scheduled(), 1u);
  EXPECT_FALSE(fs::exists(old));
  EXPECT_FALSE(fs::exists(root_ + "/fw1")) << "its emptied task and framework directories stay";
  EXPECT_TRUE(fs::exists(recent));

  used_ = 0.6;  // 20 s now
  EXPECT_EQ(g->collect(), 0u);
  EXPECT_TRUE(fs::exists(recent));
  used_ = 0.85;  // 3.3 s
  EXPECT_EQ(g->collect(), 1u);
  EXPECT_FALSE(fs::exists(recent));
  EXPECT_FALSE(fs::exists(root_ + "/fw2/t2"));
  EXPECT_TRUE(fs::exists(sibling)) << "never scheduled";
  EXPECT_EQ(g->scheduled(), 0u);
}

TEST_F(SandboxGcTest, LeftoversOfAnEarlierRunAreAgedFromTheirModificationTime) {
  std::string stale = sandbox("fw", "done", "c1");
  std::string fresh = sandbox("fw", "recent", "c2");
  std::string owned = sandbox("fw", "running", "c3");
  timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(now()) - 3600, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, stale.c_str(), times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, owned.c_str(), times, 0), 0);
  auto g = gc(seconds(600));
  g->scheduleLeftovers({owned});
  EXPECT_EQ(g->scheduled(), 2u);
  EXPECT_EQ(g->collect(), 1u);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(owned));
  // Scanning again adds nothing already scheduled.
  g->scheduleLeftovers({owned});
  EXPECT_EQ(g->scheduled(), 1u);
}

}  // namespace
}  // namespace agora::agent
