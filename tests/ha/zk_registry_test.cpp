// The registry in ZooKeeper (master/registry/zk_registry.hpp) against a real
// ZooKeeper server: hand-over between leaders, fencing of a deposed leader,
// corrupt records.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/event_loop.hpp"
#include "common/zk/zk_session.hpp"
#include "master/registry/zk_registry.hpp"
#include "tests/support/zookeeper_test.hpp"

namespace agora {
namespace {

using master::Mutation;
using master::RegistryContents;
using master::ZkRegistry;
using ::testing::HasSubstr;
using zk::ZkSession;

constexpr const char* kElection = "/agora/masters";

class ZkRegistryTest : public testing::ZooKeeperTest {
 protected:
  std::unique_ptr<ZkSession> session() { return newSession(seconds(5), /*waitConnected=*/true); }
  // An election znode of `session` (what a leader fences its writes on).
  std::string electionNode(ZkSession& session) {
    std::optional<Status> made;
    session.ensurePath(kElection, [&](Status s) { made = s; });
    EXPECT_TRUE(runUntil([&] { return made.has_value(); }));
    EXPECT_TRUE(*made) << made->error().message;
    std::optional<Result<std::string>> node;
    session.create(std::string(kElection) + "/info_x-", "", true,
                   [&](Result<std::string> r) { node = std::move(r); });
    EXPECT_TRUE(runUntil([&] { return node.has_value(); }));
    if (!*node) {
      ADD_FAILURE() << node->error().message;
      return "";
    }
    return **node;
  }
  Result<RegistryContents> takeover(ZkRegistry& registry, const std::string& fence,
                                    bool fresh = false) {
    std::optional<Result<RegistryContents>> read;
    registry.takeover(fence, fresh, [&](Result<RegistryContents> r) { read = std::move(r); });
    EXPECT_TRUE(runUntil([&] { return read.has_value(); }));
    return read ? std::move(*read) : makeError(ErrorCode::kUnavailable, "no answer");
  }
  Status write(ZkRegistry& registry, std::vector<Mutation> mutations) {
    std::optional<Status> done;
    registry.submit(std::move(mutations), [&](Status s) { done = s; });
    EXPECT_TRUE(runUntil([&] { return done.has_value(); }));
    return done ? *done : makeError(ErrorCode::kUnavailable, "no answer");
  }
  Status multi(ZkSession& session, std::vector<ZkSession::Op> ops) {
    std::optional<Status> done;
    session.multi(std::move(ops), [&](Status s) { done = s; });
    EXPECT_TRUE(runUntil([&] { return done.has_value(); }));
    return done ? *done : makeError(ErrorCode::kUnavailable, "no answer");
  }
  std::unique_ptr<ZkRegistry> registry(ZkSession& session) {
    return std::make_unique<ZkRegistry>(loop_, session, zookeeper_->address(), kElection);
  }
};

master::AgentRecord agent(const std::string& id) {
  master::AgentRecord record;
  record.id = id;
  record.hostname = "host-" + id;
  record.url = "http://127.0.0.1:1/";
  record.resources = *Resources::parse("cpus:2;mem:1024");
  record.registeredTime = 1000;
  return record;
}

TEST_F(ZkRegistryTest, TheNextLeaderReadsWhatThePreviousOneWrote) {
  auto first = session();
  auto leader = registry(*first);
  auto empty = takeover(*leader, electionNode(*first));
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->agents.empty());

  master::FrameworkRecord framework;
  framework.info.id = "fw-1";
  framework.info.name = "web";
  framework.info.roles = {"eng/web"};
  framework.info.failoverTimeoutSec = 60;
  framework.failoverDeadline = 123456;
  master::QuotaRecord quota;
  quota.guarantee = *Resources::parse("cpus:1");
  ASSERT_TRUE(write(*leader, {master::putAgent(agent("a1")), master::putAgent(agent("a2"))}));
  ASSERT_TRUE(write(*leader, {master::putFramework(framework)}));
  // Pipelined: every write is sent before the first answer comes back.
  std::vector<std::optional<Status>> answers(50);
  for (int i = 0; i < 50; ++i) {
    leader->submit({master::putWeight("eng/web", i + 1)}, [&, i](Status s) {
      for (int j = 0; j < i; ++j) EXPECT_TRUE(answers[j].has_value()) << "out of order";
      answers[i] = s;
    });
  }
  ASSERT_TRUE(runUntil([&] { return answers.back().has_value(); }));
  for (const auto& answer : answers) EXPECT_TRUE(answer && *answer);
  ASSERT_TRUE(write(*leader, {master::putQuota("eng/web", quota), master::putQuota("ops", quota)}));
  ASSERT_TRUE(write(*leader, {master::eraseQuota("ops")}));
  leader.reset();
  first.reset();  // the leader's session closes: its election znode goes

  auto second = session();
  auto next = registry(*second);
  auto read = takeover(*next, electionNode(*second));
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->agents.size(), 2u);
  EXPECT_EQ(read->agents.at("a2").hostname, "host-a2");
  ASSERT_EQ(read->frameworks.count("fw-1"), 1u);
  EXPECT_EQ(read->frameworks.at("fw-1").failoverDeadline, 123456);
  EXPECT_EQ(read->weights.at("eng/web"), 50);
  ASSERT_EQ(read->quotas.size(), 1u);
  EXPECT_EQ(read->quotas.at("eng/web").guarantee, quota.guarantee);
  EXPECT_EQ(next->root(), std::string(kElection) + "/registry");
}

TEST_F(ZkRegistryTest, ADeposedLeaderCannotOverwriteTheNewLeadersState) {
  auto oldSession = session();
  auto old = registry(*oldSession);
  std::string oldNode = electionNode(*oldSession);
  ASSERT_TRUE(takeover(*old, oldNode));
  ASSERT_TRUE(write(*old, {master::putWeight("eng", 1)}));
  int failures = 0;
  old->setOnFailure([&](const Error&) { failures++; });

  // The old leader's election znode goes (as when ZooKeeper expires its
  // session) while the old master still believes it leads.
  auto newSession = session();
  auto removed = multi(*newSession, {{ZkSession::Op::Kind::kDelete, oldNode, "", -1}});
  ASSERT_TRUE(removed) << removed.error().message;
  auto fresh = registry(*newSession);
  auto read = takeover(*fresh, electionNode(*newSession));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->weights.at("eng"), 1);
  ASSERT_TRUE(write(*fresh, {master::putWeight("eng", 5)}));

  auto stale = write(*old, {master::putWeight("eng", 9), master::putAgent(agent("ghost"))});
  ASSERT_FALSE(stale);
  EXPECT_THAT(stale.error().message, HasSubstr(oldNode));
  EXPECT_THAT(stale.error().message, HasSubstr("no longer leads"));
  EXPECT_EQ(failures, 1);
  EXPECT_FALSE(write(*old, {master::putWeight("ops", 1)}));  // and nothing after
  EXPECT_EQ(failures, 1);

  auto third = session();
  auto check = registry(*third);
  auto after = takeover(*check, electionNode(*third));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->weights.at("eng"), 5);
  EXPECT_EQ(after->weights.count("ops"), 0u);
  EXPECT_EQ(after->agents.count("ghost"), 0u);
}

TEST_F(ZkRegistryTest, ACorruptRecordIsReportedWithItsPathAndMovedAsideOnlyWhenFresh) {
  auto first = session();
  auto leader = registry(*first);
  ASSERT_TRUE(takeover(*leader, electionNode(*first)));
  ASSERT_TRUE(write(*leader, {master::putAgent(agent("a1")), master::putAgent(agent("a2"))}));
  std::string path = std::string(kElection) + "/registry/agents/a1";
  std::optional<Result<std::string>> data;
  first->get(path, [&](Result<std::string> r) { data = std::move(r); });
  ASSERT_TRUE(runUntil([&] { return data.has_value(); }));
  ASSERT_TRUE(*data);
  std::string damaged = **data;
  damaged[damaged.size() / 2] ^= 0x01;
  ASSERT_TRUE(multi(*first, {{ZkSession::Op::Kind::kSet, path, damaged, -1}}));

  auto second = session();
  std::string node = electionNode(*second);
  auto refused = takeover(*registry(*second), node);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr(path));
  EXPECT_THAT(refused.error().message, HasSubstr("corrupt"));

  auto fresh = registry(*second);
  auto read = takeover(*fresh, node, /*fresh=*/true);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->agents.count("a1"), 0u);
  EXPECT_EQ(read->agents.count("a2"), 1u);
  std::optional<Result<std::vector<std::string>>> children;
  second->getChildren(kElection, {}, [&](auto r) { children = std::move(r); });
  ASSERT_TRUE(runUntil([&] { return children.has_value(); }));
  ASSERT_TRUE(*children);
  std::string bad;
  for (const auto& child : **children) {
    if (child.rfind("registry-bad-", 0) == 0) bad = child;
  }
  ASSERT_FALSE(bad.empty());
  std::optional<Result<std::string>> kept;
  second->get(std::string(kElection) + "/" + bad + "/agents/a1",
              [&](Result<std::string> r) { kept = std::move(r); });
  ASSERT_TRUE(runUntil([&] { return kept.has_value(); }));
  ASSERT_TRUE(*kept);
  EXPECT_EQ(**kept, damaged);
}

}  // namespace
}  // namespace agora
