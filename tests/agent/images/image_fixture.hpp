#pragma once
// A temporary directory holding a store, test image sources and a sentinel
// directory that must stay empty; removed (mounts first) after each test.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/images/image_store.hpp"
#include "tests/agent/images/image_builder.hpp"

namespace agora::agent::images::testing {

class ImageFixture : public ::testing::Test {
 public:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (layer owners, whiteouts, overlay mounts)";
    char tmpl[] = "/tmp/agora-images-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    sentinel_ = root_ + "/sentinel";
    std::filesystem::create_directories(sentinel_);
    std::filesystem::create_directories(root_ + "/src");
    auto store = ImageStore::create(root_ + "/store");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);

    base_ = makeLayer(busyboxLayer(), /*gzip=*/true);
    top_ = makeLayer({dir("etc"), file("etc/.wh.doomed", ""), file("etc/added", "added\n"),
                      dir("opq"), file("opq/.wh..wh..opq", ""), file("opq/b", "b\n")},
                     /*gzip=*/true);
    configA_ = makeConfig({base_}, {"/bin/busybox"}, {"echo", "a"});
    configB_ = makeConfig({base_, top_}, {}, {"/bin/sh", "-c", "cat /etc/added"});
  }

  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
      ::umount2(it->c_str(), MNT_DETACH);
    }
    store_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }

  ImageStore* store() { return store_.get(); }
  std::string storeDir() const { return root_ + "/store"; }

  // An OCI layout at src/NAME with image "a" (busybox), "b" (busybox plus a
  // layer with whiteouts) and "multi" (an index: arm64 and amd64 "b").
  OciLayout makeLayout(const std::string& name = "layout") {
    OciLayout layout(root_ + "/src/" + name);
    manifestA_ = layout.addImage({base_}, configA_, "a");
    manifestB_ = layout.addImage({base_, top_}, configB_, "b");
    auto armConfig = configB_;
    armConfig["architecture"] = "arm64";
    std::string arm = layout.addImage({base_, top_}, armConfig, "");
    layout.addIndex({{arm, "arm64"}, {manifestB_, "amd64"}}, "multi");
    return layout;
  }

  // A one-layer image made of `entries` in its own layout; returns "oci:DIR".
  std::string layoutWithLayer(const std::vector<TarEntry>& entries, bool gzip = false) {
    Layer layer = makeLayer(entries, gzip);
    OciLayout layout(root_ + "/src/bad-" + std::to_string(++counter_));
    layout.addImage({layer}, makeConfig({layer}, {}, {"/bin/sh"}), "t");
    return "oci:" + layout.dir() + ":t";
  }

  // Nothing escaped: the sentinel is empty, the temp root holds only what the
  // test made, and a failed pull left no layer or scratch file in the store.
  void expectNothingOutsideStore() {
    EXPECT_TRUE(std::filesystem::is_empty(sentinel_)) << "something was written to " << sentinel_;
    std::vector<std::string> top;
    for (const auto& e : std::filesystem::directory_iterator(root_)) {
      top.push_back(e.path().filename());
    }
    std::sort(top.begin(), top.end());
    EXPECT_EQ(top, (std::vector<std::string>{"sentinel", "src", "store"}));
    EXPECT_TRUE(std::filesystem::is_empty(root_ + "/store/tmp"));
  }

  std::string root_, sentinel_;
  std::unique_ptr<ImageStore> store_;
  Layer base_, top_;
  nlohmann::json configA_, configB_;
  std::string manifestA_, manifestB_;
  std::vector<std::string> mounts_;
  int counter_ = 0;
};

}  // namespace agora::agent::images::testing
