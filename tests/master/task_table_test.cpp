// The master's compact task records: interning, indexes, completion.

#include "master/tasks/task_table.hpp"

#include <gtest/gtest.h>

#include "tests/master/view_data.hpp"

namespace agora::master::testing {
namespace {

TEST(InternPoolTest, SharesEqualValuesAndFreesThemWithTheLastRef) {
  InternPool<std::string> pool;
  SharedString a = pool.intern("framework-1");
  SharedString b = pool.intern(std::string("framework-") + "1");
  EXPECT_EQ(&a.get(), &b.get());
  EXPECT_EQ(pool.size(), 1u);
  SharedString c = pool.intern("framework-2");
  EXPECT_EQ(pool.size(), 2u);
  {
    SharedString copy = c;
    c.reset();
    EXPECT_EQ(pool.size(), 2u);
    EXPECT_EQ(copy.get(), "framework-2");
  }
  EXPECT_EQ(pool.size(), 1u);
  a = SharedString();
  EXPECT_EQ(pool.size(), 1u);
  b = std::move(a);  // b's ref goes; a's was empty
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(b.get(), "");
}

TEST(InternPoolTest, EmptyValuesTakeNoEntry) {
  InternPool<Resources> pool;
  SharedResources none = pool.intern(Resources());
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(pool.size(), 0u);
  SharedResources cpus = pool.intern(*Resources::parse("cpus:1;mem:32"));
  SharedResources same = pool.intern(*Resources::parse("mem:32;cpus:1"));
  SharedResources other = pool.intern(*Resources::parse("cpus:1;mem:32;ports:[31000-31000]"));
  EXPECT_EQ(&cpus.get(), &same.get());
  EXPECT_NE(&cpus.get(), &other.get());
  EXPECT_EQ(pool.size(), 2u);
}

class TaskTableTest : public ::testing::Test {
 protected:
  // A live task of f1 on agent a1, launched from `resources`.
  Task& launch(const std::string& taskId, const std::string& resources = "cpus:1;mem:32") {
    TaskInfo info;
    info.taskId = taskId;
    info.name = "name-" + taskId;
    info.resources = *Resources::parse(resources);
    info.command.value = "sleep 10";
    return state_.addTask("f1", "a1", "web", info);
  }

  ViewData state_;
};

TEST_F(TaskTableTest, KeepsWhatTheMasterNeedsAndSharesIdsAndResources) {
  Task& t1 = launch("t1");
  Task& t2 = launch("t2");
  EXPECT_EQ(t1.key(), (TaskKey{"f1", "t1"}));
  EXPECT_EQ(t1.name, "name-t1");
  EXPECT_EQ(t1.agentId.get(), "a1");
  EXPECT_EQ(t1.role.get(), "web");
  EXPECT_EQ(t1.resources->toString(), "cpus:1;mem:32");
  EXPECT_EQ(&t1.frameworkId.get(), &t2.frameworkId.get());
  EXPECT_EQ(&t1.resources.get(), &t2.resources.get());
  // f1, a1, web: one entry each however many tasks.
  EXPECT_EQ(state_.tasks.internedStrings(), 3u);
  EXPECT_EQ(state_.tasks.internedResources(), 1u);
  EXPECT_EQ(state_.findLive({"f1", "t2"}), &t2);
  EXPECT_EQ(state_.findLive({"f2", "t2"}), nullptr);
}

TEST_F(TaskTableTest, IndexesFollowCompletionAndSwapRemove) {
  launch("t1");
  launch("t2");
  launch("t3");
  const AgentTaskIndex& agent = state_.agentTasks.at("a1");
  const FrameworkTaskIndex& framework = state_.frameworkTasks.at("f1");
  EXPECT_EQ(agent.size(), 3u);
  state_.completeTask({"f1", "t1"});  // from the front: t3 takes its slot
  EXPECT_EQ(agent.keys(), (std::vector<TaskKey>{{"f1", "t2"}, {"f1", "t3"}}));
  EXPECT_EQ(framework.keys(), (std::vector<TaskKey>{{"f1", "t2"}, {"f1", "t3"}}));
  const Task* t3 = state_.findLive({"f1", "t3"});
  ASSERT_NE(t3, nullptr);
  EXPECT_TRUE(agent.contains(*t3));
  EXPECT_EQ(state_.findLive({"f1", "t1"}), nullptr);
  ASSERT_NE(state_.tasks.find({"f1", "t1"}), nullptr);
  EXPECT_TRUE(state_.tasks.find({"f1", "t1"})->completed);
  EXPECT_EQ(state_.tasks.liveCount(), 2u);
  EXPECT_EQ(state_.tasks.completedCount(), 1u);
  state_.completeTask({"f1", "t3"});
  state_.completeTask({"f1", "t2"});
  EXPECT_TRUE(agent.empty());
  EXPECT_TRUE(framework.empty());
}

TEST_F(TaskTableTest, EvictsTheOldestCompletedAndReleasesInternedValues) {
  TaskTable table(2);
  auto add = [&](const std::string& framework, const std::string& id, const char* resources) {
    Task& task = table.add(framework, id);
    task.agentId = table.intern("agent-of-" + framework);
    task.resources = table.intern(*Resources::parse(resources));
    table.complete(task);
  };
  add("f1", "a", "cpus:1");
  add("f2", "b", "cpus:2");
  EXPECT_EQ(table.internedStrings(), 4u);
  EXPECT_EQ(table.internedResources(), 2u);
  add("f3", "c", "cpus:3");  // evicts f1/a, the oldest
  EXPECT_EQ(table.find({"f1", "a"}), nullptr);
  EXPECT_NE(table.find({"f2", "b"}), nullptr);
  EXPECT_EQ(table.completedCount(), 2u);
  EXPECT_EQ(table.internedStrings(), 4u);  // f1 and agent-of-f1 went
  EXPECT_EQ(table.internedResources(), 2u);
  // A revived task leaves the completed list: it is not evicted.
  table.revive(*table.find({"f2", "b"}));
  add("f4", "d", "cpus:3");
  add("f5", "e", "cpus:3");
  EXPECT_NE(table.find({"f2", "b"}), nullptr);
  EXPECT_EQ(table.find({"f3", "c"}), nullptr);
  EXPECT_EQ(table.liveCount(), 1u);
  EXPECT_EQ(table.completedCount(), 2u);
  EXPECT_EQ(table.internedResources(), 2u);  // cpus:2 (live) and cpus:3
}

TEST_F(TaskTableTest, ALaunchReplacesACompletedTaskWithTheSameId) {
  launch("t1", "cpus:1");
  state_.completeTask({"f1", "t1"});
  Task& again = launch("t1", "cpus:2");
  EXPECT_FALSE(again.completed);
  EXPECT_EQ(state_.tasks.size(), 1u);
  EXPECT_EQ(state_.tasks.completedCount(), 0u);
  EXPECT_EQ(state_.tasks.internedResources(), 1u);
  EXPECT_EQ(state_.findLive({"f1", "t1"})->resources->toString(), "cpus:2");
}

TEST_F(TaskTableTest, StatusRoundTripsAndTheSandboxIsStoredAsTheAgentRoot) {
  Task& task = launch("t1");
  TaskStatus status;
  status.taskId = "t1";
  status.state = TaskState::FAILED;
  status.reason = TaskReason::COMMAND_EXITED;
  status.message = "exited with 3";
  status.source = StatusSource::EXECUTOR;
  status.exitCode = 3;
  status.timestamp = 12.5;
  status.containerId = "c0ffee";
  status.healthy = true;
  status.uuid = "0123456789abcdef";
  state_.tasks.setStatus(task, status);
  TaskStatus back = task.status();
  EXPECT_EQ(back.taskId, "t1");
  EXPECT_EQ(back.frameworkId, "f1");
  EXPECT_EQ(back.agentId, "a1");
  EXPECT_EQ(back.state, TaskState::FAILED);
  EXPECT_EQ(back.reason, TaskReason::COMMAND_EXITED);
  EXPECT_EQ(back.message, "exited with 3");
  EXPECT_EQ(back.source, StatusSource::EXECUTOR);
  EXPECT_EQ(back.exitCode, 3);
  EXPECT_EQ(back.timestamp, 12.5);
  EXPECT_EQ(back.containerId, "c0ffee");
  EXPECT_EQ(back.healthy, std::optional<bool>(true));
  EXPECT_EQ(back.uuid, "");

  state_.tasks.setSandbox(task, "/work/sandboxes/f1/t1/c0ffee");
  EXPECT_TRUE(task.sandboxDerived);
  EXPECT_EQ(task.sandboxBase.get(), "/work/sandboxes");
  EXPECT_EQ(task.sandbox(), "/work/sandboxes/f1/t1/c0ffee");
  // A new container keeps the sandbox it was given.
  status.containerId = "beef";
  state_.tasks.setStatus(task, status);
  EXPECT_EQ(task.sandbox(), "/work/sandboxes/f1/t1/c0ffee");
  state_.tasks.setSandbox(task, "/elsewhere");
  EXPECT_FALSE(task.sandboxDerived);
  EXPECT_EQ(task.sandbox(), "/elsewhere");
}

TEST_F(TaskTableTest, SortedListsLiveTasksThenCompletedOnesByKey) {
  launch("b");
  launch("c");
  launch("a");
  state_.completeTask({"f1", "c"});
  std::vector<std::string> ids;
  for (const Task* task : state_.tasks.sorted()) ids.push_back(task->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  state_.completeTask({"f1", "a"});
  ids.clear();
  for (const Task* task : state_.tasks.sorted()) ids.push_back(task->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "a", "c"}));
}


// Records what a TaskTable tells its observer.
class RecordingObserver : public TaskTableObserver {
 public:
  void completed(const Task& task) override { events.push_back("+" + task.frameworkId.get() + "/" + task.id); }
  void evicted(const Task& task) override { events.push_back("-" + task.frameworkId.get() + "/" + task.id); }
  std::vector<std::string> events;
};

class CompletedBoundsTest : public ::testing::Test {
 protected:
  void complete(const std::string& framework, const std::string& id) {
    Task& task = table_.add(framework, id);
    table_.complete(task);
  }
  bool has(const std::string& framework, const std::string& id) {
    return table_.find({framework, id}) != nullptr;
  }
  TaskTable table_{CompletedTaskBounds{100, 2, 2}};
};

TEST_F(CompletedBoundsTest, KeepsTheLastCompletedTasksOfEachFramework) {
  complete("f1", "a");
  complete("f2", "x");
  complete("f1", "b");
  complete("f1", "c");  // f1 has 3: its oldest goes, not f2's
  EXPECT_FALSE(has("f1", "a"));
  EXPECT_TRUE(has("f1", "b"));
  EXPECT_TRUE(has("f1", "c"));
  EXPECT_TRUE(has("f2", "x"));
  EXPECT_EQ(table_.completedCount("f1"), 2u);
  EXPECT_EQ(table_.completedCount(), 3u);
}

TEST_F(CompletedBoundsTest, DropsTheFrameworkWhoseLatestCompletionIsOldest) {
  complete("f1", "a");
  complete("f2", "x");
  complete("f1", "b");  // f2 is now the stalest
  complete("f3", "y");  // a third framework: f2's tasks go
  EXPECT_FALSE(has("f2", "x"));
  EXPECT_TRUE(has("f1", "a"));
  EXPECT_TRUE(has("f3", "y"));
  EXPECT_EQ(table_.completedFrameworks(), 2u);
  EXPECT_EQ(table_.completedCount("f2"), 0u);
}

TEST_F(CompletedBoundsTest, TellsItsObserverOfCompletionsAndEvictionsButNotOfRestores) {
  RecordingObserver observer;
  table_.setObserver(&observer);
  complete("f1", "a");
  Task& restored = table_.add("f1", "old");
  table_.complete(restored, /*restored=*/true);
  complete("f1", "b");  // evicts f1/a, the oldest
  table_.add("f1", "b");  // a relaunch replaces the completed record
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"+f1/a", "+f1/b", "-f1/a", "-f1/b"}));
  table_.setObserver(nullptr);
}

TEST_F(TaskTableTest, RecordsEachStateChangeOnceWithItsReasonMessageAndTime) {
  Task& task = launch("t1");
  auto update = [&](TaskState state, double time, const std::string& message) {
    TaskStatus status = task.status();
    status.state = state;
    status.message = message;
    status.timestamp = time;
    status.reason = state == TaskState::KILLED ? TaskReason::COMMAND_EXITED : TaskReason::NONE;
    state_.tasks.setStatus(task, status);
  };
  update(TaskState::STAGING, 10, "");
  update(TaskState::RUNNING, 11, "started");
  update(TaskState::RUNNING, 12, "healthy");  // same state: no entry
  update(TaskState::KILLED, 13, "Task killed: Command terminated by signal 15");
  ASSERT_EQ(task.history.size(), 3u);
  EXPECT_EQ(task.history[1].state, TaskState::RUNNING);
  EXPECT_EQ(task.history[1].message.get(), "started");
  EXPECT_EQ(task.history[1].timestamp, 11);
  EXPECT_EQ(task.history[2].reason, TaskReason::COMMAND_EXITED);
  EXPECT_EQ(task.history[2].timestamp, 13);
  // A long history keeps its first entry and the latest ones.
  for (int i = 0; i < 40; ++i) {
    update(i % 2 ? TaskState::RUNNING : TaskState::STARTING, 20 + i, "");
  }
  EXPECT_EQ(task.history.size(), Task::kMaxHistory);
  EXPECT_EQ(task.history.front().state, TaskState::STAGING);
  EXPECT_EQ(task.history.back().timestamp, 59);
}

}  // namespace
}  // namespace agora::master::testing
