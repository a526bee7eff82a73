// The checkpoint file format (common/checkpoint_file.hpp) and the agent's
// checkpoints (agent/checkpoints.hpp): roundtrip, corruption, truncation,
// atomic replacement.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/checkpoints.hpp"
#include "agent/executor/task_exit.hpp"
#include "agent/paths.hpp"
#include "common/checkpoint_file.hpp"
#include "common/transport.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-ckpt-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  ContainerState container(const std::string& id) const {
    ContainerState c;
    c.containerId = id;
    c.framework.id = "fw";
    c.framework.name = "demo";
    c.task.taskId = "t1";
    c.task.command.value = "sleep 5";
    c.sandbox = dir_ + "/sandbox";
    c.executorPid = 1234;
    c.executorStartTime = 987654321;
    c.launchedAt = 17.5;
    return c;
  }
  static TaskStatus status(TaskState state) {
    TaskStatus s;
    s.taskId = "t1";
    s.frameworkId = "fw";
    s.state = state;
    s.uuid = randomUuidBytes();
    s.message = "m";
    return s;
  }

  std::string dir_;
};

TEST_F(CheckpointTest, MakeDirsCreatesMissingParentsAndRefusesAFileInTheWay) {
  std::string deep = dir_ + "/a/b/c";
  ASSERT_TRUE(paths::makeDirs(deep, 0700));
  EXPECT_TRUE(fs::is_directory(deep));
  EXPECT_EQ(fs::status(dir_ + "/a").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_TRUE(paths::makeDirs(deep));            // already there
  EXPECT_TRUE(paths::makeDirs(dir_ + "/a/b/"));  // a trailing slash
  std::ofstream(dir_ + "/file") << "x";
  auto inTheWay = paths::makeDirs(dir_ + "/file");
  ASSERT_FALSE(inTheWay);
  EXPECT_NE(inTheWay.error().message.find("is not a directory"), std::string::npos);
  auto under = paths::makeDirs(dir_ + "/file/sub");
  ASSERT_FALSE(under);
  EXPECT_NE(under.error().message.find("mkdir " + dir_ + "/file/sub"), std::string::npos)
      << under.error().message;
  EXPECT_FALSE(paths::makeDirs(""));
}

TEST_F(CheckpointTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST_F(CheckpointTest, FileRoundTripsAndReplacesAtomically) {
  std::string path = dir_ + "/x.ckpt";
  ASSERT_TRUE(writeCheckpointFile(path, std::string("first\0payload", 13)));
  EXPECT_EQ(*readCheckpointFile(path), std::string("first\0payload", 13));
  // A torn temporary file left by a crash during a later write changes nothing.
  writeFile(path + ".tmp", "garbage");
  EXPECT_EQ(*readCheckpointFile(path), std::string("first\0payload", 13));
  ASSERT_TRUE(writeCheckpointFile(path, "second"));
  EXPECT_EQ(*readCheckpointFile(path), "second");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  ASSERT_TRUE(writeCheckpointFile(path, ""));
  EXPECT_EQ(*readCheckpointFile(path), "");
}

TEST_F(CheckpointTest, MissingFileIsNotFound) {
  auto read = readCheckpointFile(dir_ + "/none.ckpt");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
}

TEST_F(CheckpointTest, EveryFlippedByteIsDetected) {
  std::string path = dir_ + "/x.ckpt";
  ASSERT_TRUE(writeCheckpointFile(path, "the payload that matters"));
  std::string good = readFile(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    writeFile(path, bad);
    auto read = readCheckpointFile(path);
    ASSERT_FALSE(read) << "byte " << i;
    EXPECT_EQ(read.error().code, ErrorCode::kIo);
    EXPECT_NE(read.error().message.find(path), std::string::npos) << read.error().message;
  }
}

TEST_F(CheckpointTest, EveryTruncationIsDetected) {
  std::string path = dir_ + "/x.ckpt";
  ASSERT_TRUE(writeCheckpointFile(path, "the payload that matters"));
  std::string good = readFile(path);
  for (size_t len = 0; len < good.size(); ++len) {
    writeFile(path, good.substr(0, len));
    auto read = readCheckpointFile(path);
    ASSERT_FALSE(read) << "length " << len;
    EXPECT_NE(read.error().message.find("truncated"), std::string::npos) << read.error().message;
  }
  writeFile(path, good + "x");
  EXPECT_FALSE(readCheckpointFile(path));
}

TEST_F(CheckpointTest, AgentStateRoundTrips) {
  std::string id = "c0ffee";
  ASSERT_TRUE(paths::makeDirs(paths::containerDir(dir_, id)));
  ASSERT_TRUE(checkpoints::writeAgent(dir_, AgentIdentity{"M-S1", "boot", "host", "cpus:1"}));
  ASSERT_TRUE(checkpoints::writeContainer(dir_, container(id)));
  UpdateStreamState stream;
  stream.frameworkId = "fw";
  stream.taskId = "t1";
  stream.pending = {status(TaskState::RUNNING), status(TaskState::FINISHED)};
  stream.seenUuids = {stream.pending[0].uuid, stream.pending[1].uuid};
  stream.terminal = true;
  stream.latest = stream.pending[1];
  ASSERT_TRUE(checkpoints::writeStream(dir_, id, stream));
  TaskStatus exit = status(TaskState::FINISHED);
  ASSERT_TRUE(writeTaskExit(paths::taskExitFile(dir_, id), exit));

  auto state = checkpoints::recover(dir_);
  ASSERT_TRUE(state) << state.error().message;
  ASSERT_TRUE(state->agent);
  EXPECT_EQ(state->agent->agentId, "M-S1");
  EXPECT_EQ(state->agent->bootId, "boot");
  ASSERT_EQ(state->containers.size(), 1u);
  const RecoveredContainer& c = state->containers[0];
  EXPECT_EQ(c.container.containerId, id);
  EXPECT_EQ(c.container.framework.name, "demo");
  EXPECT_EQ(c.container.task.command.value, "sleep 5");
  EXPECT_EQ(c.container.executorPid, 1234);
  EXPECT_EQ(c.container.executorStartTime, 987654321u);
  ASSERT_TRUE(c.stream);
  ASSERT_EQ(c.stream->pending.size(), 2u);
  EXPECT_EQ(c.stream->pending[0].uuid, stream.pending[0].uuid);
  EXPECT_EQ(c.stream->pending[1].state, TaskState::FINISHED);
  EXPECT_EQ(c.stream->seenUuids.size(), 2u);
  EXPECT_TRUE(c.stream->terminal);
  ASSERT_TRUE(c.exit);
  EXPECT_EQ(c.exit->uuid, exit.uuid);

  ASSERT_TRUE(checkpoints::removeContainer(dir_, id));
  EXPECT_FALSE(fs::exists(paths::containerCheckpoint(dir_, id)));
  EXPECT_FALSE(fs::exists(paths::updatesCheckpoint(dir_, id)));
  EXPECT_FALSE(fs::exists(paths::taskExitFile(dir_, id)));
  EXPECT_FALSE(fs::exists(paths::containerDir(dir_, id)));
  EXPECT_TRUE(checkpoints::recover(dir_)->containers.empty());
}

TEST_F(CheckpointTest, RecoveryRefusesACorruptContainerAndNamesIt) {
  std::string id = "c0ffee";
  ASSERT_TRUE(paths::makeDirs(paths::containerDir(dir_, id)));
  ASSERT_TRUE(checkpoints::writeContainer(dir_, container(id)));
  std::string path = paths::containerCheckpoint(dir_, id);
  std::string bytes = readFile(path);
  bytes[bytes.size() / 2] ^= 0x40;
  writeFile(path, bytes);
  auto state = checkpoints::recover(dir_);
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find(path), std::string::npos) << state.error().message;
  EXPECT_NE(state.error().message.find("checksum"), std::string::npos) << state.error().message;
  EXPECT_TRUE(checkpoints::readableContainers(dir_).empty());
}

// Container checkpoints are written without fsync (they cannot outlive the
// boot): after a host crash they may be torn, and recovery must not trip on
// them once the boot ID says they belong to an earlier boot.
TEST_F(CheckpointTest, ContainersOfAnEarlierBootAreNotRead) {
  std::string id = "c0ffee";
  ASSERT_TRUE(paths::makeDirs(paths::containerDir(dir_, id)));
  ASSERT_TRUE(checkpoints::writeAgent(dir_, AgentIdentity{"M-S1", "boot-1", "host", ""}));
  ASSERT_TRUE(checkpoints::writeContainer(dir_, container(id)));
  std::string path = paths::containerCheckpoint(dir_, id);
  writeFile(path, readFile(path).substr(0, 10));  // torn by the crash

  auto same = checkpoints::recover(dir_, "boot-1");
  ASSERT_FALSE(same);
  EXPECT_NE(same.error().message.find(path), std::string::npos) << same.error().message;

  auto later = checkpoints::recover(dir_, "boot-2");
  ASSERT_TRUE(later) << later.error().message;
  ASSERT_TRUE(later->agent);
  EXPECT_EQ(later->agent->bootId, "boot-1");
  EXPECT_TRUE(later->containers.empty());
}

TEST_F(CheckpointTest, ACheckpointUnderAnotherContainersNameIsRefused) {
  ASSERT_TRUE(paths::makeDirs(paths::containerDir(dir_, "b")));
  EXPECT_FALSE(checkpoints::writeContainer(dir_, container("a")));  // no directory a yet
  fs::create_directories(paths::containerDir(dir_, "a"));
  ASSERT_TRUE(checkpoints::writeContainer(dir_, container("a")));
  fs::rename(paths::containerCheckpoint(dir_, "a"), paths::containerCheckpoint(dir_, "b"));
  auto state = checkpoints::recover(dir_);
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("not 'b'"), std::string::npos) << state.error().message;
}

}  // namespace
}  // namespace agora::agent
