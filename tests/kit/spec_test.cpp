// Spec loading: typed fields, and errors that name the file, line, column
// and field of what is wrong.

#include "frameworks/kit/spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace agora::kit {
namespace {

constexpr const char* kApp = R"(id: /shop/web
instances: 3
cpus: 0.1
mem: 512M
cmd: "busybox httpd -f -p $PORT_HTTP"
env: {GREETING: hello}
ports: [http, metrics]
health_checks:
  - {http: {port: http, path: /}, grace: 5s, interval: 1s, max_failures: 3}
  - {tcp: {port: http}, interval: often}
resources: "cpus:1;mem:256"
enabled: true
)";

TEST(SpecTest, TypedFieldsComeOutOfYaml) {
  auto spec = SpecNode::parse(kApp, "web.yaml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(*spec->get<std::string>("id"), "/shop/web");
  EXPECT_EQ(*spec->get<int64_t>("instances"), 3);
  EXPECT_DOUBLE_EQ(*spec->get<double>("cpus"), 0.1);
  EXPECT_DOUBLE_EQ(spec->get<SizeMb>("mem")->value, 512);
  EXPECT_EQ(*spec->get<std::vector<std::string>>("ports"),
            (std::vector<std::string>{"http", "metrics"}));
  EXPECT_TRUE(*spec->get<bool>("enabled"));
  EXPECT_EQ(spec->get<Resources>("resources")->scalar("mem"), 256);
  EXPECT_EQ(*spec->getOr<int64_t>("max_per_agent", 7), 7);
  auto env = spec->child("env").entries();
  ASSERT_TRUE(env);
  ASSERT_EQ(env->size(), 1u);
  EXPECT_EQ((*env)[0].first, "GREETING");
  auto checks = spec->child("health_checks").items();
  ASSERT_TRUE(checks);
  ASSERT_EQ(checks->size(), 2u);
  EXPECT_EQ(*(*checks)[0].get<Duration>("grace"), std::chrono::seconds(5));
  EXPECT_EQ(*(*checks)[0].child("http").get<std::string>("path"), "/");
}

TEST(SpecTest, ErrorsNameTheFileLineColumnAndField) {
  auto spec = SpecNode::parse(kApp, "web.yaml");
  ASSERT_TRUE(spec);
  auto checks = spec->child("health_checks").items();
  auto interval = (*checks)[1].get<Duration>("interval");
  ASSERT_FALSE(interval);
  EXPECT_EQ(interval.error().message,
            "web.yaml:10:35: health_checks[1].interval: expected a duration like 10s, 5m or "
            "1h30m, got 'often'");
  auto instances = spec->get<std::string>("health_checks");
  ASSERT_FALSE(instances);
  EXPECT_NE(instances.error().message.find("health_checks: expected text, got a list"),
            std::string::npos)
      << instances.error().message;
  auto missing = spec->get<std::string>("image");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing required field 'image'"), std::string::npos);
  EXPECT_FALSE(spec->get<int64_t>("cpus"));  // 0.1 is not a whole number
  EXPECT_FALSE(spec->get<SizeMb>("id"));
}

TEST(SpecTest, UnknownFieldsAreRefusedWithWhatIsKnown) {
  auto spec = SpecNode::parse("id: x\ninstnaces: 3\n", "app.yaml");
  ASSERT_TRUE(spec);
  Status only = spec->only({"id", "instances"});
  ASSERT_FALSE(only);
  EXPECT_EQ(only.error().message,
            "app.yaml:2:1: instnaces: unknown field (known here: id, instances)");
  EXPECT_TRUE(spec->only({"id", "instnaces"}));
}

TEST(SpecTest, AFieldGivenTwiceIsRefused) {
  auto spec = SpecNode::parse("id: x\ninstances: 3\ninstances: 30\nenv: {A: 1, A: 2}\n", "app.yaml");
  ASSERT_TRUE(spec);
  Status only = spec->only({"id", "instances", "env"});
  ASSERT_FALSE(only);
  EXPECT_EQ(only.error().message, "app.yaml:3:1: instances: given twice");
  auto entries = spec->child("env").entries();
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().message, "app.yaml:4:13: env.A: given twice");
}

TEST(SpecTest, JsonIsReadAndSyntaxErrorsArePlaced) {
  auto json = SpecNode::parse(R"({"id": "/a", "instances": 2, "mem": 64})", "app.json");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json->get<int64_t>("instances"), 2);
  EXPECT_DOUBLE_EQ(json->get<SizeMb>("mem")->value, 64);
  auto broken = SpecNode::parse("id: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message.rfind("bad.yaml:", 0), 0u) << broken.error().message;
  EXPECT_FALSE(SpecNode::parse("", "empty.yaml"));
}

TEST(SpecTest, SizesAndFilesBothWays) {
  auto spec = SpecNode::parse("a: 2G\nb: 1.5\nc: 512K\nd: -1\n", "s.yaml");
  ASSERT_TRUE(spec);
  EXPECT_DOUBLE_EQ(spec->get<SizeMb>("a")->value, 2048);
  EXPECT_DOUBLE_EQ(spec->get<SizeMb>("b")->value, 1.5);
  EXPECT_DOUBLE_EQ(spec->get<SizeMb>("c")->value, 0.5);
  EXPECT_FALSE(spec->get<SizeMb>("d"));
  std::string path = std::filesystem::temp_directory_path() / "agora-spec-test.yaml";
  std::ofstream(path) << "id: /from/file\n";
  auto loaded = SpecNode::load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded->get<std::string>("id"), "/from/file");
  EXPECT_EQ(SpecNode::load("/nonexistent/app.yaml").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace agora::kit
