// Hostile and broken images: each is refused with an error naming the
// problem, and nothing lands outside the store. Needs root; skips otherwise.

#include <unistd.h>

#include "agent/images/digest.hpp"
#include "tests/agent/images/image_fixture.hpp"

namespace agora::agent::images::testing {
namespace {

namespace fs = std::filesystem;
using ImageBadInputTest = ImageFixture;

// The pull fails with `code` and a message containing `text`, leaving no
// layer, record or scratch file, and nothing outside the store.
void expectPullFails(ImageFixture& f, const std::string& ref, ErrorCode code,
                     const std::string& text) {
  SCOPED_TRACE(ref);
  auto result = f.store()->pull(ref);
  ASSERT_FALSE(result) << "pulled " << ref;
  EXPECT_EQ(result.error().code, code) << result.error().message;
  EXPECT_NE(result.error().message.find(text), std::string::npos) << result.error().message;
  EXPECT_TRUE(fs::is_empty(f.storeDir() + "/layers"));
  EXPECT_TRUE(fs::is_empty(f.storeDir() + "/images"));
  f.expectNothingOutsideStore();
}

#define EXPECT_PULL_FAILS(ref, errorCode, text) expectPullFails(*this, ref, errorCode, text)

TEST_F(ImageBadInputTest, RejectsDotDotEntries) {
  EXPECT_PULL_FAILS(layoutWithLayer({file("ok", "x"), file("../evil", "x")}),
                    ErrorCode::kProtocol, "entry '../evil' escapes the layer");
  EXPECT_PULL_FAILS(layoutWithLayer({dir("a"), file("a/../../../sentinel/evil", "x")}, true),
                    ErrorCode::kProtocol, "escapes the layer");
}

TEST_F(ImageBadInputTest, RejectsAbsolutePaths) {
  const std::string target = sentinel_ + "/abs";
  EXPECT_PULL_FAILS(layoutWithLayer({file(target, "x")}), ErrorCode::kProtocol,
                    "entry '" + target + "' is an absolute path");
}

TEST_F(ImageBadInputTest, RejectsWritesThroughSymlinks) {
  EXPECT_PULL_FAILS(layoutWithLayer({symlink("escape", sentinel_), file("escape/pwned", "x")}),
                    ErrorCode::kProtocol,
                    "entry 'escape/pwned' would be written through symlink 'escape'");
  EXPECT_PULL_FAILS(
      layoutWithLayer({symlink("up", "../../../../../.."), file("up/tmp/pwned", "x")}),
      ErrorCode::kProtocol, "would be written through symlink 'up'");
  EXPECT_PULL_FAILS(layoutWithLayer({symlink("escape", sentinel_), hardlink("h", "escape/x")}),
                    ErrorCode::kProtocol, "would be written through symlink 'escape'");
}

TEST_F(ImageBadInputTest, RejectsHardLinksOutOfTheLayer) {
  EXPECT_PULL_FAILS(layoutWithLayer({hardlink("passwd", "../../../../etc/passwd")}),
                    ErrorCode::kProtocol, "hard link 'passwd' -> '../../../../etc/passwd'");
  EXPECT_PULL_FAILS(layoutWithLayer({hardlink("passwd", "/etc/passwd")}), ErrorCode::kProtocol,
                    "points outside the layer");
}

TEST_F(ImageBadInputTest, RejectsDeviceNodes) {
  EXPECT_PULL_FAILS(layoutWithLayer({dir("dev"), charDevice("dev/mem", 1, 1)}),
                    ErrorCode::kProtocol, "device node 'dev/mem' (1:1) is not allowed");
}

TEST_F(ImageBadInputTest, RejectsAManifestThatLiesAboutItsDigest) {
  auto layout = makeLayout();
  std::string path = layout.blobPath(manifestA_);
  std::string bytes = readFile(path);
  writeFile(path, bytes + " ");
  EXPECT_PULL_FAILS("oci:" + layout.dir() + ":a", ErrorCode::kProtocol,
                    "manifest " + manifestA_ + " does not match its digest: expected " +
                        manifestA_ + ", got " + sha256Digest(bytes + " "));
}

TEST_F(ImageBadInputTest, RejectsALayerThatDoesNotMatchItsDigest) {
  auto layout = makeLayout();
  std::string layer = sha256Digest(base_.blob);
  // Same size, different (valid) content: only the digest can tell.
  std::string other = makeTar({file("x", "not busybox")});
  ASSERT_LT(other.size(), base_.blob.size());
  other.resize(base_.blob.size(), '\0');
  writeFile(layout.blobPath(layer), other);
  EXPECT_PULL_FAILS("oci:" + layout.dir() + ":a", ErrorCode::kProtocol,
                    "layer " + layer + " does not match its digest");
}

TEST_F(ImageBadInputTest, RejectsAConfigWhoseDiffIdsDoNotMatchTheLayers) {
  Layer layer = makeLayer(busyboxLayer(), true);
  Layer other = makeLayer({file("other", "x")}, false);
  OciLayout layout(root_ + "/src/diff-ids");
  layout.addImage({layer}, makeConfig({other}, {}, {"/bin/sh"}), "t");
  EXPECT_PULL_FAILS("oci:" + layout.dir() + ":t", ErrorCode::kProtocol,
                    "layer " + sha256Digest(layer.blob) +
                        ": uncompressed content (the config's diff_id) does not match its "
                        "digest: expected " + sha256Digest(other.tar) + ", got " +
                        sha256Digest(layer.tar));
  // The verified config stays until gc: no image uses it.
  EXPECT_FALSE(fs::is_empty(storeDir() + "/blobs/sha256"));
  store()->gc();
  EXPECT_TRUE(fs::is_empty(storeDir() + "/blobs/sha256"));
}

TEST_F(ImageBadInputTest, RejectsTruncatedArchives) {
  Layer plain = makeLayer(busyboxLayer(), false);
  auto config = makeConfig({plain}, {}, {"/bin/sh"});
  std::string archive = makeDockerArchive({plain}, config, "busybox:t");
  writeFile(root_ + "/src/cut.tar", archive.substr(0, archive.size() / 2));
  EXPECT_PULL_FAILS("docker-archive:" + root_ + "/src/cut.tar", ErrorCode::kProtocol,
                    "corrupt or truncated archive");

  // A truncated gzip layer whose manifest gives no size.
  Layer gz = makeLayer(busyboxLayer(), true);
  OciLayout layout(root_ + "/src/cut-layer");
  std::string cut = gz.blob.substr(0, gz.blob.size() / 2);
  std::string layerDigest = layout.addBlob(cut);
  std::string configBytes = makeConfig({gz}, {}, {}).dump();
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"config", {{"digest", layout.addBlob(configBytes)}, {"size", configBytes.size()}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", layerDigest}}}}};
  std::string m = manifest.dump();
  layout.tag(layout.addBlob(m), "application/vnd.oci.image.manifest.v1+json",
             static_cast<int64_t>(m.size()), "t");
  EXPECT_PULL_FAILS("oci:" + layout.dir() + ":t", ErrorCode::kProtocol,
                    "layer " + layerDigest + ": ");
}

TEST_F(ImageBadInputTest, MissingImagesAndTagsAreNotFound) {
  auto layout = makeLayout();
  EXPECT_PULL_FAILS("oci:" + layout.dir() + ":nope", ErrorCode::kNotFound,
                    "no image tagged 'nope' (tags: a, b, multi)");
  EXPECT_PULL_FAILS("oci:" + root_ + "/src/absent:a", ErrorCode::kNotFound, "/src/absent");
  EXPECT_PULL_FAILS("oci:" + sentinel_, ErrorCode::kNotFound, "not an OCI image layout");
  EXPECT_PULL_FAILS("docker-archive:" + root_ + "/src/none.tar", ErrorCode::kNotFound,
                    "none.tar");
  EXPECT_PULL_FAILS("oci:" + layout.dir(), ErrorCode::kInvalidArgument,
                    "the layout holds 3 images; name one with :TAG");
  EXPECT_PULL_FAILS("busybox", ErrorCode::kInvalidArgument, "bad image reference 'busybox'");
}

}  // namespace
}  // namespace agora::agent::images::testing
