#pragma once
// A gtest fixture for in-process ZooKeeper clients against a real server: a
// ZooKeeperServer in a temp directory (skipped when ZooKeeper or Java is not
// installed), an EventLoop the test drives with runUntil(), and sessions on it.
// TearDown stops the server and removes the directory.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/zk/zk_session.hpp"
#include "tests/support/zookeeper_server.hpp"

namespace agora::testing {

class ZooKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A session with this timeout; with `waitConnected`, once it is connected
  // (the test fails if it does not connect within 15 s).
  std::unique_ptr<zk::ZkSession> newSession(Duration timeout, bool waitConnected);
  // Runs the loop until `done` holds (checked every 5 ms) or `timeout` passes;
  // returns done().
  bool runUntil(const std::function<bool()>& done, Duration timeout = seconds(15));

  EventLoop loop_;
  std::string root_;
  std::unique_ptr<ZooKeeperServer> zookeeper_;
};

}  // namespace agora::testing
