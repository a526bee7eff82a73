// The ImageProvisioner with a real store and worker thread: a burst of
// launches of one image shares a pull; IfNotPresent reuses a resolution
// until a gc.

#include "agent/image_provisioner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "agent/images/digest.hpp"
#include "tests/agent/images/image_builder.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using images::PullPolicy;
constexpr PullPolicy kAlways = PullPolicy::kAlways;
constexpr PullPolicy kIfNotPresent = PullPolicy::kIfNotPresent;

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
  for (int i = 0; i < 6; ++i) (*provisioner)->provision(ref, kAlways, collect);
  (*provisioner)->provision(other, kAlways, collect);
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
  (*provisioner)->provision(ref, kAlways, collect);
  ASSERT_TRUE(runUntil([&] { return results.size() == 8; }));
  EXPECT_TRUE(results.back().has_value());
  EXPECT_EQ((*provisioner)->pulls(), before + 1);
  EXPECT_EQ((*provisioner)->imageUsers(id), 7);
}

TEST_F(ImageProvisionerTest, IfNotPresentReusesTheResolvedImageUntilAGc) {
  using namespace images::testing;
  Layer layer = makeLayer({file("hello", "hi\n")}, /*gzip=*/false);
  OciLayout layout(dir_ + "/layout");
  auto config = makeConfig({layer}, {}, {"/hello"});
  layout.addImage({layer}, config, "1.0");
  const std::string ref = "oci:" + layout.dir() + ":1.0";
  const std::string id = images::sha256Digest(config.dump());
  auto provisioner = ImageProvisioner::create(loop_, dir_ + "/store");
  ASSERT_TRUE(provisioner) << provisioner.error().message;
  ImageProvisioner& p = **provisioner;
  std::vector<Result<images::Image>> results;
  auto collect = [&](Result<images::Image> image) { results.push_back(std::move(image)); };

  p.provision(ref, kIfNotPresent, collect);  // nothing resolved yet: a pull
  ASSERT_TRUE(runUntil([&] { return results.size() == 1; }));
  ASSERT_TRUE(results[0]) << results[0].error().message;
  p.provision(ref, kIfNotPresent, collect);
  EXPECT_TRUE(results.size() == 1) << "the callback ran within provision()";
  ASSERT_TRUE(runUntil([&] { return results.size() == 2; }));
  ASSERT_TRUE(results[1]) << results[1].error().message;
  EXPECT_EQ(p.pulls(), 1u);
  EXPECT_EQ(p.reused(), 1u);
  EXPECT_EQ(results[1]->id, id);
  EXPECT_EQ(results[1]->layerDirs, results[0]->layerDirs);
  EXPECT_EQ(p.imageUsers(id), 2);  // the reuse holds the image too

  // Always resolves again even so.
  p.provision(ref, kAlways, collect);
  ASSERT_TRUE(runUntil([&] { return results.size() == 3; }));
  EXPECT_EQ(p.pulls(), 2u);

  // Once nothing holds it a gc removes it, and the next launch pulls anew.
  for (int i = 0; i < 3; ++i) p.release(id);
  std::optional<images::GcResult> gc;
  p.gc([&](images::GcResult r) { gc = r; });
  ASSERT_TRUE(runUntil([&] { return gc.has_value(); }));
  EXPECT_EQ(gc->imagesRemoved, 1);
  p.provision(ref, kIfNotPresent, collect);
  ASSERT_TRUE(runUntil([&] { return results.size() == 4; }));
  ASSERT_TRUE(results[3]) << results[3].error().message;
  EXPECT_EQ(p.pulls(), 3u);
  EXPECT_EQ(p.reused(), 1u);
  EXPECT_TRUE(fs::exists(results[3]->layerDirs.at(0) + "/hello"));
  EXPECT_EQ(p.imageUsers(id), 1);
}

TEST(PullPolicyTest, LatestOrNoTagIsAlwaysOtherTagsAndDigestsIfNotPresent) {
  auto policyOf = [](const std::string& text) {
    auto ref = images::parseImageReference(text);
    EXPECT_TRUE(ref) << text;
    return ref ? images::defaultPullPolicy(*ref) : kAlways;
  };
  EXPECT_EQ(policyOf("oci:/images/busybox"), kAlways);
  EXPECT_EQ(policyOf("oci:/images/busybox:latest"), kAlways);
  EXPECT_EQ(policyOf("oci:/images/busybox:1.36"), kIfNotPresent);
  EXPECT_EQ(policyOf("oci-archive:/images/busybox.tar:1.36"), kIfNotPresent);
  EXPECT_EQ(policyOf("docker-archive:/images/busybox.tar"), kAlways);
  EXPECT_EQ(policyOf("docker-archive:/images/busybox.tar:busybox:latest"), kAlways);
  EXPECT_EQ(policyOf("docker-archive:/images/busybox.tar:busybox:1.36"), kIfNotPresent);
  EXPECT_EQ(policyOf("docker://127.0.0.1:5000/busybox"), kAlways);
  EXPECT_EQ(policyOf("docker://127.0.0.1:5000/busybox:1.36"), kIfNotPresent);
  EXPECT_EQ(policyOf("docker://127.0.0.1:5000/busybox@sha256:" + std::string(64, 'a')),
            kIfNotPresent);
  EXPECT_EQ(*images::parsePullPolicy("Always"), kAlways);
  EXPECT_EQ(*images::parsePullPolicy("IfNotPresent"), kIfNotPresent);
  auto bad = images::parsePullPolicy("Never");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "label agora.image.pull_policy='Never': expected Always or IfNotPresent");
}

}  // namespace
}  // namespace agora::agent
