// The image store against images built here from the host's busybox-static:
// OCI layouts, oci-archives and docker-archives; layer sharing, whiteouts
// through a real overlay mount, garbage collection and hostile input.
// Needs root; skips otherwise.

#include "agent/images/image_store.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <chrono>
#include <fstream>

#include "agent/images/digest.hpp"
#include "agent/images/overlay_rootfs.hpp"
#include "tests/agent/images/image_fixture.hpp"

namespace agora::agent::images::testing {
namespace {

namespace fs = std::filesystem;
using ImageStoreTest = ImageFixture;

std::string layerDigest(const Layer& layer) { return sha256Digest(layer.blob); }

void expectBusybox(const Image& image) {
  ASSERT_FALSE(image.layerDirs.empty());
  const std::string& base = image.layerDirs.front();
  EXPECT_EQ(readFile(base + "/bin/busybox"), readFile("/bin/busybox"));
  struct stat st;
  ASSERT_EQ(::stat((base + "/bin/busybox").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(fs::read_symlink(base + "/bin/sh"), "busybox");
  EXPECT_EQ(readFile(base + "/etc/hello"), "hello\n");
}

TEST_F(ImageStoreTest, PullsFromOciLayoutAndParsesTheConfig) {
  auto layout = makeLayout();
  auto image = store_->pull("oci:" + layout.dir() + ":a");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->id, sha256Digest(configA_.dump()));
  EXPECT_EQ(image->manifestDigest, manifestA_);
  ASSERT_EQ(image->layerDirs.size(), 1u);
  expectBusybox(*image);
  EXPECT_EQ(image->config.entrypoint, std::vector<std::string>{"/bin/busybox"});
  EXPECT_EQ(image->config.cmd, (std::vector<std::string>{"echo", "a"}));
  EXPECT_EQ(image->config.workingDir, "/etc");
  EXPECT_EQ(image->config.env, (std::vector<std::string>{"PATH=/bin", "GREETING=hi"}));
  expectNothingOutsideStore();
}

TEST_F(ImageStoreTest, SharesLayersBetweenImagesAndSecondPullIsACacheHit) {
  auto layout = makeLayout();
  auto t0 = std::chrono::steady_clock::now();
  auto a = store_->pull("oci:" + layout.dir() + ":a");
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(a) << a.error().message;
  auto b = store_->pull("oci:" + layout.dir() + ":b");
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_EQ(b->layerDirs.size(), 2u);
  EXPECT_EQ(a->layerDirs[0], b->layerDirs[0]);
  EXPECT_EQ(store_->layerUsers(layerDigest(base_)), 2);
  EXPECT_EQ(store_->layerUsers(layerDigest(top_)), 1);

  struct stat before, after;
  ASSERT_EQ(::stat((a->layerDirs[0] + "/bin/busybox").c_str(), &before), 0);
  auto t2 = std::chrono::steady_clock::now();
  auto again = store_->pull("oci:" + layout.dir() + ":a");
  auto t3 = std::chrono::steady_clock::now();
  ASSERT_TRUE(again);
  ASSERT_EQ(::stat((a->layerDirs[0] + "/bin/busybox").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not unpacked again
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::cout << "oci pull busybox: first " << ms(t1 - t0) << " ms, cached " << ms(t3 - t2)
            << " ms\n";
  EXPECT_EQ(store_->imageIds().size(), 2u);
}

TEST_F(ImageStoreTest, PicksLinuxAmd64FromAnIndex) {
  auto layout = makeLayout();
  auto image = store_->pull("oci:" + layout.dir() + ":multi");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->manifestDigest, manifestB_);
  EXPECT_EQ(image->id, sha256Digest(configB_.dump()));
}

TEST_F(ImageStoreTest, PullsFromOciArchive) {
  auto layout = makeLayout();
  writeFile(root_ + "/src/image.tar", tarDirectory(layout.dir()));
  auto image = store_->pull("oci-archive:" + root_ + "/src/image.tar:b");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->layerDirs.size(), 2u);
  expectBusybox(*image);
  expectNothingOutsideStore();
}

TEST_F(ImageStoreTest, PullsFromDockerArchive) {
  Layer plainBase = makeLayer(busyboxLayer(), false);
  Layer plainTop = makeLayer({dir("etc"), file("etc/.wh.doomed", "")}, false);
  auto config = makeConfig({plainBase, plainTop}, {"/bin/sh"}, {});
  writeFile(root_ + "/src/docker.tar",
            makeDockerArchive({plainBase, plainTop}, config, "busybox:test"));
  auto image = store_->pull("docker-archive:" + root_ + "/src/docker.tar");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->id, sha256Digest(config.dump()));
  EXPECT_EQ(image->layerDigests[0], sha256Digest(plainBase.tar));
  expectBusybox(*image);
  auto tagged = store_->pull("docker-archive:" + root_ + "/src/docker.tar:busybox:test");
  ASSERT_TRUE(tagged) << tagged.error().message;
  EXPECT_EQ(tagged->id, image->id);
  auto missing = store_->pull("docker-archive:" + root_ + "/src/docker.tar:busybox:nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("no image tagged 'busybox:nope'"), std::string::npos);
  expectNothingOutsideStore();
}

// Docker 25+ `docker save`: an OCI layout plus a manifest.json naming blobs.
TEST_F(ImageStoreTest, PullsFromOciLayoutDockerArchive) {
  Layer plain = makeLayer(busyboxLayer(), false);
  auto config = makeConfig({plain}, {"/bin/sh"}, {});
  OciLayout layout(root_ + "/src/docker-oci");
  layout.addImage({plain}, config, "busybox:new");
  std::string configHex = digestHex(sha256Digest(config.dump()));
  std::string layerHex = digestHex(sha256Digest(plain.tar));
  writeFile(layout.dir() + "/manifest.json",
            nlohmann::json::array({{{"Config", "blobs/sha256/" + configHex},
                                    {"RepoTags", {"busybox:new"}},
                                    {"Layers", {"blobs/sha256/" + layerHex}}}})
                .dump());
  writeFile(root_ + "/src/docker-oci.tar", tarDirectory(layout.dir()));
  auto image = store_->pull("docker-archive:" + root_ + "/src/docker-oci.tar");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->id, "sha256:" + configHex);
  EXPECT_EQ(image->layerDigests, std::vector<std::string>{"sha256:" + layerHex});
  expectBusybox(*image);
}

TEST_F(ImageStoreTest, WhiteoutsHideLowerFilesInTheOverlay) {
  auto layout = makeLayout();
  auto image = store_->pull("oci:" + layout.dir() + ":b");
  ASSERT_TRUE(image) << image.error().message;
  const std::string& top = image->layerDirs[1];
  struct stat st;
  ASSERT_EQ(::lstat((top + "/etc/doomed").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(top + "/etc/.wh.doomed"));
  char value[8] = {};
  ASSERT_EQ(::getxattr((top + "/opq").c_str(), "trusted.overlay.opaque", value, sizeof(value)), 1);
  EXPECT_EQ(value[0], 'y');

  OverlayRootfs rootfs{image->layerDirs, root_ + "/ctr/upper", root_ + "/ctr/work",
                       root_ + "/ctr/rootfs"};
  auto mounted = mountOverlayRootfs(rootfs);
  ASSERT_TRUE(mounted) << mounted.error().message;
  mounts_.push_back(rootfs.target);
  const std::string& r = rootfs.target;
  EXPECT_EQ(readFile(r + "/etc/hello"), "hello\n");
  EXPECT_EQ(readFile(r + "/etc/added"), "added\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(r + "/etc/doomed")));
  EXPECT_FALSE(fs::exists(r + "/opq/a"));
  EXPECT_EQ(readFile(r + "/opq/b"), "b\n");
  EXPECT_EQ(readFile(r + "/bin/busybox"), readFile("/bin/busybox"));
  writeFile(r + "/etc/hello", "changed\n");
  EXPECT_EQ(readFile(rootfs.upperDir + "/etc/hello"), "changed\n");
  EXPECT_EQ(readFile(image->layerDirs[0] + "/etc/hello"), "hello\n");  // layers stay read-only

  ASSERT_TRUE(unmountOverlayRootfs(r));
  mounts_.clear();
  EXPECT_FALSE(fs::exists(r + "/etc"));
  EXPECT_TRUE(unmountOverlayRootfs(r));  // idempotent
}

TEST_F(ImageStoreTest, GcRemovesUnusedImagesAndLayersAndKeepsUsedOnes) {
  auto layout = makeLayout();
  auto a = store_->pull("oci:" + layout.dir() + ":a");
  auto b = store_->pull("oci:" + layout.dir() + ":b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(store_->acquire(a->id));
  ASSERT_TRUE(store_->acquire(a->id));
  EXPECT_EQ(store_->imageUsers(a->id), 2);

  GcResult first = store_->gc();
  EXPECT_EQ(first.imagesRemoved, 1);
  EXPECT_EQ(first.layersRemoved, 1);
  EXPECT_FALSE(fs::exists(b->layerDirs[1]));
  EXPECT_TRUE(fs::exists(a->layerDirs[0] + "/bin/busybox"));
  EXPECT_FALSE(store_->get(b->id));
  EXPECT_EQ(store_->layerUsers(layerDigest(base_)), 1);

  // A restarted store sees the same images and layer users.
  store_.reset();
  auto reopened = ImageStore::create(root_ + "/store");
  ASSERT_TRUE(reopened) << reopened.error().message;
  store_ = std::move(*reopened);
  EXPECT_EQ(store_->imageIds(), std::vector<std::string>{a->id});
  EXPECT_EQ(store_->layerUsers(layerDigest(base_)), 1);
  ASSERT_TRUE(store_->acquire(a->id));

  EXPECT_EQ(store_->gc().imagesRemoved, 0);
  store_->release(a->id);
  GcResult last = store_->gc();
  EXPECT_EQ(last.imagesRemoved, 1);
  EXPECT_EQ(last.layersRemoved, 1);
  EXPECT_TRUE(fs::is_empty(root_ + "/store/layers"));
  EXPECT_TRUE(fs::is_empty(root_ + "/store/images"));
  auto unknown = store_->acquire(a->id);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace agora::agent::images::testing
