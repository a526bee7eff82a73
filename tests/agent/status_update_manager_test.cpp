#include "agent/status_update_manager.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "common/transport.hpp"

namespace agora::agent {
namespace {

class StatusUpdateManagerTest : public ::testing::Test {
 protected:
  StatusUpdateManagerTest()
      : loop_(clock_),
        manager_(loop_, StatusUpdateManager::Options{seconds(10), seconds(40), 16},
                 [this](const StatusUpdate& u) { sent_.push_back(u); }) {
    manager_.resume();
  }

  StatusUpdate make(const std::string& task, TaskState state, const std::string& uuid = "") {
    StatusUpdate u;
    u.frameworkId = "fw";
    u.status.taskId = task;
    u.status.state = state;
    u.status.uuid = uuid.empty() ? randomUuidBytes() : uuid;
    u.sandbox = "/sandbox/" + task;
    return u;
  }

  void advance(Duration d) {
    clock_.advance(d);
    loop_.runUntilIdle();
  }

  SimulatedClock clock_;
  EventLoop loop_;
  std::vector<StatusUpdate> sent_;
  StatusUpdateManager manager_;
};

TEST_F(StatusUpdateManagerTest, SendsOnlyTheHeadOfEachStream) {
  auto starting = make("t1", TaskState::STARTING);
  auto running = make("t1", TaskState::RUNNING);
  auto other = make("t2", TaskState::RUNNING);
  manager_.update(starting);
  manager_.update(running);
  manager_.update(other);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].status.uuid, starting.status.uuid);
  EXPECT_EQ(sent_[1].status.uuid, other.status.uuid);
  EXPECT_EQ(manager_.pending("fw", "t1"), 2u);
}

TEST_F(StatusUpdateManagerTest, AckSendsTheNextUpdateAtOnce) {
  auto starting = make("t1", TaskState::STARTING);
  auto running = make("t1", TaskState::RUNNING);
  manager_.update(starting);
  manager_.update(running);
  EXPECT_TRUE(manager_.acknowledge("fw", "t1", starting.status.uuid));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].status.uuid, running.status.uuid);
  EXPECT_EQ(sent_[1].sandbox, "/sandbox/t1");
  EXPECT_EQ(manager_.stats().acked, 1u);
}

TEST_F(StatusUpdateManagerTest, RetriesWithExponentialBackoffUpToTheMaximum) {
  manager_.update(make("t1", TaskState::RUNNING));
  ASSERT_EQ(sent_.size(), 1u);
  advance(seconds(9.9));
  EXPECT_EQ(sent_.size(), 1u);
  advance(seconds(0.1));  // 10 s
  EXPECT_EQ(sent_.size(), 2u);
  advance(seconds(19.9));
  EXPECT_EQ(sent_.size(), 2u);
  advance(seconds(0.1));  // +20 s
  EXPECT_EQ(sent_.size(), 3u);
  advance(seconds(40));  // +40 s (the cap)
  EXPECT_EQ(sent_.size(), 4u);
  advance(seconds(40));  // still 40 s
  EXPECT_EQ(sent_.size(), 5u);
  EXPECT_EQ(sent_.back().status.uuid, sent_.front().status.uuid);
  EXPECT_EQ(manager_.stats().retried, 4u);
}

TEST_F(StatusUpdateManagerTest, BackoffRestartsAtTheMinimumForTheNextUpdate) {
  auto a = make("t1", TaskState::STARTING);
  auto b = make("t1", TaskState::RUNNING);
  manager_.update(a);
  manager_.update(b);
  advance(seconds(10));
  advance(seconds(20));
  ASSERT_EQ(sent_.size(), 3u);
  manager_.acknowledge("fw", "t1", a.status.uuid);
  ASSERT_EQ(sent_.size(), 4u);
  advance(seconds(10));
  EXPECT_EQ(sent_.size(), 5u);
  EXPECT_EQ(sent_.back().status.uuid, b.status.uuid);
}

TEST_F(StatusUpdateManagerTest, IgnoresAcksThatDoNotMatchTheHead) {
  auto a = make("t1", TaskState::STARTING);
  auto b = make("t1", TaskState::RUNNING);
  manager_.update(a);
  manager_.update(b);
  EXPECT_FALSE(manager_.acknowledge("fw", "t1", b.status.uuid));
  EXPECT_FALSE(manager_.acknowledge("fw", "t9", a.status.uuid));
  EXPECT_FALSE(manager_.acknowledge("other", "t1", a.status.uuid));
  EXPECT_EQ(manager_.pending("fw", "t1"), 2u);
  EXPECT_EQ(manager_.stats().staleAcks, 3u);
}

TEST_F(StatusUpdateManagerTest, DropsDuplicatesByUuid) {
  auto a = make("t1", TaskState::RUNNING);
  EXPECT_EQ(manager_.update(a), StatusUpdateManager::Outcome::kAccepted);
  EXPECT_EQ(manager_.update(a), StatusUpdateManager::Outcome::kDuplicate);
  manager_.acknowledge("fw", "t1", a.status.uuid);
  // Already acknowledged: an executor resend must not go out again.
  EXPECT_EQ(manager_.update(a), StatusUpdateManager::Outcome::kDuplicate);
  EXPECT_EQ(sent_.size(), 1u);
  EXPECT_EQ(manager_.stats().duplicates, 2u);
}

TEST_F(StatusUpdateManagerTest, RemembersUuidsOfFinishedStreams) {
  auto done = make("t1", TaskState::FINISHED);
  manager_.update(done);
  manager_.acknowledge("fw", "t1", done.status.uuid);
  EXPECT_EQ(manager_.pending(), 0u);
  EXPECT_EQ(manager_.update(done), StatusUpdateManager::Outcome::kDuplicate);
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(StatusUpdateManagerTest, RefusesUpdatesAfterATerminalOne) {
  manager_.update(make("t1", TaskState::FAILED));
  EXPECT_EQ(manager_.update(make("t1", TaskState::RUNNING)),
            StatusUpdateManager::Outcome::kAfterTerminal);
  EXPECT_EQ(manager_.pending("fw", "t1"), 1u);
}

TEST_F(StatusUpdateManagerTest, PausedSendsNothingAndResumeSendsEveryHead) {
  manager_.pause();
  manager_.update(make("t1", TaskState::RUNNING));
  manager_.update(make("t2", TaskState::RUNNING));
  advance(seconds(100));
  EXPECT_TRUE(sent_.empty());
  manager_.resume();
  EXPECT_EQ(sent_.size(), 2u);
  advance(seconds(10));
  EXPECT_EQ(sent_.size(), 4u);
}

TEST_F(StatusUpdateManagerTest, ClearForgetsEverything) {
  manager_.update(make("t1", TaskState::RUNNING));
  manager_.clear();
  EXPECT_EQ(manager_.pending(), 0u);
  advance(seconds(100));
  EXPECT_EQ(sent_.size(), 1u);
}

}  // namespace
}  // namespace agora::agent
