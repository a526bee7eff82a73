// The ImageProvisioner with a real store and worker thread: a burst of
// launches of one image shares a pull.

#include "agent/image_provisioner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/images/digest.hpp"
#include "tests/agent/images/image_builder.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class ImageProvisionerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "unpacking layers keeps owners: needs root";
    char tmpl[] = "/tmp/agora-provisioner-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Turns the loop until `done` or 10 s.
  bool runUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) loop_.runOnce(millis(5));
    return done();
  }

  std::string dir_;
  EventLoop loop_;
};

TEST_F(ImageProvisionerTest, LaunchesQueuedBehindOnePullOfTheirImageShareIt) {
  using namespace images::testing;
  Layer layer = makeLayer({file("hello", "hi\n")}, /*gzip=*/false);
  OciLayout layout(dir_ + "/layout");
  auto config = makeConfig({layer}, {}, {"/hello"});
  layout.addImage({layer}, config, "t");
  const std::string ref = "oci:" + layout.dir() + ":t";
  const std::string other = "oci:" + layout.dir() + ":missing";
  auto provisioner = ImageProvisioner::create(loop_, dir_ + "/store");
  ASSERT_TRUE(provisioner) << provisioner.error().message;

  std::vector<Result<images::Image>> results;
  auto collect = [&](Result<images::Image> image) { results.push_back(std::move(image)); };
  // The worker is busy with the first pull while the others queue.
  for (int i = 0; i < 6; ++i) (*provisioner)->provision(ref, collect);
  (*provisioner)->provision(other, collect);
  ASSERT_TRUE(runUntil([&] { return results.size() == 7; }));
  int ok = 0;
  for (const auto& r : results) ok += r.has_value();
  EXPECT_EQ(ok, 6);
  // The first launch's pull, one shared by the five queued behind it, and
  // the other reference's own.
  EXPECT_LE((*provisioner)->pulls(), 3u);
  EXPECT_GE((*provisioner)->pulls(), 2u);
  const std::string id = images::sha256Digest(config.dump());
  EXPECT_EQ((*provisioner)->imageUsers(id), 6);  // each launch holds the image
  // A launch after the pulls ran gets a pull of its own.
  uint64_t before = (*provisioner)->pulls();
  (*provisioner)->provision(ref, collect);
  ASSERT_TRUE(runUntil([&] { return results.size() == 8; }));
  EXPECT_TRUE(results.back().has_value());
  EXPECT_EQ((*provisioner)->pulls(), before + 1);
  EXPECT_EQ((*provisioner)->imageUsers(id), 7);
}

}  // namespace
}  // namespace agora::agent
