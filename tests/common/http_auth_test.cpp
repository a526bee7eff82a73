#include "common/http_auth.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace agora::http {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() {
    char tmpl[] = "/tmp/agora-auth-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/tokens.json";
    EXPECT_TRUE(writeTokensFile(path_, {{"operator:alice", kAlice}, {"viewer:bob", kBob}}));
  }
  ~AuthenticatorTest() override { std::filesystem::remove_all(dir_); }

  static Request request(const std::string& method, const std::string& token = "") {
    Request r;
    r.method = method;
    r.path = "/api/v1/quota";
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return r;
  }

  static constexpr const char* kAlice = "alice-0123456789abcdef";
  static constexpr const char* kBob = "bob-0123456789abcdef";
  std::string dir_, path_;
};

TEST_F(AuthenticatorTest, KnownTokensNameTheirIdentityAndUnknownOnesAre401) {
  auto auth = Authenticator::create({path_, false});
  ASSERT_TRUE(auth) << auth.error().message;
  EXPECT_EQ(*(*auth)->identify(request("POST", kAlice)), "operator:alice");
  EXPECT_EQ(*(*auth)->identify(request("GET", kBob)), "viewer:bob");
  EXPECT_FALSE((*auth)->gate(request("POST", kAlice)));
  auto forged = (*auth)->gate(request("GET", "alice-0123456789abcdeX"));
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_NE(forged->body.find("invalid token"), std::string::npos);
  Request basic = request("GET");
  basic.headers["authorization"] = "Basic YWxpY2U6eA==";
  EXPECT_EQ((*auth)->gate(basic)->status, 401);
}

TEST_F(AuthenticatorTest, AnExpiredTokenIs401AndABadExpiryIsRefused) {
  std::ofstream(path_) << R"({"tokens": [
      {"identity": "operator:alice", "token": "alice-0123456789abcdef", "expires": "2001-01-01T00:00:00Z"},
      {"identity": "viewer:bob", "token": "bob-0123456789abcdef", "expires": "2999-01-01T00:00:00Z"}]})";
  auto auth = Authenticator::create({path_, false});
  ASSERT_TRUE(auth) << auth.error().message;
  auto expired = (*auth)->gate(request("GET", kAlice));
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_NE(expired->body.find("token expired at 2001-01-01T00:00:00Z"), std::string::npos)
      << expired->body;
  EXPECT_EQ(*(*auth)->identify(request("GET", kBob)), "viewer:bob");
  std::ofstream(path_) << R"({"tokens": [
      {"identity": "operator:alice", "token": "alice-0123456789abcdef", "expires": "tomorrow"}]})";
  auto bad = Authenticator::create({path_, false});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("tokens[0]: expires"), std::string::npos)
      << bad.error().message;
}

TEST_F(AuthenticatorTest, AnonymousCallersMayReadOnlyWhenAllowedAndNeverChange) {
  auto closed = Authenticator::create({path_, false});
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)->gate(request("GET"))->status, 401);
  EXPECT_EQ((*closed)->gate(request("POST"))->status, 401);
  auto open = Authenticator::create({path_, true});
  ASSERT_TRUE(open);
  EXPECT_FALSE((*open)->gate(request("GET")));
  auto post = (*open)->gate(request("DELETE"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  EXPECT_NE(post->body.find("authentication required to DELETE /api/v1/quota"), std::string::npos);
}

TEST_F(AuthenticatorTest, AVerifiedClientCertificateIsAnIdentity) {
  Authenticator auth(false);
  Request r = request("POST");
  r.clientCertificateName = "operator:carol";
  EXPECT_EQ(*auth.identify(r), "operator:carol");
  EXPECT_FALSE(auth.gate(r));
}

TEST_F(AuthenticatorTest, ATokensFileOthersCanReadOrThatDoesNotParseIsRefused) {
  chmod(path_.c_str(), 0644);
  auto readable = Authenticator::create({path_, false});
  ASSERT_FALSE(readable);
  EXPECT_NE(readable.error().message.find("readable by others (mode 0644)"), std::string::npos);
  std::ofstream(path_) << R"({"tokens": [{"identity": "x", "token": "short"}]})";
  chmod(path_.c_str(), 0600);
  auto shortToken = Authenticator::create({path_, false});
  ASSERT_FALSE(shortToken);
  EXPECT_NE(shortToken.error().message.find("at least 16 characters"), std::string::npos);
}

TEST_F(AuthenticatorTest, ReloadSwapsTokensAndKeepsThemWhenTheFileIsBroken) {
  auto auth = Authenticator::create({path_, false});
  ASSERT_TRUE(auth);
  ASSERT_TRUE(writeTokensFile(path_, {{"operator:dave", "dave-0123456789abcdef"}}));
  ASSERT_TRUE((*auth)->reload());
  EXPECT_FALSE((*auth)->identify(request("GET", kAlice)));
  EXPECT_EQ(*(*auth)->identify(request("GET", "dave-0123456789abcdef")), "operator:dave");
  std::ofstream(path_) << "{";
  EXPECT_FALSE((*auth)->reload());
  EXPECT_EQ(*(*auth)->identify(request("GET", "dave-0123456789abcdef")), "operator:dave");
}

TEST(RandomTokenTest, IsLongAndDiffersEachTime) {
  auto a = randomToken(), b = randomToken();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace agora::http
