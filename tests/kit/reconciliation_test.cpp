// Reconciliation of a framework's journal against the master's answers.

#include "frameworks/kit/reconciliation.hpp"

#include <gtest/gtest.h>

#include "frameworks/kit/memory_store.hpp"

namespace agora::kit {
namespace {

TaskStatus said(const std::string& id, TaskState state, const std::string& agent = "agent-1") {
  TaskStatus s;
  s.taskId = id;
  s.state = state;
  s.agentId = agent;
  return s;
}

class ReconciliationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = TaskJournal::load(store_);
    ASSERT_TRUE(loaded);
    journal_.emplace(std::move(*loaded));
    ASSERT_TRUE(journal_->intend({TaskEntry::launching("running", "agent-1"),
                                  TaskEntry::launching("finished-meanwhile", "agent-1"),
                                  TaskEntry::launching("never-arrived", "agent-2")}));
  }
  MemoryStore store_;
  std::optional<TaskJournal> journal_;
};

TEST_F(ReconciliationTest, AdoptsWhatTheMasterKnowsReplacesWhatItDoesNotKillsStrangers) {
  auto outcome = reconcile(*journal_, {said("running", TaskState::RUNNING),
                                       said("finished-meanwhile", TaskState::FINISHED),
                                       said("never-arrived", TaskState::UNKNOWN, "agent-2"),
                                       said("stranger", TaskState::RUNNING, "agent-3")});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->adopted, (std::vector<std::string>{"finished-meanwhile", "running"}));
  EXPECT_EQ(outcome->replace, std::vector<std::string>{"never-arrived"});
  ASSERT_EQ(outcome->kill.size(), 1u);
  EXPECT_EQ(outcome->kill[0].taskId, "stranger");
  EXPECT_EQ(outcome->kill[0].agentId, "agent-3");
  // The journal follows: states as the master said, the vanished one LOST.
  EXPECT_EQ(journal_->find("running")->state, TaskState::RUNNING);
  EXPECT_TRUE(journal_->find("running")->confirmed);
  EXPECT_EQ(journal_->find("finished-meanwhile")->state, TaskState::FINISHED);
  EXPECT_EQ(journal_->find("never-arrived")->state, TaskState::LOST);
  EXPECT_TRUE(journal_->unconfirmed().empty());
  EXPECT_EQ(journal_->active(), std::vector<std::string>{"running"});
}

TEST_F(ReconciliationTest, APolicyCanKillOrReplaceWhatIsRunning) {
  // E.g. an old version still running: replace it (killed first, placed anew).
  auto outcome = reconcile(
      *journal_,
      {said("running", TaskState::RUNNING), said("finished-meanwhile", TaskState::RUNNING)},
      [](const TaskEntry* known, const std::optional<TaskStatus>& master) {
        if (known != nullptr && known->taskId == "running") return ReconcileAction::kReplace;
        if (known != nullptr && known->taskId == "finished-meanwhile") {
          return ReconcileAction::kKill;
        }
        return defaultReconcilePolicy(known, master);
      });
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->replace, (std::vector<std::string>{"never-arrived", "running"}));
  ASSERT_EQ(outcome->kill.size(), 2u);
  EXPECT_EQ(outcome->kill[0].taskId, "finished-meanwhile");
  EXPECT_EQ(outcome->kill[1].taskId, "running");
  EXPECT_EQ(journal_->find("running")->state, TaskState::LOST);
}

}  // namespace
}  // namespace agora::kit
