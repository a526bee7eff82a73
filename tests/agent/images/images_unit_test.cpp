// Logic of the image store that needs no root, network or real image:
// references, digests, manifests, configs and command merging, entry names.

#include <gtest/gtest.h>

#include "agent/images/digest.hpp"
#include "agent/images/image_config.hpp"
#include "agent/images/layer_unpacker.hpp"
#include "agent/images/manifest.hpp"
#include "agent/images/reference.hpp"

namespace agora::agent::images {
namespace {

const std::string kHex(64, 'a');

TEST(ImageReferenceTest, ParsesEveryTransport) {
  auto oci = parseImageReference("oci:/images/busybox:v1");
  ASSERT_TRUE(oci) << oci.error().message;
  EXPECT_EQ(oci->transport, Transport::kOciLayout);
  EXPECT_EQ(oci->path, "/images/busybox");
  EXPECT_EQ(oci->tag, "v1");

  auto archive = parseImageReference("oci-archive:/tmp/b.tar");
  ASSERT_TRUE(archive);
  EXPECT_EQ(archive->transport, Transport::kOciArchive);
  EXPECT_EQ(archive->tag, "");

  auto docker = parseImageReference("docker-archive:/tmp/d.tar:busybox:latest");
  ASSERT_TRUE(docker) << docker.error().message;
  EXPECT_EQ(docker->path, "/tmp/d.tar");
  EXPECT_EQ(docker->tag, "busybox:latest");

  auto reg = parseImageReference("docker://127.0.0.1:5000/library/busy-box:1.36");
  ASSERT_TRUE(reg) << reg.error().message;
  EXPECT_EQ(reg->host, "127.0.0.1:5000");
  EXPECT_EQ(reg->repository, "library/busy-box");
  EXPECT_EQ(reg->tag, "1.36");
  EXPECT_EQ(reg->toString(), "docker://127.0.0.1:5000/library/busy-box:1.36");

  auto pinned = parseImageReference("docker://registry.local/busybox@sha256:" + kHex);
  ASSERT_TRUE(pinned) << pinned.error().message;
  EXPECT_EQ(pinned->digest, "sha256:" + kHex);
  EXPECT_EQ(pinned->tag, "");

  auto untagged = parseImageReference("docker://localhost:5000/busybox");
  ASSERT_TRUE(untagged);
  EXPECT_EQ(untagged->tag, "latest");
}

TEST(ImageReferenceTest, ErrorsNameTheReferenceAndTheProblem) {
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"busybox", "missing transport"},
      {"ftp:/x", "unknown transport 'ftp'"},
      {"oci:", "missing path"},
      {"docker://busybox", "expected docker://HOST[:PORT]/NAME[:TAG]"},
      {"docker://host:99999/busybox", "bad registry host 'host:99999'"},
      {"docker://host/BusyBox", "bad repository name component 'BusyBox'"},
      {"docker://host/busybox:-bad", "bad tag '-bad'"},
      {"docker://host/busybox@sha256:abc", "expected 64 hex digits, got 3"},
      {"docker://host/busybox@md5:" + kHex, "unsupported algorithm 'md5'"},
      {"docker-archive:/d.tar:latest", "expected NAME:TAG after the archive path"},
  };
  for (const auto& c : cases) {
    auto ref = parseImageReference(c.text);
    ASSERT_FALSE(ref) << c.text;
    EXPECT_EQ(ref.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(ref.error().message.find("'" + c.text + "'"), std::string::npos) << ref.error().message;
    EXPECT_NE(ref.error().message.find(c.expected), std::string::npos) << ref.error().message;
  }
}

TEST(DigestTest, HashesAndValidates) {
  EXPECT_EQ(sha256Digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(validateDigest("sha256:" + kHex));
  EXPECT_FALSE(validateDigest("sha256:" + std::string(64, 'A')));
  auto mismatch = checkDigest("layer x", "sha256:" + kHex, sha256Digest("abc"));
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kProtocol);
  EXPECT_NE(mismatch.error().message.find("layer x does not match its digest: expected sha256:aaa"),
            std::string::npos);
}

TEST(EntryNameTest, NormalizesAndRejectsEscapes) {
  EXPECT_EQ(*normalizeEntryName("./usr//bin/"), "usr/bin");
  EXPECT_EQ(*normalizeEntryName("./"), "");
  auto up = normalizeEntryName("a/../../evil");
  ASSERT_FALSE(up);
  EXPECT_NE(up.error().message.find("'a/../../evil' escapes the layer"), std::string::npos);
  auto abs = normalizeEntryName("/etc/passwd");
  ASSERT_FALSE(abs);
  EXPECT_NE(abs.error().message.find("'/etc/passwd' is an absolute path"), std::string::npos);
}

TEST(ManifestTest, ParsesManifestsAndPicksLinuxAmd64) {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  std::string manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(kDockerManifest) +
                         R"(","config":{"digest":")" + d1 + R"(","size":10},"layers":[{"mediaType":
      "application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" + d2 + R"(","size":5}]})";
  auto parsed = parseManifest(manifest, "m");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->config.digest, d1);
  ASSERT_EQ(parsed->layers.size(), 1u);
  EXPECT_EQ(parsed->layers[0].size, 5);

  std::string foreign = R"({"schemaVersion":2,"config":{"digest":")" + d1 +
                        R"("},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" +
                        d2 + R"("}]})";
  auto rejected = parseManifest(foreign, "m");
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("unsupported media type"), std::string::npos);

  std::string index = R"({"schemaVersion":2,"manifests":[
      {"digest":")" + d1 + R"(","platform":{"os":"linux","architecture":"arm64"}},
      {"digest":")" + d2 + R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  auto picked = pickPlatformManifest(index, "i");
  ASSERT_TRUE(picked) << picked.error().message;
  EXPECT_EQ(picked->digest, d2);
  EXPECT_EQ(*documentMediaType(index, ""), kOciIndex);

  std::string armOnly = R"({"manifests":[{"digest":")" + d1 +
                        R"(","platform":{"os":"linux","architecture":"arm64"}}]})";
  auto none = pickPlatformManifest(armOnly, "i");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_NE(none.error().message.find("no linux/amd64 image (has linux/arm64)"), std::string::npos);
}

TEST(ImageConfigTest, ParsesConfigAndRejectsWrongTypes) {
  auto config = parseImageConfig(R"({"os":"linux","config":{"Entrypoint":["/bin/sh"],
      "Cmd":["-c","echo hi"],"Env":["PATH=/bin","A=1"],"WorkingDir":"/w","User":"1000:1000"},
      "rootfs":{"diff_ids":["sha256:)" + kHex + R"("]}})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->entrypoint, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(config->cmd, (std::vector<std::string>{"-c", "echo hi"}));
  EXPECT_EQ(config->workingDir, "/w");
  EXPECT_EQ(config->user, "1000:1000");
  EXPECT_EQ(config->diffIds.size(), 1u);

  auto bad = parseImageConfig(R"({"config":{"Cmd":"echo hi"}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("config.config.Cmd must be an array of strings"),
            std::string::npos);
}

TEST(MergeCommandTest, FollowsDockerRules) {
  ImageConfig image;
  image.entrypoint = {"/bin/busybox"};
  image.cmd = {"echo", "default"};
  image.env = {"PATH=/bin", "A=image"};

  CommandInfo none;  // shell=true, no value: the image decides
  auto spec = mergeCommand(image, none);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/busybox", "echo", "default"}));
  EXPECT_EQ(spec->workingDir, "/");

  CommandInfo args;
  args.shell = false;
  args.arguments = {"ls", "/"};
  args.environment = {{"A", "task"}};
  args.user = "nobody";
  spec = mergeCommand(image, args);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/busybox", "ls", "/"}));
  EXPECT_EQ(spec->env, (std::vector<std::string>{"PATH=/bin", "A=task"}));
  EXPECT_EQ(spec->user, "nobody");

  CommandInfo exec;
  exec.shell = false;
  exec.value = "/bin/true";
  exec.arguments = {"true", "x"};
  spec = mergeCommand(image, exec);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/true", "x"}));

  CommandInfo shell;
  shell.value = "echo $A";
  spec = mergeCommand(image, shell);
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/sh", "-c", "echo $A"}));

  auto empty = mergeCommand(ImageConfig{}, CommandInfo{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(empty.error().message.find("no Entrypoint or Cmd"), std::string::npos);
}

}  // namespace
}  // namespace agora::agent::images
