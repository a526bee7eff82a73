// Task intents on the state store: written before a launch, settled by
// status updates, and after kill -9 a framework neither launches a task
// twice nor loses one it launched.

#include "frameworks/kit/task_journal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "frameworks/kit/memory_store.hpp"
#include "frameworks/kit/sqlite_store.hpp"

namespace agora::kit {
namespace {

class TaskJournalTest : public ::testing::Test {
 protected:
  TaskJournalTest() {
    char tmpl[] = "/tmp/agora-kit-journal-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TaskJournalTest() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<SqliteStore> open() {
    auto store = SqliteStore::open(dir_ + "/state.db");
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
  static TaskStatus status(const std::string& id, TaskState state) {
    TaskStatus s;
    s.taskId = id;
    s.state = state;
    s.agentId = "agent-1";
    return s;
  }

  std::string dir_;
};

TEST_F(TaskJournalTest, IntentsStayUnconfirmedAcrossARestartUntilAnUpdateArrives) {
  {
    auto store = open();
    auto journal = TaskJournal::load(*store);
    ASSERT_TRUE(journal);
    ASSERT_TRUE(journal->intend({TaskEntry::launching("web-1", "", "app=/shop/web v=2"),
                                 TaskEntry::launching("web-2", "", "app=/shop/web v=2")}));
  }
  {
    auto store = open();
    auto journal = TaskJournal::load(*store);
    ASSERT_TRUE(journal) << journal.error().message;
    EXPECT_EQ(journal->unconfirmed(), (std::vector<std::string>{"web-1", "web-2"}));
    EXPECT_EQ(journal->find("web-1")->data, "app=/shop/web v=2");
    ASSERT_TRUE(journal->record(status("web-1", TaskState::RUNNING)));
  }
  auto store = open();
  auto journal = TaskJournal::load(*store);
  ASSERT_TRUE(journal);
  EXPECT_EQ(journal->unconfirmed(), std::vector<std::string>{"web-2"});
  EXPECT_EQ(journal->find("web-1")->state, TaskState::RUNNING);
  EXPECT_EQ(journal->find("web-1")->agentId, "agent-1");
}

TEST_F(TaskJournalTest, GroupsIndexTheirTasksAndUpdatesKeepTheirVerdictsAcrossARestart) {
  {
    auto store = open();
    auto journal = TaskJournal::load(*store);
    ASSERT_TRUE(journal);
    TaskEntry a = TaskEntry::launching("web-1"), b = TaskEntry::launching("web-2"),
              c = TaskEntry::launching("db-1");
    a.group = b.group = "/web";
    c.group = "/db";
    ASSERT_TRUE(journal->intend({a, b, c}));
    TaskStatus healthy = status("web-1", TaskState::RUNNING);
    healthy.healthy = true;
    healthy.message = "healthy: HTTP 200 from GET /";
    healthy.timestamp = 1234.5;
    ASSERT_TRUE(journal->record(healthy));
    ASSERT_EQ(journal->group("/web").size(), 2u);
    ASSERT_TRUE(journal->forget("web-2"));
    EXPECT_EQ(journal->group("/web").size(), 1u);
    EXPECT_TRUE(journal->group("/none").empty());
  }
  auto store = open();
  auto journal = TaskJournal::load(*store);
  ASSERT_TRUE(journal);
  auto web = journal->group("/web");
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0]->taskId, "web-1");
  EXPECT_EQ(web[0]->healthy, std::optional<bool>(true));
  EXPECT_EQ(web[0]->ready, std::nullopt);
  EXPECT_EQ(web[0]->message, "healthy: HTTP 200 from GET /");
  EXPECT_DOUBLE_EQ(web[0]->updated, 1234.5);
  EXPECT_EQ(journal->group("/db").size(), 1u);
}

TEST_F(TaskJournalTest, ATaskIdIsLaunchedOnceAndAllOfABatchOrNone) {
  MemoryStore store;
  auto journal = TaskJournal::load(store);
  ASSERT_TRUE(journal);
  ASSERT_TRUE(journal->intend({TaskEntry::launching("a")}));
  Status again = journal->intend({TaskEntry::launching("b"), TaskEntry::launching("a")});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(journal->find("b"), nullptr);
  EXPECT_FALSE(store.get("tasks/b")->has_value());
}

TEST_F(TaskJournalTest, UpdatesOfUnknownTasksAreNotFoundAndTerminalTasksLeaveActive) {
  MemoryStore store;
  auto journal = TaskJournal::load(store);
  ASSERT_TRUE(journal);
  EXPECT_EQ(journal->record(status("stranger", TaskState::RUNNING)).error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(journal->intend({TaskEntry::launching("a"), TaskEntry::launching("b")}));
  TaskStatus done = status("a", TaskState::FINISHED);
  done.exitCode = 0;
  ASSERT_TRUE(journal->record(done));
  EXPECT_EQ(journal->active(), std::vector<std::string>{"b"});
  EXPECT_EQ(journal->find("a")->exitCode, 0);
  ASSERT_TRUE(journal->forget("a"));
  EXPECT_FALSE(store.get("tasks/a")->has_value());
}

TEST_F(TaskJournalTest, ARecordThatDoesNotParseIsNamed) {
  MemoryStore store;
  ASSERT_TRUE(store.put("tasks/x", "{not json"));
  auto journal = TaskJournal::load(store);
  ASSERT_FALSE(journal);
  EXPECT_EQ(journal.error().code, ErrorCode::kProtocol);
  EXPECT_NE(journal.error().message.find("task record 'tasks/x'"), std::string::npos);
}

// A framework that launches task-1, task-2, ... against a "master" (an
// append-only file of launches), killed -9 at random points and restarted.
// On restart it reconciles its unconfirmed intents against the master
// (launched: adopt; not: LOST) and goes on. No task is ever launched twice,
// and every launched task is in the journal.
TEST_F(TaskJournalTest, AFrameworkKilledAtAnyPointNeitherLaunchesTwiceNorLosesATask) {
  const std::string master = dir_ + "/launches";
  auto launchedByMaster = [&] {
    std::multiset<int> out;
    std::ifstream in(master);
    for (int id; in >> id;) out.insert(id);
    return out;
  };
  std::mt19937 rng(99);
  for (int round = 0; round < 12; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = SqliteStore::open(dir_ + "/state.db");
      if (!store) _exit(2);
      auto journal = TaskJournal::load(**store);
      if (!journal) _exit(3);
      std::multiset<int> launched = launchedByMaster();
      for (const std::string& id : journal->unconfirmed()) {  // reconcile
        bool known = launched.count(std::stoi(id.substr(5))) > 0;
        if (!journal->record(status(id, known ? TaskState::RUNNING : TaskState::LOST))) _exit(4);
      }
      int next = static_cast<int>(journal->tasks().size()) + 1;
      int fd = ::open(master.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      for (;; ++next) {
        std::string id = "task-" + std::to_string(next);
        if (!journal->intend({TaskEntry::launching(id)})) _exit(5);
        std::string line = std::to_string(next) + "\n";
        if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(6);
        if (!journal->record(status(id, TaskState::RUNNING))) _exit(7);
      }
    }
    usleep(20000 + rng() % 100000);
    kill(child, SIGKILL);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the framework failed on its own: " << wstatus;
  }
  auto store = open();
  auto journal = TaskJournal::load(*store);
  ASSERT_TRUE(journal);
  std::multiset<int> launched = launchedByMaster();
  ASSERT_GT(launched.size(), 5u);
  for (int id : launched) {
    EXPECT_EQ(launched.count(id), 1u) << "task-" << id << " launched twice";
    EXPECT_NE(journal->find("task-" + std::to_string(id)), nullptr) << "task-" << id << " lost";
  }
}

}  // namespace
}  // namespace agora::kit
