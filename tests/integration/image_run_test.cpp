// `agora run --image` end to end as root: the CLI subscribes to a real
// agora-master, launches on a real agora-agent (cgroups and namespaces), and
// the task runs from a busybox OCI layout built here from the host's
// busybox-static. Its output streams back; over its memory limit it is
// OOM-killed and the CLI names the memory reason and the limit. Skips
// without root.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/agent/images/image_builder.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

namespace fs = std::filesystem;
using namespace agent::images::testing;

class ImageRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for cgroups, namespaces and overlay mounts";
    cluster_.startMaster();
    cluster_.startAgent();
    Layer base = makeLayer(busyboxLayer(), /*gzip=*/true);
    Layer app = makeLayer({dir("srv"), file("srv/motd", "served from the image\n")}, false);
    OciLayout layout(cluster_.root() + "/layout");
    layout.addImage({base, app}, makeConfig({base, app}, {}, {"/bin/sh"}), "1");
    image_ = "oci:" + layout.dir() + ":1";
  }

  // `agora run [flags] -- argv…`; returns its exit code.
  int agoraRun(std::vector<std::string> flags, const std::vector<std::string>& argv) {
    std::vector<std::string> command = {binPath("agora"), "run", "--master", cluster_.masterHttp(),
                                        "--timeout",      "30",  "--image",  image_};
    command.insert(command.end(), flags.begin(), flags.end());
    command.push_back("--");
    command.insert(command.end(), argv.begin(), argv.end());
    return cluster_.runCommand(command, &out_, &err_, std::chrono::seconds(90));
  }

  Cluster cluster_;
  std::string image_;
  std::string out_, err_;
};

TEST_F(ImageRunTest, TheTaskRunsInTheImageAndItsOutputStreamsBack) {
  // /srv/motd exists only in the image's top layer, not on the host.
  ASSERT_FALSE(fs::exists("/srv/motd"));
  int code = agoraRun({}, {"/bin/sh", "-c", "busybox cat /srv/motd; exit 3"});
  EXPECT_EQ(code, 3) << out_ << err_;
  EXPECT_NE(out_.find("served from the image\n"), std::string::npos) << out_ << err_;
}

TEST_F(ImageRunTest, OneCommandWordRunsThroughTheShellAsWithoutAnImage) {
  int code = agoraRun({}, {"busybox ls /srv; echo x"});
  EXPECT_EQ(code, 0) << out_ << err_;
  EXPECT_EQ(out_, "motd\nx\n") << err_;
}

TEST_F(ImageRunTest, OverItsMemoryLimitTheCliNamesTheReasonAndTheLimit) {
  // tail keeps everything after the last newline: /dev/zero has none.
  int code =
      agoraRun({"--mem", "32"},
               {"/bin/sh", "-c", "busybox head -c 209715200 /dev/zero | busybox tail > /dev/null"});
  EXPECT_NE(code, 0) << out_ << err_;
  EXPECT_NE(code, 125) << out_ << err_;  // it ran
  EXPECT_NE(err_.find("TASK_FAILED"), std::string::npos) << err_;
  EXPECT_NE(err_.find("REASON_CONTAINER_LIMITATION_MEMORY"), std::string::npos) << err_;
  EXPECT_NE(err_.find("32 MB"), std::string::npos) << err_;
}

}  // namespace
}  // namespace agora::testing
