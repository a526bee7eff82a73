// ContainerInfo, FrameworkInfo and a task's secrets in the model: wire and
// JSON forms, and what is rejected (secrets are never rendered as JSON).

#include "common/model.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST(FrameworkInfoTest, WebuiUrlSurvivesTheWireAndRendersAsJson) {
  FrameworkInfo info;
  info.id = "M-0001";
  info.name = "web";
  info.webuiUrl = "https://web.example:8443/ui?x=1";
  capnp::MallocMessageBuilder message;
  toCapnp(info, message.initRoot<schema::FrameworkInfo>());
  auto decoded = fromCapnp(message.getRoot<schema::FrameworkInfo>().asReader());
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->webuiUrl, "https://web.example:8443/ui?x=1");
  EXPECT_EQ(toJson(info)["webui_url"], "https://web.example:8443/ui?x=1");
  // As an older sender leaves it: none.
  capnp::MallocMessageBuilder old;
  old.initRoot<schema::FrameworkInfo>().setName("old");
  auto none = fromCapnp(old.getRoot<schema::FrameworkInfo>().asReader());
  ASSERT_TRUE(none);
  EXPECT_EQ(none->webuiUrl, "");
}

TEST(FrameworkInfoTest, ValidatesTheWebuiUrl) {
  std::vector<std::string> good = {"",
                                   "http://10.0.0.7:5060",
                                   "https://web.example/ui/#/apps?x=%20y",
                                   "HTTPS://Web:1/",
                                   "http://[::1]:8080/api",
                                   "http://h/" + std::string(1024 - 9, 'a')};
  for (const std::string& url : good) {
    EXPECT_TRUE(validateWebuiUrl(url)) << url;
  }
  auto message = [](const std::string& url) {
    Status s = validateWebuiUrl(url);
    EXPECT_FALSE(s) << url;
    EXPECT_TRUE(s || s.error().code == ErrorCode::kInvalidArgument);
    return s ? std::string() : s.error().message;
  };
  EXPECT_EQ(message("ftp://x/"), "webui_url 'ftp://x/' is not an absolute http:// or https:// URL");
  EXPECT_EQ(message("web.example:8080"),
            "webui_url 'web.example:8080' is not an absolute http:// or https:// URL");
  EXPECT_EQ(message("/ui"), "webui_url '/ui' is not an absolute http:// or https:// URL");
  EXPECT_EQ(message("javascript:alert(1)"),
            "webui_url 'javascript:alert(1)' is not an absolute http:// or https:// URL");
  EXPECT_EQ(message("http://"), "webui_url 'http://' names no host");
  EXPECT_EQ(message("https:///path"), "webui_url 'https:///path' names no host");
  EXPECT_EQ(message("http://h/a b"), "webui_url has a control character or whitespace at byte 10");
  EXPECT_EQ(message("http://h/\n"), "webui_url has a control character or whitespace at byte 9");
  EXPECT_EQ(message(std::string("http://h/\0x", 11)),
            "webui_url has a control character or whitespace at byte 9");
  EXPECT_EQ(message("http://h/\x7f"), "webui_url has a control character or whitespace at byte 9");
  EXPECT_EQ(message("http://h/" + std::string(1024 - 8, 'a')),
            "webui_url has 1025 bytes; at most 1024 are allowed");
}

TEST(TaskSecretTest, BytesSurviveTheWireAndJsonShowsOnlyWhereTheyGo) {
  TaskInfo task;
  task.taskId = "t";
  std::string binary("k\0\xff\n", 4);
  task.secrets = {TaskSecret{"db-pass", "hunter2", "DB_PASSWORD", ""},
                  TaskSecret{"tls.key", binary, "", "tls/key.pem"}};
  auto decoded = roundTrip(task);
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->secrets.size(), 2u);
  EXPECT_EQ(decoded->secrets[0].value, "hunter2");
  EXPECT_EQ(decoded->secrets[0].env, "DB_PASSWORD");
  EXPECT_EQ(decoded->secrets[1].value, binary);
  EXPECT_EQ(decoded->secrets[1].file, "tls/key.pem");
  std::string json = toJson(*decoded).dump();
  EXPECT_EQ(json.find("hunter2"), std::string::npos) << json;
  EXPECT_NE(json.find("DB_PASSWORD"), std::string::npos) << json;
  EXPECT_EQ(toJson(*decoded)["secrets"][1],
            (nlohmann::json{{"name", "tls.key"}, {"file", "tls/key.pem"}}));
  TaskInfo plain;
  EXPECT_FALSE(toJson(plain).contains("secrets"));
}

TEST(TaskSecretTest, MalformedSecretsAreRefusedNamingTheTaskAndSecret) {
  struct Case {
    TaskSecret secret;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"", "v", "A", ""}, "secret name"},
      {{"bad name", "v", "A", ""}, "secret name"},
      {{"s", "v", "", ""}, "exactly one of env and file"},
      {{"s", "v", "A", "f"}, "exactly one of env and file"},
      {{"s", "v", "1A", ""}, "not a variable name"},
      {{"s", "v", "A-B", ""}, "not a variable name"},
      {{"s", "v", "AGORA_SANDBOX", ""}, "set by the agent"},
      {{"s", "v", "MESOS_SANDBOX", ""}, "set by the agent"},
      {{"s", "v", "", "/etc/passwd"}, "relative path"},
      {{"s", "v", "", "../x"}, "relative path"},
      {{"s", "v", "", "a/../../x"}, "relative path"},
      {{"s", "v", "", "a//b"}, "relative path"},
      {{"s", "v", "", "./a"}, "relative path"},
      {{"s", std::string(kMaxSecretBytes + 1, 'x'), "A", ""}, "larger than 64 KiB"},
  };
  for (const Case& c : cases) {
    TaskInfo task;
    task.taskId = "t1";
    task.secrets = {c.secret};
    auto decoded = roundTrip(task);
    ASSERT_FALSE(decoded) << c.secret.name << " " << c.secret.env << " " << c.secret.file;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(decoded.error().message.find(c.says), std::string::npos) << decoded.error().message;
    EXPECT_NE(decoded.error().message.find("task 't1'"), std::string::npos);
  }
}

TEST(TaskSecretTest, TwoSecretsMayNotShareAVariableOrFileAndTheTotalIsBounded) {
  EXPECT_FALSE(validateSecrets({{"a", "1", "X", ""}, {"b", "2", "X", ""}}));
  EXPECT_FALSE(validateSecrets({{"a", "1", "", "f"}, {"b", "2", "", "f"}}));
  EXPECT_TRUE(validateSecrets({{"a", "1", "X", ""}, {"b", "2", "", "X"}}));
  std::vector<TaskSecret> many;
  for (int i = 0; i < 17; ++i) {
    many.push_back(
        {"s" + std::to_string(i), std::string(kMaxSecretBytes, 'x'), "V" + std::to_string(i), ""});
  }
  auto status = validateSecrets(many);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("in all"), std::string::npos);
}

}  // namespace
}  // namespace agora
