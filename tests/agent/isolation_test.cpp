// Pure logic of namespace isolation: the --isolation flag, the clone flags
// and default hostname for a container, and the launch spec's isolation bit.

#include <gtest/gtest.h>
#include <sched.h>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/namespace_task_runner.hpp"
#include "agent/isolation_flag.hpp"

namespace agora::agent {
namespace {

TEST(IsolationFlagTest, EmptyMeansEveryUsableIsolator) {
  auto choice = parseIsolation("");
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->cgroups, IsolatorWant::kAuto);
  EXPECT_EQ(choice->namespaces, IsolatorWant::kAuto);
}

TEST(IsolationFlagTest, AListTurnsOnWhatItNamesAndOffTheRest) {
  auto both = parseIsolation("cgroups,namespaces");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->cgroups, IsolatorWant::kOn);
  EXPECT_EQ(both->namespaces, IsolatorWant::kOn);
  auto ns = parseIsolation("namespaces");
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->cgroups, IsolatorWant::kOff);
  EXPECT_EQ(ns->namespaces, IsolatorWant::kOn);
  auto posix = parseIsolation("posix");
  ASSERT_TRUE(posix);
  EXPECT_EQ(posix->cgroups, IsolatorWant::kOff);
  EXPECT_EQ(posix->namespaces, IsolatorWant::kOff);
}

TEST(IsolationFlagTest, RejectsUnknownNamesEmptyItemsAndPosixWithOthers) {
  auto unknown = parseIsolation("cgroups,docker");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("'docker' is not an isolator"), std::string::npos);
  EXPECT_FALSE(parseIsolation("cgroups,"));
  EXPECT_FALSE(parseIsolation(",namespaces"));
  auto mixed = parseIsolation("posix,namespaces");
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message.find("cannot be combined"), std::string::npos);
}

TEST(IsolationFlagTest, AnExplicitIsolatorMustBeUsableADefaultOneIsDropped) {
  EXPECT_EQ(decideIsolator("namespaces", IsolatorWant::kAuto, ""), true);
  EXPECT_EQ(decideIsolator("namespaces", IsolatorWant::kAuto, "not running as root"), false);
  EXPECT_EQ(decideIsolator("namespaces", IsolatorWant::kOn, ""), true);
  EXPECT_EQ(decideIsolator("namespaces", IsolatorWant::kOff, ""), false);
  auto refused = decideIsolator("namespaces", IsolatorWant::kOn, "not running as root");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "--isolation=namespaces: namespaces isolation is unusable: not running as root");
}

TEST(NamespaceTaskRunnerTest, CloneFlagsFollowTheNetworkMode) {
  ContainerInfo host;
  auto flags = namespaceFlags(host);
  ASSERT_TRUE(flags);
  EXPECT_EQ(*flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC);
  ContainerInfo none;
  none.networkMode = NetworkMode::NONE;
  ASSERT_TRUE(namespaceFlags(none));
  EXPECT_EQ(*namespaceFlags(none), *flags | CLONE_NEWNET);
  ContainerInfo bridge;
  bridge.networkMode = NetworkMode::BRIDGE;
  auto refused = namespaceFlags(bridge);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "network mode bridge is not supported by this agent yet");
}

TEST(NamespaceTaskRunnerTest, DefaultHostnameIsAValidFormOfTheContainerId) {
  EXPECT_EQ(defaultHostname("0123456789abcdef0123456789abcdef"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(defaultHostname("-my_container.1-"), "mycontainer1");
  EXPECT_EQ(defaultHostname("___"), "container");
  EXPECT_EQ(defaultHostname(std::string(100, 'a')), std::string(63, 'a'));
  EXPECT_TRUE(validateHostname(defaultHostname("-a_b-")));
}

LaunchSpec minimalSpec() {
  LaunchSpec spec;
  spec.containerId = "c1";
  spec.sandbox = "/tmp/s";
  spec.agentEndpoint = "ipc:///tmp/e.sock";
  spec.task.taskId = "t1";
  spec.task.command.value = "true";
  return spec;
}

TEST(LaunchSpecTest, CarriesTheNamespacesChoiceAndTheContainerInfo) {
  LaunchSpec spec = minimalSpec();
  spec.task.container.networkMode = NetworkMode::NONE;
  spec.task.container.hostname = "box";
  spec.namespaces = true;
  auto decoded = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(decoded->namespaces);
  EXPECT_EQ(decoded->task.container.networkMode, NetworkMode::NONE);
  EXPECT_EQ(decoded->task.container.hostname, "box");
  spec.namespaces = false;
  EXPECT_FALSE(decodeLaunchSpec(encodeLaunchSpec(spec))->namespaces);
}

TEST(LaunchSpecTest, CarriesTheAgentsSeccompProgram) {
  LaunchSpec spec = minimalSpec();
  EXPECT_FALSE(decodeLaunchSpec(encodeLaunchSpec(spec))->seccomp);
  spec.seccomp = SeccompProgram{0x3f, {{0x20, 1, 2, 4}, {0x06, 0, 0, 0x7fff0000}}};
  auto decoded = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_TRUE(decoded->seccomp);
  EXPECT_TRUE(*decoded->seccomp == *spec.seccomp);
  EXPECT_EQ(decoded->seccomp->program[1].k, 0x7fff0000u);
}

}  // namespace
}  // namespace agora::agent
