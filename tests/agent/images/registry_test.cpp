// Pulls from a real Docker registry (Debian's docker-registry, filesystem
// storage in the test's temp dir, 127.0.0.1 only) that skopeo fills from an
// OCI layout built in the test. Needs root, docker-registry and skopeo.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "agent/images/digest.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/agent/images/image_fixture.hpp"

namespace agora::agent::images::testing {
namespace {

namespace fs = std::filesystem;

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Runs a command to completion; its output goes to `log`.
int run(const std::vector<std::string>& argv, const std::string& log) {
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = options.stderrPath = log;
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) return -1;
  int status = 0;
  ::waitpid(*pid, &status, 0);
  return exitCodeOf(status);
}

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

class RegistryTest : public ImageFixture {
 protected:
  void SetUp() override {
    ImageFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo"}) {
      if (!fs::exists(tool)) GTEST_SKIP() << tool << " is not installed (scripts/setup)";
    }
    // Registry data and logs live under src/ so the store-escape checks hold.
    const std::string dir = root_ + "/src/registry";
    fs::create_directories(dir + "/data");
    port_ = freePort();
    writeFile(dir + "/config.yml", "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                                   "    rootdirectory: " + dir + "/data\n  delete:\n"
                                   "    enabled: true\nhttp:\n  addr: 127.0.0.1:" +
                                       std::to_string(port_) + "\n");
    SpawnOptions options;
    options.argv = {"docker-registry", "serve", dir + "/config.yml"};
    options.stdoutPath = options.stderrPath = dir + "/log";
    options.newSession = true;
    options.dieWithParent = true;
    auto pid = spawn(options);
    ASSERT_TRUE(pid) << pid.error().message;
    registryPid_ = *pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
      auto r = http::get(url("/v2/"), std::chrono::seconds(1));
      if (r && r->status == 200) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "registry not ready: " << readFile(dir + "/log");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void TearDown() override {
    if (registryPid_ > 0) {
      ::kill(registryPid_, SIGKILL);
      ::waitpid(registryPid_, nullptr, 0);
    }
    ImageFixture::TearDown();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string ref(const std::string& name) const {
    return "docker://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

  void push(const std::string& src, const std::string& name, bool all = false) {
    std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--quiet",
                                     "--dest-tls-verify=false"};
    if (all) argv.push_back("--all");
    argv.push_back(src);
    argv.push_back(ref(name));
    std::string log = root_ + "/src/skopeo.log";
    ASSERT_EQ(run(argv, log), 0) << readFile(log);
  }

  pid_t registryPid_ = -1;
  int port_ = 0;
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
  auto refused = store_->pull("docker://127.0.0.1:" + std::to_string(freePort()) + "/x:y");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  expectNothingOutsideStore();
}

}  // namespace
}  // namespace agora::agent::images::testing
