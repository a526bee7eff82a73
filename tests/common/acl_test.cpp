#include "common/acl.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace agora::acl {
namespace {

Acls parsed(const std::string& text) {
  auto acls = Acls::parse(text, "acls.json");
  EXPECT_TRUE(acls) << acls.error().message;
  return acls ? *acls : Acls{};
}

TEST(AclsTest, WithoutRulesEverythingButTheDangerousActionsIsAllowed) {
  Acls acls;
  EXPECT_TRUE(acls.check(Action::kRegisterFramework, "framework:a", "prod"));
  EXPECT_TRUE(acls.check(Action::kRunTask, "framework:a", "nobody"));
  EXPECT_TRUE(acls.check(Action::kUpdateQuota, "", "prod"));
  EXPECT_FALSE(acls.check(Action::kRunTask, "framework:a", "root"));
  EXPECT_FALSE(acls.check(Action::kRunTask, "framework:a", "0"));
  EXPECT_FALSE(acls.check(Action::kLaunchPrivileged, "framework:a", ""));
  EXPECT_FALSE(acls.check(Action::kAddCapability, "framework:a", "SYS_ADMIN"));
  EXPECT_FALSE(acls.check(Action::kMountHostPath, "framework:a", "/etc"));
  Decision root = acls.check(Action::kRunTask, "framework:a", "root");
  EXPECT_EQ(denialMessage(Action::kRunTask, "framework:a", "root", root),
            "not authorized: framework:a may not run_tasks with users 'root': no rule allows it, "
            "and it needs an explicit grant");
}

TEST(AclsTest, TheFirstMatchingRuleDecidesAndNamesItself) {
  Acls acls = parsed(R"({
    "register_frameworks": [
      {"principals": ["framework:billing"], "roles": ["billing", "prod"]},
      {"principals": "NONE", "roles": ["prod"]},
      {"principals": ["framework:ads"], "roles": "NONE"}
    ]})");
  EXPECT_TRUE(acls.check(Action::kRegisterFramework, "framework:billing", "prod"));
  Decision prod = acls.check(Action::kRegisterFramework, "framework:web", "prod");
  EXPECT_FALSE(prod);
  EXPECT_EQ(prod.rule, "register_frameworks[1]");
  EXPECT_EQ(denialMessage(Action::kRegisterFramework, "framework:web", "prod", prod),
            "not authorized: ACL rule register_frameworks[1] denies framework:web "
            "register_frameworks with roles 'prod'");
  EXPECT_FALSE(acls.check(Action::kRegisterFramework, "framework:ads", "anything"));
  EXPECT_EQ(acls.check(Action::kRegisterFramework, "framework:ads", "x").rule,
            "register_frameworks[2]");
  // No rule matches: permissive (the default) allows.
  EXPECT_TRUE(acls.check(Action::kRegisterFramework, "framework:web", "dev"));
}

TEST(AclsTest, NotPermissiveDeniesWhatNoRuleAllows) {
  Acls acls = parsed(R"({"permissive": false,
    "update_quotas": [{"principals": ["operator:alice"], "roles": "ANY"}]})");
  EXPECT_TRUE(acls.check(Action::kUpdateQuota, "operator:alice", "eng"));
  Decision bob = acls.check(Action::kUpdateQuota, "operator:bob", "eng");
  EXPECT_FALSE(bob);
  EXPECT_NE(denialMessage(Action::kUpdateQuota, "operator:bob", "eng", bob).find("not permissive"),
            std::string::npos);
}

TEST(AclsTest, DangerousActionsNeedARuleThatAllowsThem) {
  Acls acls = parsed(R"({
    "run_tasks": [{"principals": ["framework:ops"], "users": ["root"]}],
    "add_capabilities": [{"principals": ["framework:net"], "capabilities": ["NET_ADMIN"]}],
    "mount_host_paths": [{"principals": "ANY", "paths": ["/srv/data"]}],
    "launch_privileged": [{"principals": ["framework:ops"]}]
  })");
  EXPECT_TRUE(acls.check(Action::kRunTask, "framework:ops", "root"));
  EXPECT_FALSE(acls.check(Action::kRunTask, "framework:web", "root"));
  EXPECT_TRUE(acls.check(Action::kAddCapability, "framework:net", "NET_ADMIN"));
  EXPECT_FALSE(acls.check(Action::kAddCapability, "framework:net", "SYS_ADMIN"));
  EXPECT_TRUE(acls.check(Action::kMountHostPath, "framework:web", "/srv/data"));
  EXPECT_TRUE(acls.check(Action::kMountHostPath, "framework:web", "/srv/data/logs"));
  EXPECT_FALSE(acls.check(Action::kMountHostPath, "framework:web", "/srv/database"));
  EXPECT_FALSE(acls.check(Action::kMountHostPath, "framework:web", "/etc"));
  EXPECT_TRUE(acls.check(Action::kLaunchPrivileged, "framework:ops", ""));
  EXPECT_FALSE(acls.check(Action::kLaunchPrivileged, "framework:web", ""));
}

TEST(AclsTest, AnUnauthenticatedCallerIsMatchedOnlyByAnyAndNone) {
  Acls acls = parsed(R"({"permissive": false,
    "update_weights": [{"principals": ["operator:alice"], "roles": "ANY"},
                       {"principals": "ANY", "roles": ["dev"]}]})");
  EXPECT_FALSE(acls.check(Action::kUpdateWeight, "", "eng"));
  EXPECT_TRUE(acls.check(Action::kUpdateWeight, "", "dev"));
}

TEST(AclsTest, ReadsMesosStyleEntities) {
  Acls acls = parsed(R"({"run_tasks": [
    {"principals": {"values": ["framework:ops"]}, "users": {"type": "ANY"}}]})");
  EXPECT_TRUE(acls.check(Action::kRunTask, "framework:ops", "root"));
}

TEST(AclsTest, ABadFileIsRefusedWithWhereAndWhy) {
  auto expectError = [](const std::string& text, const std::string& expected) {
    auto acls = Acls::parse(text, "acls.json");
    ASSERT_FALSE(acls) << text;
    EXPECT_NE(acls.error().message.find(expected), std::string::npos) << acls.error().message;
  };
  expectError("{", "acls.json: not JSON");
  expectError("[]", "expected a JSON object");
  expectError(R"({"run_task": []})", "run_task: unknown action");
  expectError(R"({"run_tasks": [{"principals": "ANY"}]})", "run_tasks[0]: missing \"users\"");
  expectError(R"({"run_tasks": [{"principals": "ANY", "roles": "ANY"}]})",
              "run_tasks[0]: unknown key \"roles\"");
  expectError(R"({"run_tasks": [{"principals": "SOME", "users": "ANY"}]})",
              "run_tasks[0].principals: \"SOME\" is neither");
  expectError(R"({"run_tasks": [{"principals": [], "users": "ANY"}]})", "non-empty list");
  expectError(R"({"run_tasks": [{"principals": [1], "users": "ANY"}]})", "non-empty strings");
  expectError(R"({"permissive": "yes"})", "permissive: expected true or false");
  std::string many = R"({"update_weights": [)";
  for (size_t i = 0; i <= Acls::kMaxRules; ++i) {
    many += std::string(i ? "," : "") + R"({"principals": "ANY", "roles": "ANY"})";
  }
  expectError(many + "]}", "more than 10000 rules");
}

TEST(AclsTest, LoadRefusesAMissingOrOversizedFile) {
  auto missing = Acls::load("/nonexistent/acls.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/acls.json"), std::string::npos);
  char path[] = "/tmp/agora-acl-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << std::string(Acls::kMaxFileBytes + 1, ' ');
  }
  auto big = Acls::load(path);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("more than the"), std::string::npos);
  {
    std::ofstream out(path);
    out << R"({"run_tasks": [{"principals": ["framework:ops"], "users": ["root"]}]})";
  }
  auto ok = Acls::load(path);
  std::remove(path);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->ruleCount(), 1u);
}

}  // namespace
}  // namespace agora::acl
