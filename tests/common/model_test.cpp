// ContainerInfo in the model: wire and JSON forms, and what is rejected.

#include <gtest/gtest.h>

#include <capnp/message.h>

#include <nlohmann/json.hpp>

#include "common/model.hpp"

namespace agora {
namespace {

Result<TaskInfo> roundTrip(const TaskInfo& task) {
  capnp::MallocMessageBuilder message;
  toCapnp(task, message.initRoot<schema::TaskInfo>());
  return fromCapnp(message.getRoot<schema::TaskInfo>().asReader());
}

TEST(ContainerInfoTest, DefaultsToTheHostNetworkAndNoHostname) {
  TaskInfo task;
  EXPECT_TRUE(task.container.isDefault());
  capnp::MallocMessageBuilder message;
  auto wire = message.initRoot<schema::TaskInfo>();  // as an older sender leaves it
  auto decoded = fromCapnp(wire.asReader());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->container.networkMode, NetworkMode::HOST);
  EXPECT_TRUE(decoded->container.isDefault());
}

TEST(ContainerInfoTest, SurvivesTheWireAndRendersAsJson) {
  TaskInfo task;
  task.taskId = "t";
  task.container.networkMode = NetworkMode::NONE;
  task.container.hostname = "db-1.example";
  task.container.userNamespace = true;
  auto decoded = roundTrip(task);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->container.networkMode, NetworkMode::NONE);
  EXPECT_EQ(decoded->container.hostname, "db-1.example");
  EXPECT_TRUE(decoded->container.userNamespace);
  EXPECT_FALSE(decoded->container.isDefault());
  auto json = toJson(task);
  EXPECT_EQ(json["container"]["network"], "none");
  EXPECT_EQ(json["container"]["hostname"], "db-1.example");
  EXPECT_EQ(json["container"]["user_namespace"], true);
}

TEST(ContainerInfoTest, CarriesTheImageReference) {
  TaskInfo task;
  task.taskId = "t";
  task.container.image = "docker://127.0.0.1:5000/busybox:1";
  EXPECT_FALSE(task.container.isDefault());
  auto decoded = roundTrip(task);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->container.image, "docker://127.0.0.1:5000/busybox:1");
  EXPECT_EQ(toJson(task)["container"]["image"], "docker://127.0.0.1:5000/busybox:1");
}

TEST(ContainerInfoTest, RejectsABadHostnameOrNetworkModeFromTheWire) {
  TaskInfo task;
  task.taskId = "t";
  task.container.hostname = "bad_name";
  auto bad = roundTrip(task);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("hostname 'bad_name'"), std::string::npos);
  capnp::MallocMessageBuilder message;
  auto wire = message.initRoot<schema::TaskInfo>();
  wire.initContainer().setNetworkMode(static_cast<schema::NetworkMode>(7));
  EXPECT_FALSE(fromCapnp(wire.asReader()));
}

TEST(ContainerInfoTest, NetworkModeNamesParseBack) {
  for (auto mode : {NetworkMode::HOST, NetworkMode::NONE, NetworkMode::BRIDGE}) {
    EXPECT_EQ(parseNetworkMode(networkModeName(mode)), mode);
  }
  EXPECT_FALSE(parseNetworkMode("overlay"));
}

TEST(ContainerInfoTest, ValidatesHostnames) {
  EXPECT_TRUE(validateHostname("a"));
  EXPECT_TRUE(validateHostname("web-1.example.org"));
  EXPECT_TRUE(validateHostname(std::string(63, 'a')));
  EXPECT_FALSE(validateHostname(""));
  EXPECT_FALSE(validateHostname(std::string(65, 'a')));
  EXPECT_FALSE(validateHostname(std::string(64, 'a')));  // label over 63
  EXPECT_FALSE(validateHostname("-web"));
  EXPECT_FALSE(validateHostname("web-"));
  EXPECT_FALSE(validateHostname("a..b"));
  EXPECT_FALSE(validateHostname("a."));
  EXPECT_FALSE(validateHostname("a b"));
  EXPECT_FALSE(validateHostname("a/b"));
}

TEST(ContainerInfoTest, SecurityFieldsSurviveTheWireAndRenderAsJson) {
  TaskInfo task;
  task.taskId = "t";
  task.container.readOnlyRootfs = true;
  task.container.capAdd = {"SYS_ADMIN", "cap_net_admin"};
  task.container.capDrop = {"ALL"};
  task.container.seccompUnconfined = true;
  EXPECT_FALSE(task.container.isDefault());
  auto decoded = roundTrip(task);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(decoded->container.readOnlyRootfs);
  EXPECT_EQ(decoded->container.capAdd, task.container.capAdd);
  EXPECT_EQ(decoded->container.capDrop, task.container.capDrop);
  EXPECT_TRUE(decoded->container.seccompUnconfined);
  EXPECT_FALSE(decoded->container.privileged);
  auto json = toJson(task);
  EXPECT_EQ(json["container"]["read_only_rootfs"], true);
  EXPECT_EQ(json["container"]["cap_add"][1], "cap_net_admin");
  EXPECT_EQ(json["container"]["cap_drop"][0], "ALL");
}

TEST(ContainerInfoTest, RejectsUnknownCapabilitiesFromTheWireNamingTheTask) {
  TaskInfo task;
  task.taskId = "t1";
  task.container.capAdd = {"NET_ADMIN", "SYS_GODMODE"};
  auto bad = roundTrip(task);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "task 't1': capAdd: unknown capability 'SYS_GODMODE'");
  task.container.capAdd = {};
  task.container.capDrop = {""};
  bad = roundTrip(task);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "task 't1': capDrop: unknown capability ''");
  task.container.capDrop = {"CHOWN"};
  task.container.privileged = true;
  bad = roundTrip(task);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("privileged"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace agora
