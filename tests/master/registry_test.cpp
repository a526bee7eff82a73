// The registry store and registrar: round trips, corruption detection on
// damaged files, schema evolution and the persist-before-answer ordering.

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "master/registry/registrar.hpp"
#include "master/registry/registry_store.hpp"
#include "schemas/registry.capnp.h"
#include "tests/common/resource_helpers.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

using agora::testing::res;

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() {
    char tmpl[] = "/tmp/agora-registry-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/registry.db";
  }
  ~RegistryTest() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<RegistryStore>> open(RegistryContents& contents) {
    return RegistryStore::open(path_, contents);
  }
  void commit(const std::vector<Mutation>& mutations) {
    RegistryContents ignored;
    auto store = open(ignored);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE((*store)->commit(mutations));
  }
  std::string readFile() {
    std::stringstream ss;
    ss << std::ifstream(path_, std::ios::binary).rdbuf();
    return ss.str();
  }
  void writeFile(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }
  static AgentRecord agent(const std::string& id, const std::string& hostname = "host") {
    AgentRecord record;
    record.id = id;
    record.hostname = hostname;
    record.url = "http://127.0.0.1:5051";
    record.resources = res("cpus:2;mem:1024;ports:[31000-31010]");
    record.attributes = {{"rack", "r1"}};
    record.registeredTime = 1.7e9;
    return record;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(RegistryTest, RoundTripsEveryRecordKind) {
  FrameworkRecord framework;
  framework.info.id = "M-0001";
  framework.info.name = "web";
  framework.info.roles = {"eng/web", "ops"};
  framework.info.failoverTimeoutSec = 120;
  framework.info.capabilities = {"PARTITION_AWARE"};
  framework.registeredTime = 1.7e9;
  framework.failoverDeadline = 1.7e9 + 120;
  AgentRecord gone = agent("M-S2", "h2");
  gone.state = AgentRecordState::kUnreachable;
  gone.unreachableTime = 1.7e9 + 5;
  commit({putAgent(agent("M-S1")), putAgent(gone), putFramework(framework),
          putWeight("eng", 3), putQuota("eng", {res("cpus:1"), res("cpus:2;mem:512")}),
          putQuota("ops", {std::nullopt, res("mem:64")}), putQuota("gone", {res("cpus:1"), {}}),
          eraseQuota("gone"), eraseQuota("never-set")});

  RegistryContents contents;
  auto store = open(contents);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_EQ(contents.agents.size(), 2u);
  const AgentRecord& a = contents.agents.at("M-S1");
  EXPECT_EQ(a.hostname, "host");
  EXPECT_EQ(a.url, "http://127.0.0.1:5051");
  EXPECT_EQ(a.resources.toString(), res("cpus:2;mem:1024;ports:[31000-31010]").toString());
  EXPECT_EQ(a.attributes, (KeyValues{{"rack", "r1"}}));
  EXPECT_EQ(a.state, AgentRecordState::kAdmitted);
  EXPECT_EQ(contents.agents.at("M-S2").state, AgentRecordState::kUnreachable);
  EXPECT_EQ(contents.agents.at("M-S2").unreachableTime, 1.7e9 + 5);
  const FrameworkRecord& f = contents.frameworks.at("M-0001");
  EXPECT_EQ(f.info.roles, (std::vector<std::string>{"eng/web", "ops"}));
  EXPECT_EQ(f.info.failoverTimeoutSec, 120);
  EXPECT_TRUE(f.info.hasCapability("PARTITION_AWARE"));
  EXPECT_EQ(f.failoverDeadline, 1.7e9 + 120);
  EXPECT_EQ(f.removedTime, 0);
  EXPECT_EQ(contents.weights, (std::map<std::string, double>{{"eng", 3}}));
  ASSERT_EQ(contents.quotas.size(), 2u);
  EXPECT_EQ(contents.quotas.at("eng").guarantee->toString(), "cpus:1");
  EXPECT_EQ(contents.quotas.at("eng").limit->toString(), res("cpus:2;mem:512").toString());
  EXPECT_FALSE(contents.quotas.at("ops").guarantee.has_value());

  // Overwrites keep one record per key.
  ASSERT_TRUE((*store)->commit({putWeight("eng", 5), putWeight("eng", 6)}));
  store->reset();
  RegistryContents again;
  ASSERT_TRUE(open(again));
  EXPECT_EQ(again.weights.at("eng"), 6);
}

TEST_F(RegistryTest, RoundTripsCompletedTasksAndErasesEvictedOnes) {
  CompletedTaskRecord task;
  task.frameworkId = "M-0001";
  task.taskId = "batch/7";  // a '/' in an ID cannot make two keys collide
  task.name = "report";
  task.agentId = "M-S1";
  task.role = "eng";
  task.resources = res("cpus:0.5;mem:64");
  task.sandbox = "/var/lib/agora/sandboxes/M-0001/batch/7/c1";
  task.latest.taskId = task.taskId;
  task.latest.frameworkId = task.frameworkId;
  task.latest.state = TaskState::KILLED;
  task.latest.reason = TaskReason::COMMAND_EXITED;
  task.latest.message = "Task killed: Command terminated by signal 15 (Terminated)";
  task.latest.exitCode = 143;
  task.latest.timestamp = 1.7e9 + 9;
  for (auto [state, time] : {std::pair{TaskState::STAGING, 1.7e9}, {TaskState::RUNNING, 1.7e9 + 1},
                             {TaskState::KILLED, 1.7e9 + 9}}) {
    TaskStatus status;
    status.state = state;
    status.timestamp = time;
    task.statuses.push_back(status);
  }
  CompletedTaskRecord other = task;
  other.frameworkId = "M-0001/batch";
  other.taskId = "7";
  EXPECT_NE(completedTaskKey(task.frameworkId, task.taskId),
            completedTaskKey(other.frameworkId, other.taskId));
  commit({putCompletedTask(task), putCompletedTask(other)});

  RegistryContents contents;
  auto store = open(contents);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_EQ(contents.tasks.size(), 2u);
  const CompletedTaskRecord& read =
      contents.tasks[0].taskId == "batch/7" ? contents.tasks[0] : contents.tasks[1];
  EXPECT_EQ(read.frameworkId, "M-0001");
  EXPECT_EQ(read.name, "report");
  EXPECT_EQ(read.role, "eng");
  EXPECT_EQ(read.resources.toString(), res("cpus:0.5;mem:64").toString());
  EXPECT_EQ(read.sandbox, task.sandbox);
  EXPECT_EQ(read.latest.state, TaskState::KILLED);
  EXPECT_EQ(read.latest.exitCode, 143);
  EXPECT_EQ(read.latest.message, task.latest.message);
  ASSERT_EQ(read.statuses.size(), 3u);
  EXPECT_EQ(read.statuses[1].state, TaskState::RUNNING);
  EXPECT_EQ(read.statuses[1].timestamp, 1.7e9 + 1);

  ASSERT_TRUE((*store)->commit({eraseCompletedTask(other.frameworkId, other.taskId)}));
  store->reset();
  RegistryContents again;
  ASSERT_TRUE(open(again));
  ASSERT_EQ(again.tasks.size(), 1u);
  EXPECT_EQ(again.tasks[0].taskId, "batch/7");
}

TEST_F(RegistryTest, DetectsAFlippedByteInARecord) {
  commit({putAgent(agent("M-S1", "marker-hostname-0123456789"))});
  std::string bytes = readFile();
  size_t at = bytes.find("marker-hostname-0123456789");
  ASSERT_NE(at, std::string::npos) << "the record is not in the main file";
  bytes[at + 3] ^= 0x20;
  writeFile(bytes);
  RegistryContents contents;
  auto store = open(contents);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr(path_));
  EXPECT_THAT(store.error().message, HasSubstr("agent 'M-S1'"));
  EXPECT_THAT(store.error().message, HasSubstr("checksum"));
}

TEST_F(RegistryTest, DetectsATruncatedFile) {
  std::vector<Mutation> many;
  for (int i = 0; i < 400; ++i) many.push_back(putAgent(agent("M-S" + std::to_string(i))));
  commit(many);
  std::string bytes = readFile();
  ASSERT_GT(bytes.size(), 16384u);
  writeFile(bytes.substr(0, bytes.size() / 2));
  RegistryContents contents;
  auto store = open(contents);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr(path_));
  EXPECT_THAT(store.error().message, HasSubstr("corrupt"));
}

TEST_F(RegistryTest, RejectsAFileThatIsNotADatabase) {
  writeFile(std::string(8192, 'x'));
  RegistryContents contents;
  auto store = open(contents);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr(path_));
  EXPECT_THAT(store.error().message, HasSubstr("not a database"));
}

TEST_F(RegistryTest, RejectsAnotherFormatVersionAndUnknownRecordKinds) {
  commit({putWeight("eng", 2)});
  // A record whose union member this master does not know (a newer master's).
  Mutation future = putWeight("web", 2);
  (*future.bytes)[16] = 42;  // the union discriminant, first in the root's data section
  future.kind = "weight";
  commit({future});
  RegistryContents contents;
  auto store = open(contents);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr("weight 'web'"));
  EXPECT_THAT(store.error().message, HasSubstr("does not know"));

  std::filesystem::remove(path_);
  commit({putWeight("eng", 2)});
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = 9 WHERE name = 'format_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  store = open(contents);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr("format version 9"));
}

TEST_F(RegistryTest, ReadsRecordsWrittenBeforeFieldsWereAdded) {
  // A framework record as an older master wrote it: no deadline, no removal time.
  capnp::MallocMessageBuilder message;
  auto info = message.initRoot<schema::RegistryRecord>().initFramework().initInfo();
  info.setId("old-1");
  info.setName("legacy");
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  commit({Mutation{"framework", "old-1",
                   std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size())}});
  RegistryContents contents;
  ASSERT_TRUE(open(contents));
  ASSERT_EQ(contents.frameworks.count("old-1"), 1u);
  EXPECT_EQ(contents.frameworks.at("old-1").info.name, "legacy");
  EXPECT_EQ(contents.frameworks.at("old-1").failoverDeadline, 0);
  EXPECT_EQ(contents.frameworks.at("old-1").removedTime, 0);
}

TEST_F(RegistryTest, FreshStartMovesACorruptRegistryAside) {
  writeFile("garbage that is not sqlite, long enough to have a header.............");
  SimulatedClock clock;
  EventLoop loop(clock);
  auto refused = Registrar::open(loop, path_, {false, false});
  ASSERT_FALSE(refused);
  auto fresh = Registrar::open(loop, path_, {false, true});
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_TRUE((*fresh)->recovered().agents.empty());
  ASSERT_FALSE((*fresh)->movedAside().empty());
  EXPECT_TRUE(std::filesystem::exists((*fresh)->movedAside()));
}

TEST_F(RegistryTest, CompletionsWaitForTheCommitAndBatchTogether) {
  SimulatedClock clock;
  EventLoop loop(clock);
  auto registrar = Registrar::open(loop, path_, {false, false});
  ASSERT_TRUE(registrar);
  (*registrar)->hold(true);
  std::vector<std::string> done;
  (*registrar)->write({putWeight("a", 2)}, [&](Status s) { done.push_back(s ? "a" : "fail"); });
  (*registrar)->write({putWeight("b", 3)}, [&](Status s) { done.push_back(s ? "b" : "fail"); });
  (*registrar)->sync([&](Status s) { done.push_back(s ? "sync" : "fail"); });
  loop.runUntilIdle();
  EXPECT_TRUE(done.empty());
  (*registrar)->hold(false);
  loop.runUntilIdle();
  EXPECT_EQ(done, (std::vector<std::string>{"a", "b", "sync"}));
  EXPECT_EQ((*registrar)->stats().commits, 1u);
  registrar->reset();
  RegistryContents contents;
  ASSERT_TRUE(open(contents));
  EXPECT_EQ(contents.weights.size(), 2u);
}

TEST_F(RegistryTest, ThreadedRegistrarPostsCompletionsToTheLoop) {
  EventLoop loop;
  auto registrar = Registrar::open(loop, path_);
  ASSERT_TRUE(registrar);
  bool ok = false;
  std::thread::id ranOn;
  loop.post([&] {
    (*registrar)->write({putWeight("a", 2)}, [&](Status s) {
      ok = s.has_value();
      ranOn = std::this_thread::get_id();
      loop.stop();
    });
  });
  loop.addTimer(std::chrono::seconds(10), [&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(ok);
  EXPECT_EQ(ranOn, std::this_thread::get_id());
}

TEST_F(RegistryTest, SecondOpenOfTheSameFileIsRefused) {
  RegistryContents first;
  auto store = open(first);
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->commit({putWeight("a", 2)}));
  RegistryContents second;
  auto other = open(second);
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr(path_));
}

}  // namespace
}  // namespace agora::master::testing
