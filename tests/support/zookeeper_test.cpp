#include "tests/support/zookeeper_test.hpp"

#include <stdlib.h>

#include <filesystem>

namespace agora::testing {

void ZooKeeperTest::SetUp() {
  std::string why;
  if (!ZooKeeperServer::available(&why)) GTEST_SKIP() << why;
  char tmpl[] = "/tmp/agora-zk-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  root_ = tmpl;
  zookeeper_ = std::make_unique<ZooKeeperServer>(root_ + "/zk");
}

void ZooKeeperTest::TearDown() {
  zookeeper_.reset();
  if (!root_.empty()) std::filesystem::remove_all(root_);
}

std::unique_ptr<zk::ZkSession> ZooKeeperTest::newSession(Duration timeout, bool waitConnected) {
  auto s = zk::ZkSession::create(loop_, zk::ZkSession::Options{zookeeper_->address(), timeout});
  EXPECT_TRUE(s) << s.error().message;
  if (!s) return nullptr;
  zk::ZkSession& created = **s;
  if (waitConnected) {
    EXPECT_TRUE(runUntil([&] { return created.connected(); }));
  }
  return std::move(*s);
}

bool ZooKeeperTest::runUntil(const std::function<bool()>& done, Duration timeout) {
  auto check = loop_.addPeriodic(millis(5), [&] {
    if (done()) loop_.stop();
  });
  auto deadline = loop_.addTimer(timeout, [&] { loop_.stop(); });
  loop_.run();
  loop_.cancelTimer(check);
  loop_.cancelTimer(deadline);
  return done();
}

}  // namespace agora::testing
