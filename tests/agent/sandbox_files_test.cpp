#include "agent/sandbox_files.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/http_api.hpp"
#include "common/metrics.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class SandboxFilesTest : public ::testing::Test {
 protected:
  SandboxFilesTest() {
    char tmpl[] = "/tmp/agora-files-XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ + "/sandboxes/fw/t1/c1");
    std::ofstream(root_ + "/sandboxes/fw/t1/c1/stdout") << "hello world";
    std::ofstream(root_ + "/secret") << "top secret";
    fs::create_symlink(root_ + "/secret", root_ + "/sandboxes/fw/t1/c1/escape");
    fs::create_symlink(root_ + "/sandboxes/fw/t1/c1/stdout", root_ + "/sandboxes/fw/t1/c1/inside");
  }
  ~SandboxFilesTest() override { fs::remove_all(root_); }

  std::string path(const std::string& rel) { return root_ + "/sandboxes/fw/t1/c1/" + rel; }

  std::string root_;
  SandboxFiles files() { return SandboxFiles(root_ + "/sandboxes"); }
};

TEST_F(SandboxFilesTest, ReadsARange) {
  auto chunk = files().read(path("stdout"), 6, 3);
  ASSERT_TRUE(chunk) << chunk.error().message;
  EXPECT_EQ(chunk->data, "wor");
  EXPECT_EQ(chunk->offset, 6);
  chunk = files().read(path("stdout"), 0, -1);
  EXPECT_EQ(chunk->data, "hello world");
}

TEST_F(SandboxFilesTest, OffsetMinusOneGivesTheSize) {
  auto chunk = files().read(path("stdout"), -1, -1);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->data, "");
  EXPECT_EQ(chunk->offset, 11);
}

TEST_F(SandboxFilesTest, PastTheEndIsEmpty) {
  auto chunk = files().read(path("stdout"), 100, 10);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->data, "");
}

TEST_F(SandboxFilesTest, RefusesPathsOutsideTheSandboxes) {
  EXPECT_EQ(files().read(root_ + "/secret", 0, -1).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(files().read(path("../../../../secret"), 0, -1).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(files().read("/etc/passwd", 0, -1).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(files().read(path("escape"), 0, -1).error().code, ErrorCode::kPermissionDenied);
  // No symbolic link is followed, even one that stays in the sandbox.
  EXPECT_EQ(files().read(path("inside"), 0, -1).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(SandboxFilesTest, CountsRefusalsAndReadsThroughRedundantSlashes) {
  Metrics metrics;
  prometheus::Counter& refused = metrics.counter("refused", "test");
  SandboxFiles counted(root_ + "/sandboxes", &refused);
  EXPECT_FALSE(counted.read(path("escape"), 0, -1));
  EXPECT_FALSE(counted.read(root_ + "/secret", 0, -1));
  EXPECT_EQ(refused.Value(), 2);
  auto chunk = counted.read(root_ + "/sandboxes/fw//t1/./c1//stdout", 0, -1);
  ASSERT_TRUE(chunk) << chunk.error().message;
  EXPECT_EQ(chunk->data, "hello world");
  EXPECT_EQ(refused.Value(), 2);
}

TEST_F(SandboxFilesTest, OpenatTwoAndTheWalkWithoutItRefuseTheSameLinks) {
  fs::create_directories(path("dir"));
  std::ofstream(path("dir/file")) << "x";
  fs::create_symlink(path("dir"), path("dirlink"));
  int sandbox = open(path("").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(sandbox, 0);
  for (bool openat2 : {true, false}) {
    SCOPED_TRACE(openat2 ? "openat2" : "walk");
    int fd = openBeneathNoLinks(sandbox, "dir/file", openat2);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd >= 0) close(fd);
    for (const char* rel : {"dirlink/file", "inside", "escape"}) {
      errno = 0;
      EXPECT_EQ(openBeneathNoLinks(sandbox, rel, openat2), -1) << rel;
      EXPECT_EQ(errno, ELOOP) << rel;
    }
    errno = 0;
    EXPECT_EQ(openBeneathNoLinks(sandbox, "dir/../../c1/stdout", openat2), -1);
    EXPECT_EQ(errno, EXDEV);
    errno = 0;
    EXPECT_EQ(openBeneathNoLinks(sandbox, "nope", openat2), -1);
    EXPECT_EQ(errno, ENOENT);
  }
  close(sandbox);
}

TEST_F(SandboxFilesTest, ServesOnlyWhatTheSandboxOwnerCouldRead) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own files as others";
  struct passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const std::string sandbox = root_ + "/sandboxes/fw/t1/c1";
  ASSERT_EQ(chown(sandbox.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  std::ofstream(root_ + "/private") << "root only";
  std::ofstream(root_ + "/public") << "for all";
  chmod((root_ + "/private").c_str(), 0600);
  chmod((root_ + "/public").c_str(), 0644);
  ASSERT_EQ(link((root_ + "/private").c_str(), path("private").c_str()), 0);
  ASSERT_EQ(link((root_ + "/public").c_str(), path("public").c_str()), 0);
  std::ofstream(path("own")) << "mine";
  chmod(path("own").c_str(), 0600);
  ASSERT_EQ(chown(path("own").c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  auto refused = files().read(path("private"), 0, -1);
  ASSERT_FALSE(refused) << "a hard link to a file nobody cannot read was served";
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(files().read(path("public"), 0, -1)->data, "for all");
  EXPECT_EQ(files().read(path("own"), 0, -1)->data, "mine");
  // Root's own sandbox: root's task could read it all itself.
  ASSERT_EQ(chown(sandbox.c_str(), 0, 0), 0);
  EXPECT_EQ(files().read(path("private"), 0, -1)->data, "root only");
}

TEST_F(SandboxFilesTest, ReportsMissingFilesAndBadArguments) {
  EXPECT_EQ(files().read(path("nope"), 0, -1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(files().read(path("stdout"), -2, -1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(files().read(path(""), 0, -1).error().code,
            ErrorCode::kInvalidArgument);  // a directory
  EXPECT_EQ(files().read("relative", 0, -1).error().code, ErrorCode::kInvalidArgument);
  std::string bad = "12x";
  EXPECT_FALSE(parseInt64(&bad, 0));
  EXPECT_EQ(*parseInt64(nullptr, 7), 7);
}

}  // namespace
}  // namespace agora::agent

namespace agora::agent {
namespace {

TEST_F(SandboxFilesTest, RawModeServesBytesUnchangedWithTheirOffset) {
  std::string bytes = std::string("ab\xff\xfe", 4) + "\xc3";  // invalid UTF-8, a cut character
  std::ofstream(path("bin"), std::ios::binary) << bytes;
  http::Request request;
  request.query = {{"path", path("bin")}, {"offset", "1"}, {"raw", "1"}};
  http::Response raw = filesReadResponse(files(), request);
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.contentType, "application/octet-stream");
  EXPECT_EQ(raw.body, bytes.substr(1));
  ASSERT_EQ(raw.headers.size(), 1u);
  EXPECT_EQ(raw.headers[0], (std::pair<std::string, std::string>{"X-Agora-Offset", "1"}));
  // The JSON form stays for the web UI (invalid UTF-8 replaced).
  request.query.erase("raw");
  http::Response json = filesReadResponse(files(), request);
  EXPECT_EQ(json.contentType, "application/json");
  EXPECT_NE(json.body.find("\"offset\":1"), std::string::npos) << json.body;
}

}  // namespace
}  // namespace agora::agent
