// `agora run --network/--hostname/--read-only/--cap-add/--cap-drop`: parsed, validated, and carried into the task.

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

TEST(RunContainerOptionsTest, ReadOnlyAndCapabilityChangesGoIntoTheTask) {
  GlobalOptions global;
  auto options = parseRunOptions({"--read-only", "--cap-add", "NET_ADMIN", "--cap-add=sys_ptrace",
                                  "--cap-drop", "CAP_CHOWN", "--", "true"},
                                 global);
  ASSERT_TRUE(options) << options.error().message;
  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task);
  EXPECT_TRUE(task->container.readOnlyRootfs);
  EXPECT_EQ(task->container.capAdd, (std::vector<std::string>{"NET_ADMIN", "sys_ptrace"}));
  EXPECT_EQ(task->container.capDrop, (std::vector<std::string>{"CAP_CHOWN"}));
  EXPECT_FALSE(task->container.isDefault());
}

TEST(RunContainerOptionsTest, RejectsUnknownOrContradictoryCapabilities) {
  GlobalOptions global;
  auto unknown = parseRunOptions({"--cap-add", "SYS_EVERYTHING", "--", "true"}, global);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "--cap-add: unknown capability 'SYS_EVERYTHING'");
  auto numeric = parseRunOptions({"--cap-drop", "21", "--", "true"}, global);
  ASSERT_FALSE(numeric);
  EXPECT_EQ(numeric.error().message, "--cap-drop: unknown capability '21'");
  auto both = parseRunOptions({"--cap-add", "KILL", "--cap-drop", "cap_kill", "--", "true"}, global);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "capability KILL is both added and dropped");
}

}  // namespace
}  // namespace agora::cli
