// The operator API's security with real processes, written as the attacks
// it stops: changes without a token, or with a token the ACLs do not let
// change that thing; a forged token; reading another user's task output
// through the agent's files API; a framework principal claiming a role it
// may not use. And the operator's side: ACLs reloaded by SIGHUP, a broken
// file keeping the old rules.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>

#include "common/checkpoint_file.hpp"
#include "common/http_auth.hpp"
#include "common/http_client.hpp"
#include "tests/integration/recording_scheduler.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kQuota = R"({"role": "eng", "guarantee": "cpus:0.5"})";

class OperatorSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto viewer = http::randomToken();
    ASSERT_TRUE(viewer);
    viewerToken_ = *viewer;
    tokensFile_ = cluster_.root() + "/operators.json";
    ASSERT_TRUE(http::writeTokensFile(tokensFile_,
                                      {{"operator:local", cluster_.credentials().operatorToken},
                                       {"viewer:local", viewerToken_}}));
    aclsFile_ = cluster_.root() + "/acls.json";
  }

  void writeAcls(const std::string& json) { ASSERT_TRUE(writePrivateFile(aclsFile_, json)); }

  // A call as `token` ("" for none at all).
  Result<http::ClientResponse> call(const std::string& method, const std::string& url,
                                    const std::string& token, const std::string& body = "") {
    return http::requestWithHeaders(
        method, url, {{"Authorization", token.empty() ? "" : "Bearer " + token}}, body, 10s);
  }
  int setQuota(const std::string& token, std::string* body = nullptr) {
    auto r = call("POST", "http://" + cluster_.masterHttp() + "/api/v1/quota", token, kQuota);
    if (!r) return -1;
    if (body) *body = r->body;
    return r->status;
  }
  // A counter on the master's /metrics (the first line matching `series`); -1 if absent.
  double metric(const std::string& series) {
    auto r = http::get("http://" + cluster_.masterHttp() + "/metrics");
    std::smatch match;
    if (!r || !std::regex_search(r->body, match, std::regex(series + " ([0-9.e+]+)"))) return -1;
    return std::stod(match[1]);
  }

  Cluster cluster_;
  std::string viewerToken_, tokensFile_, aclsFile_;
};

// Only the operator may set quota; everyone may read.
constexpr const char* kOperatorOnlyQuota = R"({
  "update_quotas": [{"principals": ["operator:local"], "roles": "ANY"},
                    {"principals": "ANY", "roles": "NONE"}]
})";

TEST_F(OperatorSecurityTest, QuotaWithoutATokenIs401WithAReadOnlyOne403WithTheOperators200) {
  writeAcls(kOperatorOnlyQuota);
  cluster_.startMaster({"--tokens", tokensFile_, "--acls", aclsFile_});
  std::string said;
  EXPECT_EQ(setQuota("", &said), 401) << said;
  EXPECT_NE(said.find("authentication required"), std::string::npos) << said;
  EXPECT_EQ(setQuota("forged-token-of-the-right-length-000000", &said), 401) << said;
  EXPECT_EQ(setQuota(viewerToken_, &said), 403) << said;
  EXPECT_NE(said.find("update_quotas[1]"), std::string::npos) << said;  // the rule that denied
  EXPECT_EQ(metric("agora_master_acl_denials_total\\{action=\"update_quotas\"\\}"), 1);
  EXPECT_TRUE(cluster_.masterGet("/api/v1/roles")["roles"].is_array());
  EXPECT_EQ(setQuota(cluster_.credentials().operatorToken, &said), 200) << said;

  // Reads need an identity too unless --anonymous-read says otherwise.
  std::string roles = "http://" + cluster_.masterHttp() + "/api/v1/roles";
  EXPECT_EQ(call("GET", roles, viewerToken_)->status, 200);
  EXPECT_EQ(call("GET", roles, "")->status, 401);
  EXPECT_EQ(call("GET", "http://" + cluster_.masterHttp() + "/health", "")->status, 200);
}

TEST_F(OperatorSecurityTest, AnonymousReadsAreAFlagAndNeverReachSandboxes) {
  cluster_.startMaster({"--anonymous-read"});
  cluster_.startAgent("cpus:2;mem:1024", {"--anonymous-read"});
  std::string out, err;
  ASSERT_EQ(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "run",
                                 "--name", "secretive", "--", "echo the-output"},
                                &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "the-output\n");
  EXPECT_EQ(call("GET", "http://" + cluster_.masterHttp() + "/api/v1/tasks", "")->status, 200);
  EXPECT_EQ(setQuota(""), 401);  // changes never are anonymous
  auto tasks = cluster_.masterGet("/api/v1/tasks")["tasks"];
  ASSERT_EQ(tasks.size(), 1u);
  std::string url = tasks[0].value("agent_url", "") + "/files/read?path=" +
                    http::urlEncode(tasks[0].value("sandbox", "") + "/stdout");
  auto anonymous = call("GET", url, "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  EXPECT_EQ(anonymous->body.find("the-output"), std::string::npos);
  auto operatorCall = call("GET", url, cluster_.credentials().operatorToken);
  ASSERT_TRUE(operatorCall);
  EXPECT_EQ(operatorCall->status, 200) << operatorCall->body;
}

TEST_F(OperatorSecurityTest, AViewerReadsOnlyTheSandboxesOfTheUsersItMay) {
  // Tasks may run as nobody or daemon; the viewer may read nobody's output only.
  writeAcls(R"({
    "run_tasks": [{"principals": ["framework:local"], "users": ["nobody", "daemon"]}],
    "access_sandboxes": [{"principals": ["viewer:local"], "users": ["nobody"]},
                         {"principals": ["viewer:local"], "users": "NONE"}]
  })");
  cluster_.startMaster({"--tokens", tokensFile_, "--acls", aclsFile_});
  cluster_.startAgent("cpus:2;mem:1024", {"--tokens", tokensFile_, "--acls", aclsFile_});
  for (const char* user : {"nobody", "daemon"}) {
    std::string out, err;
    ASSERT_EQ(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "run",
                                   "--name", user, "--user", user, "--", "id -un"},
                                  &out, &err),
              0)
        << err;
    EXPECT_EQ(out, std::string(user) + "\n");
  }
  auto tasks = cluster_.masterGet("/api/v1/tasks")["tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  for (const auto& task : tasks) {
    std::string url = task.value("agent_url", "") +
                      "/files/read?path=" + http::urlEncode(task.value("sandbox", "") + "/stdout");
    auto asViewer = call("GET", url, viewerToken_);
    ASSERT_TRUE(asViewer);
    if (task["name"] == "nobody") {
      EXPECT_EQ(asViewer->status, 200) << asViewer->body;
    } else {
      EXPECT_EQ(asViewer->status, 403) << asViewer->body;
      EXPECT_NE(asViewer->body.find("access_sandboxes[1]"), std::string::npos) << asViewer->body;
      EXPECT_EQ(asViewer->body.find("daemon\n"), std::string::npos);
    }
    EXPECT_EQ(call("GET", url, cluster_.credentials().operatorToken)->status, 200);
  }
}

TEST_F(OperatorSecurityTest, SighupReloadsTheAclsAndABrokenFileKeepsTheOldRules) {
  writeAcls(kOperatorOnlyQuota);
  cluster_.startMaster({"--tokens", tokensFile_, "--acls", aclsFile_});
  ASSERT_EQ(setQuota(viewerToken_), 403);

  writeAcls(R"({"update_quotas": [{"principals": ["viewer:local"], "roles": ["eng"]}]})");
  cluster_.master().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return setQuota(viewerToken_) == 200; }));
  EXPECT_EQ(metric("agora_master_acl_reloads_total\\{result=\"ok\"\\}"), 1);

  // Broken: not JSON, then an unknown action. Refused, said, and the rules
  // in force stay.
  for (const char* broken : {"{\"update_quotas\": [", R"({"update_everything": []})"}) {
    writeAcls(broken);
    double failed = metric("agora_master_acl_reloads_total\\{result=\"failed\"\\}");
    cluster_.master().signal(SIGHUP);
    EXPECT_TRUE(eventually([&] {
      return metric("agora_master_acl_reloads_total\\{result=\"failed\"\\}") > failed;
    })) << broken;
    EXPECT_EQ(setQuota(viewerToken_), 200) << broken;
  }
  EXPECT_TRUE(cluster_.master().running());
  std::ifstream log(cluster_.root() + "/master.err");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("ACLs not reloaded"), std::string::npos);
}

TEST_F(OperatorSecurityTest, OnlyTheFrameworkPrincipalAllowedRoleProdGetsIt) {
  cluster_.makeKnownKeys("frameworks", "prod-team");
  writeAcls(R"({
    "register_frameworks": [{"principals": ["framework:prod-team"], "roles": ["prod"]},
                            {"principals": "NONE", "roles": ["prod"]}]
  })");
  cluster_.startMaster({"--acls", aclsFile_});
  cluster_.startAgent();
  const std::string keys = cluster_.credentials().credentialsDir + "/frameworks/";
  std::string out, err;
  // framework:local, the client configuration's.
  EXPECT_NE(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "run",
                                 "--role", "prod", "--timeout", "10", "--", "echo in prod"},
                                &out, &err),
            0);
  EXPECT_NE(err.find("register_frameworks[1]"), std::string::npos) << err;
  EXPECT_EQ(out.find("in prod"), std::string::npos);
  EXPECT_EQ(
      cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "run", "--role",
                           "prod", "--curve-key", keys + "prod-team.key", "--master-public-key",
                           cluster_.credentials().masterPublicKey, "--", "echo in prod"},
                          &out, &err),
      0)
      << err;
  EXPECT_EQ(out, "in prod\n");
  EXPECT_EQ(metric("agora_master_acl_denials_total\\{action=\"register_frameworks\"\\}"), 1);
}

TEST_F(OperatorSecurityTest, OnlyAnOperatorTheAclsAllowTearsAFrameworkDown) {
  writeAcls(R"({
    "teardown_frameworks": [{"principals": ["operator:local"], "framework_principals": "ANY"},
                            {"principals": "ANY", "framework_principals": "NONE"}]
  })");
  cluster_.startMaster({"--tokens", tokensFile_, "--acls", aclsFile_});
  cluster_.startAgent();
  RecordingScheduler scheduler;
  auto driver = launchOnce(scheduler, shellTask("victim", "sleep 300"), cluster_);
  ASSERT_TRUE(scheduler.waitForState("victim", TaskState::RUNNING));
  const std::string id = scheduler.frameworkId();
  std::string body = R"({"framework_id": ")" + id + R"("})";
  std::string url = "http://" + cluster_.masterHttp() + "/api/v1/teardown";

  EXPECT_EQ(call("POST", url, "", body)->status, 401);
  auto denied = call("POST", url, viewerToken_, body);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403) << denied->body;
  EXPECT_NE(denied->body.find("teardown_frameworks[1]"), std::string::npos) << denied->body;
  EXPECT_EQ(cluster_.task("victim").value("state", ""), "TASK_RUNNING");

  std::string out, err;
  ASSERT_EQ(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "teardown",
                                 id},
                                &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "framework " + id + " torn down\n");
  EXPECT_TRUE(eventually([&] { return cluster_.task("victim").value("state", "") == "TASK_KILLED"; }))
      << cluster_.task("victim").dump();
  EXPECT_TRUE(cluster_.masterGet("/api/v1/frameworks")["frameworks"].empty());
  auto again = call("POST", url, cluster_.credentials().operatorToken, body);
  EXPECT_EQ(again->status, 409) << again->body;
  auto unknown = call("POST", url, cluster_.credentials().operatorToken,
                      R"({"framework_id": "nothing-0001"})");
  EXPECT_EQ(unknown->status, 404) << unknown->body;
}

}  // namespace
}  // namespace agora::testing
