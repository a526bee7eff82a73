// The toolkit's HTTP/JSON API skeleton (frameworks/kit/api.hpp) on a real
// server on 127.0.0.1 with the real HTTP client: routes and JSON errors, the
// standby's redirect, the leader endpoint, server-sent events (snapshot,
// order, ids, types, dropped clients, keep-alives) and token authentication.

#include "frameworks/kit/api.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "common/http_client.hpp"
#include "tests/kit/sse_follower.hpp"

namespace agora::kit {
namespace {

using nlohmann::json;
using testing::Follower;
using testing::waitFor;

class ApiServerTest : public ::testing::Test {
 protected:
  void start(ApiServer::Options options = {}) {
    options.name = "test-fw";
    auto created = ApiServer::create(std::move(options));
    ASSERT_TRUE(created) << created.error().message;
    api_ = std::move(*created);
    api_->route("GET", "/api/v1/apps", [](const http::Request&) {
      return http::jsonResponse(200, {{"apps", {"a", "b"}}});
    });
    api_->route("POST", "/api/v1/apps", [](const http::Request& request) {
      auto body = ApiServer::jsonBody(request);
      if (!body) return ApiServer::errorResponse(body.error());
      // A missing or mistyped field throws: the server answers 400.
      std::string id = body->at("id").get<std::string>();
      return http::jsonResponse(201, {{"id", id}});
    });
    api_->routePrefix("GET", "/api/v1/apps/", [](const http::Request& request) {
      std::string id = request.path.substr(std::string("/api/v1/apps/").size());
      return ApiServer::errorResponse(Error{ErrorCode::kNotFound, "no app '" + id + "'"});
    });
    ASSERT_TRUE(api_->start());
  }
  Result<http::ClientResponse> call(const std::string& method, const std::string& target,
                                    const std::string& body = "",
                                    std::map<std::string, std::string> headers = {}) {
    return http::requestWithHeaders(method, api_->url() + target, headers, body);
  }
  static json bodyOf(const Result<http::ClientResponse>& response) {
    return response ? json::parse(response->body, nullptr, false) : json();
  }

  std::unique_ptr<ApiServer> api_;
};

TEST_F(ApiServerTest, ServesRoutesHealthAndJsonErrors) {
  start();
  EXPECT_EQ(api_->url(), "http://" + api_->address());
  EXPECT_EQ(api_->address().rfind("127.0.0.1:", 0), 0u) << api_->address();

  auto health = call("GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(bodyOf(health), json({{"status", "ok"}}));
  auto apps = call("GET", "/api/v1/apps");
  ASSERT_TRUE(apps);
  EXPECT_EQ(apps->status, 200);
  EXPECT_EQ(bodyOf(apps)["apps"], json({"a", "b"}));
  EXPECT_EQ(apps->headers["content-type"], "application/json");

  auto created = call("POST", "/api/v1/apps", R"({"id": "web"})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(bodyOf(created)["id"], "web");
  auto garbage = call("POST", "/api/v1/apps", "{nope");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
  EXPECT_EQ(bodyOf(garbage)["error"], "the body is not JSON (at byte 3)");
  auto missing = call("POST", "/api/v1/apps", R"({"name": "web"})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_NE(bodyOf(missing).value("error", "").find("invalid JSON"), std::string::npos)
      << missing->body;
  auto unknown = call("GET", "/api/v1/apps/db");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(bodyOf(unknown)["error"], "no app 'db'");
  auto noRoute = call("DELETE", "/api/v1/nothing");
  ASSERT_TRUE(noRoute);
  EXPECT_EQ(noRoute->status, 404);
  EXPECT_TRUE(bodyOf(noRoute).contains("error"));
}

TEST_F(ApiServerTest, AloneItLeadsAndAdvertisesItsHost) {
  ApiServer::Options options;
  options.advertiseHost = "localhost";
  start(options);
  EXPECT_EQ(api_->url(), "http://localhost:" + api_->address().substr(10));
  auto leader = call("GET", "/api/v1/leader");
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->status, 200);
  EXPECT_EQ(bodyOf(leader), json({{"leader", api_->url()},
                                  {"self", api_->url()},
                                  {"leading", true},
                                  {"framework", "test-fw"}}));
}

TEST_F(ApiServerTest, AStandbyRedirectsToTheLeaderWithPathAndQuery) {
  start();
  std::mutex mutex;
  std::optional<std::string> leaderUrl = "10.1.2.3:8080";
  api_->setLeader([&]() -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(mutex);
    return leaderUrl;
  });
  for (const std::string method : {"GET", "POST", "DELETE"}) {
    auto redirected = call(method, "/api/v1/apps?x=1&y=a%20b", R"({"id":"web"})");
    ASSERT_TRUE(redirected);
    EXPECT_EQ(redirected->status, 307) << method;
    EXPECT_EQ(redirected->headers["location"], "http://10.1.2.3:8080/api/v1/apps?x=1&y=a%20b");
    EXPECT_TRUE(bodyOf(redirected).contains("error"));
  }
  auto events = call("GET", "/api/v1/events?types=a");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 307);
  EXPECT_EQ(events->headers["location"], "http://10.1.2.3:8080/api/v1/events?types=a");
  auto health = call("GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto leader = call("GET", "/api/v1/leader");
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->status, 200);
  EXPECT_EQ(bodyOf(leader)["leader"], "http://10.1.2.3:8080");
  EXPECT_EQ(bodyOf(leader)["self"], api_->url());
  EXPECT_EQ(bodyOf(leader)["leading"], false);

  // An https:// leader keeps its scheme; one with a trailing slash loses it.
  {
    std::lock_guard<std::mutex> lock(mutex);
    leaderUrl = "https://leader.example:8443/";
  }
  auto secure = call("GET", "/api/v1/apps");
  ASSERT_TRUE(secure);
  EXPECT_EQ(secure->headers["location"], "https://leader.example:8443/api/v1/apps");

  // Elected: this instance serves.
  {
    std::lock_guard<std::mutex> lock(mutex);
    leaderUrl = api_->url();
  }
  auto served = call("GET", "/api/v1/apps");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(bodyOf(call("GET", "/api/v1/leader"))["leading"], true);
}

TEST_F(ApiServerTest, WithNoLeaderElectedAStandbyAnswers503) {
  start();
  api_->setLeader([] { return std::optional<std::string>(); });
  auto apps = call("GET", "/api/v1/apps");
  ASSERT_TRUE(apps);
  EXPECT_EQ(apps->status, 503);
  EXPECT_EQ(bodyOf(apps), json({{"error", "no leader elected"}}));
  auto leader = call("GET", "/api/v1/leader");
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->status, 200);
  EXPECT_TRUE(bodyOf(leader)["leader"].is_null());
  EXPECT_EQ(bodyOf(leader)["leading"], false);
  EXPECT_EQ(call("GET", "/health")->status, 200);
}

TEST_F(ApiServerTest, RequestsWithoutATokenAreRefusedWhenTokensAreConfigured) {
  std::string dir = "/tmp/kit-api-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string token = "tok-0123456789abcdef0123456789";
  ASSERT_TRUE(http::writeTokensFile(dir + "/tokens.json", {{"framework:web", token}}));
  HttpSecurityFlags flags;
  flags.tokens = dir + "/tokens.json";
  Metrics metrics;
  auto security = setUpHttpSecurity(flags, "127.0.0.1:0", metrics, "agora_kit_test");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(security) << security.error().message;
  ApiServer::Options options;
  options.security = &*security;
  start(options);

  auto anonymous = call("GET", "/api/v1/apps");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_TRUE(bodyOf(anonymous).contains("error"));
  EXPECT_EQ(call("GET", "/api/v1/leader")->status, 401);
  EXPECT_EQ(call("GET", "/api/v1/events")->status, 401);
  auto wrong = call("GET", "/api/v1/apps", "", {{"Authorization", "Bearer not-a-token"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto health = call("GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  std::map<std::string, std::string> bearer = {{"Authorization", "Bearer " + token}};
  auto allowed = call("GET", "/api/v1/apps", "", bearer);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  auto created = call("POST", "/api/v1/apps", R"({"id":"web"})", bearer);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);
  api_->events().setSnapshot([] { return json{{"apps", 0}}; });
  Follower follower(api_->url() + "/api/v1/events", bearer);
  ASSERT_TRUE(waitFor([&] { return follower.messages().size() == 1; }));
  EXPECT_EQ(follower.messages()[0].event, "snapshot");
  api_.reset();  // ends the stream
  follower.stop();
}

}  // namespace
}  // namespace agora::kit
