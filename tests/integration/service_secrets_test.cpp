// Secrets on real processes: stored with `agora secret set`, an app waits
// for the ones it names, its instances get them (as a variable and as a
// file, proven by a command health check that compares digests), and no API
// output or log of the master, agent or agora-service shows a value.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/http_client.hpp"
#include "tests/support/cluster.hpp"

namespace agora::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kEnvValue = "s3cret-env-7f2a";    // md5 1510e828…
constexpr const char* kFileValue = "s3cret-file-9c41";  // md5 82ffdb62…

class ServiceSecretsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Child> startService() { return cluster_.startService("service", api_); }
  std::string get(const std::string& path) {
    auto r = http::request("GET", "http://" + api_ + path, "", seconds(5));
    return r ? r->body : "";
  }
  // `agora secret ARGS --api API`; its exit code, stdout in `out`.
  int secret(std::vector<std::string> args, std::string* out) {
    std::vector<std::string> argv = {binPath("agora"), "secret"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--api", api_});
    return cluster_.runCommand(argv, out);
  }
  // Every file under `dir` whose name says it is output or a log.
  static std::vector<std::string> logs(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             dir, std::filesystem::directory_options::skip_permission_denied)) {
      if (!entry.is_regular_file()) continue;
      std::string name = entry.path().filename();
      if (name.ends_with(".out") || name.ends_with(".err") || name.ends_with(".log") ||
          name.find(".INFO") != std::string::npos || name.find(".WARNING") != std::string::npos ||
          name.find(".ERROR") != std::string::npos || name == "stdout" || name == "stderr") {
        out.push_back(entry.path());
      }
    }
    return out;
  }

  Cluster cluster_;
  std::string api_ = "127.0.0.1:" + std::to_string(freePort());
};

TEST_F(ServiceSecretsTest, InstancesGetTheirSecretsAndNothingShowsAValue) {
  cluster_.startMaster();
  cluster_.startAgent();
  auto service = startService();
  ASSERT_TRUE(
      eventually([&] { return get("/v1/apps").find("apps") != std::string::npos; }, seconds(20)));
  std::string out;
  std::string envFile = cluster_.root() + "/env-secret";
  std::ofstream(envFile) << kEnvValue;
  ASSERT_EQ(secret({"set", "db-pass", "--from-file", envFile}, &out), 0) << out;
  EXPECT_NE(out.find("db-pass: stored (15 bytes)"), std::string::npos) << out;

  // The check compares digests: the spec (shown by every API) has no value.
  std::string spec =
      "id: /web\ninstances: 2\ncpus: 0.1\nmem: 128\ncmd: 'exec sleep 1000'\n"
      "secrets: {db-pass: {env: DB_PASSWORD}, tls-key: {file: tls/key.pem}}\n"
      "health_checks: [{command: '[ \"$(printf %s \"$DB_PASSWORD\" | md5sum | cut -c1-32)\" = "
      "1510e82814ffcd8b4f3197ebd7f338b0 ] && [ \"$(md5sum < $AGORA_SECRETS/tls/key.pem | cut "
      "-c1-32)\" = 82ffdb623d83fdc875c2ba87eb5017f4 ]', interval: 500ms, max_failures: 2}]\n";
  auto applied = http::request("POST", "http://" + api_ + "/v1/apps", spec, seconds(5));
  ASSERT_TRUE(applied && applied->status == 200) << (applied ? applied->body : "");
  ASSERT_TRUE(eventually(
      [&] {
        return get("/v1/apps/web/why").find("secret tls-key is not set") != std::string::npos;
      },
      seconds(20)))
      << get("/v1/apps/web/why");
  json waiting = json::parse(get("/v1/apps/web"), nullptr, false);
  EXPECT_EQ(waiting.value("tasks", json::array()).size(), 0u) << waiting.dump();

  std::string keyFile = cluster_.root() + "/file-secret";
  std::ofstream(keyFile) << kFileValue;
  ASSERT_EQ(secret({"set", "tls-key", "--from-file", keyFile}, &out), 0) << out;
  ASSERT_TRUE(eventually(
      [&] {
        int healthy = 0;
        json app = json::parse(get("/v1/apps/web"), nullptr, false);
        if (!app.is_object()) return false;
        for (const auto& t : app.value("tasks", json::array())) healthy += t["healthy"] == true;
        return healthy == 2;
      },
      seconds(60)))
      << get("/v1/apps/web");

  ASSERT_EQ(secret({"list", "-o", "json"}, &out), 0) << out;
  json listed = json::parse(out);
  ASSERT_EQ(listed["secrets"].size(), 2u) << out;
  EXPECT_EQ(listed["secrets"][0]["name"], "db-pass");
  EXPECT_EQ(listed["secrets"][0]["bytes"], 15);

  // Everything an operator can read back, and every log.
  std::vector<std::string> answers = {get("/v1/apps"),
                                      get("/v1/apps/web"),
                                      get("/v1/apps/web/versions"),
                                      get("/v1/apps/web/why"),
                                      get("/v1/deployments"),
                                      get("/api/v1/tasks"),
                                      get("/api/v1/secrets"),
                                      out,
                                      cluster_.masterGet("/api/v1/tasks").dump(),
                                      cluster_.masterGet("/api/v1/frameworks").dump()};
  ASSERT_EQ(
      cluster_.runCommand({binPath("agora"), "service", "status", "web", "--service", api_}, &out),
      0);
  answers.push_back(out);
  EXPECT_NE(answers[1].find("DB_PASSWORD"), std::string::npos) << "the reference is shown";
  for (const std::string& answer : answers) {
    EXPECT_EQ(answer.find(kEnvValue), std::string::npos) << answer;
    EXPECT_EQ(answer.find(kFileValue), std::string::npos) << answer;
  }
  std::vector<std::string> files = logs(cluster_.root());
  EXPECT_GT(files.size(), 5u);
  for (const std::string& file : files) {
    if (file == envFile || file == keyFile) continue;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str().find(kEnvValue), std::string::npos) << file;
    EXPECT_EQ(text.str().find(kFileValue), std::string::npos) << file;
  }

  ASSERT_EQ(secret({"delete", "db-pass"}, &out), 0) << out;
  ASSERT_EQ(secret({"list", "-o", "json"}, &out), 0);
  EXPECT_EQ(json::parse(out)["secrets"].size(), 1u);
  EXPECT_NE(secret({"delete", "db-pass"}, &out), 0);
  ASSERT_TRUE(http::request("DELETE", "http://" + api_ + "/v1/apps/web", "", seconds(5)));
}

}  // namespace
}  // namespace agora::testing
