// Pulls from a real Docker registry (Debian's docker-registry, filesystem
// storage in the test's temp dir, 127.0.0.1 only) that skopeo fills from an
// OCI layout built in the test. Needs root, docker-registry and skopeo.

#include <chrono>

#include "agent/images/digest.hpp"
#include "tests/agent/images/image_fixture.hpp"
#include "tests/agent/images/local_registry.hpp"

namespace agora::agent::images::testing {
namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

class RegistryTest : public ImageFixture {
 protected:
  void SetUp() override {
    ImageFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!LocalRegistry::available()) {
      GTEST_SKIP() << "docker-registry or skopeo is not installed (scripts/setup)";
    }
    // Registry data and logs live under src/ so the store-escape checks hold.
    ASSERT_EQ(registry_.start(root_ + "/src/registry"), "");
  }

  void TearDown() override {
    registry_.stop();
    ImageFixture::TearDown();
  }

  std::string ref(const std::string& name) const { return registry_.ref(name); }
  void push(const std::string& src, const std::string& name, bool all = false) {
    ASSERT_EQ(registry_.push(src, name, all), "");
  }

  LocalRegistry registry_;
};

TEST_F(RegistryTest, PullsBusyboxAndCachesIt) {
  auto layout = makeLayout();
  push("oci:" + layout.dir() + ":b", "test/busybox:b");

  auto t0 = std::chrono::steady_clock::now();
  auto image = store_->pull(ref("test/busybox:b"));
  double firstMs = msSince(t0);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->id, sha256Digest(configB_.dump()));
  ASSERT_EQ(image->layerDirs.size(), 2u);
  EXPECT_EQ(readFile(image->layerDirs[0] + "/bin/busybox"), readFile("/bin/busybox"));
  EXPECT_EQ(image->config.cmd, (std::vector<std::string>{"/bin/sh", "-c", "cat /etc/added"}));

  auto t1 = std::chrono::steady_clock::now();
  auto again = store_->pull(ref("test/busybox:b"));
  double cachedMs = msSince(t1);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->layerDirs, image->layerDirs);

  auto pinned = store_->pull(ref("test/busybox@" + image->manifestDigest));
  ASSERT_TRUE(pinned) << pinned.error().message;
  EXPECT_EQ(pinned->id, image->id);
  std::cout << "registry pull busybox (" << base_.blob.size() + top_.blob.size()
            << " bytes of layers): first " << firstMs << " ms, cached " << cachedMs << " ms\n";
  expectNothingOutsideStore();
}

TEST_F(RegistryTest, PicksLinuxAmd64FromAManifestList) {
  auto layout = makeLayout();
  push("oci:" + layout.dir() + ":multi", "test/multi:latest", /*all=*/true);
  auto image = store_->pull(ref("test/multi"));
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->id, sha256Digest(configB_.dump()));
}

TEST_F(RegistryTest, MissingImagesAndDigestsAreNotFound) {
  auto layout = makeLayout();
  push("oci:" + layout.dir() + ":a", "test/busybox:a");
  for (const std::string& name :
       {std::string("test/busybox:nope"), std::string("test/absent:a"),
        "test/busybox@" + sha256Digest("not a manifest")}) {
    auto image = store_->pull(ref(name));
    ASSERT_FALSE(image) << name;
    EXPECT_EQ(image.error().code, ErrorCode::kNotFound) << image.error().message;
    EXPECT_NE(image.error().message.find(ref(name)), std::string::npos) << image.error().message;
    EXPECT_NE(image.error().message.find("404"), std::string::npos) << image.error().message;
  }
  auto refused = store_->pull("docker://127.0.0.1:" + std::to_string(freeLoopbackPort()) + "/x:y");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  expectNothingOutsideStore();
}

}  // namespace
}  // namespace agora::agent::images::testing
