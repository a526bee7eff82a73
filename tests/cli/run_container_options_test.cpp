// `agora run --network/--hostname/--image`: parsed, validated, and carried into the task.

#include <gtest/gtest.h>

#include "cli/run_options.hpp"

namespace agora::cli {
namespace {

TEST(RunContainerOptionsTest, DefaultsToTheHostNetworkAndNoHostname) {
  GlobalOptions global;
  auto options = parseRunOptions({"--", "true"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_TRUE(task->container.isDefault());
}

TEST(RunContainerOptionsTest, NetworkNoneAndAHostnameGoIntoTheTask) {
  GlobalOptions global;
  auto options = parseRunOptions({"--network", "none", "--hostname=box-1", "--", "hostname"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_EQ(task->container.networkMode, NetworkMode::NONE);
  EXPECT_EQ(task->container.hostname, "box-1");
}

TEST(RunContainerOptionsTest, RejectsOtherNetworksAndBadHostnames) {
  GlobalOptions global;
  auto bridge = parseRunOptions({"--network", "bridge", "--", "true"}, global);
  ASSERT_FALSE(bridge);
  EXPECT_EQ(bridge.error().message, "--network 'bridge' is not host or none");
  auto bad = parseRunOptions({"--hostname", "no_underscores", "--", "true"}, global);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--hostname: hostname 'no_underscores'"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(parseRunOptions({"--hostname", "", "--", "true"}, global));
}

TEST(RunContainerOptionsTest, AnImageWithoutACommandRunsItsEntrypointAndCmd) {
  GlobalOptions global;
  auto options = parseRunOptions({"--image", "oci:/images/busybox:1"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_EQ(task->container.image, "oci:/images/busybox:1");
  EXPECT_FALSE(task->command.shell);
  EXPECT_TRUE(task->command.value.empty());
  EXPECT_TRUE(task->command.arguments.empty());
}

TEST(RunContainerOptionsTest, AnImageCommandReplacesTheImageCmd) {
  GlobalOptions global;
  auto options =
      parseRunOptions({"--image", "docker://127.0.0.1:5000/busybox", "--", "ls", "-l"}, global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_FALSE(task->command.shell);
  EXPECT_TRUE(task->command.value.empty());
  EXPECT_EQ(task->command.arguments, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_FALSE(parseRunOptions({}, global));  // neither a command nor an image
}

}  // namespace
}  // namespace agora::cli
