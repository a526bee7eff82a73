// Agent recovery logic on a simulated clock: what a restarted Agent does
// with the state checkpointed by an earlier run (fake containerizer, fake
// transports; the checkpoints are real files in a temporary work dir).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "agent/agent.hpp"
#include "agent/executor/envelope.hpp"
#include "agent/executor/launch_spec.hpp"
#include "agent/images/digest.hpp"
#include "agent/executor/task_exit.hpp"
#include "agent/paths.hpp"
#include "common/checkpoint_file.hpp"
#include "common/fake_transport.hpp"
#include "schemas/executor.capnp.h"
#include "tests/agent/fake_containerizer.hpp"
#include "tests/agent/images/image_builder.hpp"
#include "tests/agent/real_agent_support.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using schema::AgentEnvelope;
using schema::ExecutorEnvelope;

TaskStatus makeStatus(const std::string& taskId, TaskState state) {
  TaskStatus s;
  s.taskId = taskId;
  s.frameworkId = "fw";
  s.state = state;
  s.uuid = randomUuidBytes();
  s.source = StatusSource::EXECUTOR;
  return s;
}

class AgentRecoveryUnitTest : public ::testing::Test {
 protected:
  AgentRecoveryUnitTest()
      : loop_(clock_),
        net_(loop_),
        masterServer_(net_.bind("master")),
        masterLink_(net_.connect("master", "agent-2")),
        executorServer_(net_.bind("executors")) {
    char tmpl[] = "/tmp/agora-recovery-unit-XXXXXX";
    workDir_ = mkdtemp(tmpl);
    masterServer_->setHandler([this](const std::string&, std::string_view, std::string_view p) {
      auto decoded = Decoded::parse(p);
      auto root = decoded->root<AgentEnvelope>();
      if (root.which() == AgentEnvelope::STATUS_UPDATE) {
        updates_.push_back(*fromCapnp(root.getStatusUpdate().getStatus()));
      } else if (root.which() == AgentEnvelope::REREGISTER_AGENT) {
        auto m = root.getReregisterAgent();
        reregisteredAs_ = m.getAgentId();
        for (auto t : m.getTasks()) reportedTasks_[t.getTask().getTaskId()] = fromCapnp(t.getLatest())->state;
      } else if (root.which() == AgentEnvelope::REGISTER_AGENT) {
        ++freshRegistrations_;
      }
    });
  }
  ~AgentRecoveryUnitTest() override {
    agent_.reset();
    images_.reset();
    fs::remove_all(workDir_);
  }

  // A container of the earlier run with its RUNNING update unacknowledged.
  std::string checkpointContainer(const std::string& taskId, TaskStatus* pendingOut = nullptr,
                                  const std::string& image = "") {
    std::string id = hexEncode(randomUuidBytes());
    EXPECT_TRUE(paths::makeDirs(paths::containerDir(workDir_, id)));
    ContainerState c;
    c.containerId = id;
    c.framework.id = "fw";
    c.task.taskId = taskId;
    c.task.command.value = "sleep 100";
    c.task.container.image = image;
    c.sandbox = paths::sandbox(workDir_, "fw", taskId, id);
    c.executorPid = 777;
    c.executorStartTime = 555;
    EXPECT_TRUE(checkpoints::writeContainer(workDir_, c));
    UpdateStreamState stream;
    stream.frameworkId = "fw";
    stream.taskId = taskId;
    TaskStatus running = makeStatus(taskId, TaskState::RUNNING);
    stream.pending = {running};
    stream.seenUuids = {running.uuid};
    stream.latest = running;
    EXPECT_TRUE(checkpoints::writeStream(workDir_, id, stream));
    if (pendingOut) *pendingOut = running;
    return id;
  }

  void startRecovered() {
    EXPECT_TRUE(checkpoints::writeAgent(workDir_, AgentIdentity{"A7", "boot", "h", ""}));
    auto state = checkpoints::recover(workDir_);
    ASSERT_TRUE(state) << state.error().message;
    Agent::Options options;
    options.hostname = "h";
    options.resources = *Resources::parse("cpus:2;mem:1024");
    options.supervisor.workDir = workDir_;
    options.supervisor.checkpoint = true;
    options.checkpoint = true;
    options.statusUpdates.retryMin = seconds(1);
    options.statusUpdates.retryMax = seconds(4);
    options.supervisor.images = images_.get();
    agent_ = std::make_unique<Agent>(loop_, *masterLink_, *executorServer_, containerizer_, options);
    agent_->recover(*state);
    agent_->start();
    loop_.runUntilIdle();
  }
  void registered() {
    masterServer_->send("agent-2", kAgentProtocol, buildEnvelope<AgentEnvelope>([](auto e) {
                          auto m = e.initAgentRegistered();
                          m.setAgentId("A7");
                          m.setPingIntervalSec(3600);
                          m.setReregistered(true);
                        }));
    loop_.runUntilIdle();
  }
  void ack(const TaskStatus& status) {
    masterServer_->send("agent-2", kAgentProtocol, testing::statusAckFrame("fw", status));
    loop_.runUntilIdle();
  }
  void advance(Duration d) {
    clock_.advance(d);
    loop_.runUntilIdle();
  }

  SimulatedClock clock_;
  EventLoop loop_;
  FakeNetwork net_;
  std::unique_ptr<FakeServer> masterServer_;
  std::unique_ptr<FakeClient> masterLink_;
  std::unique_ptr<FakeServer> executorServer_;
  testing::FakeContainerizer containerizer_;
  std::unique_ptr<ImageProvisioner> images_;  // outlives agent_
  std::unique_ptr<Agent> agent_;
  std::string workDir_;
  std::vector<TaskStatus> updates_;
  std::string reregisteredAs_;
  std::map<std::string, TaskState> reportedTasks_;
  int freshRegistrations_ = 0;
};

TEST_F(AgentRecoveryUnitTest, ReregistersWithItsIdAndResendsUnacknowledgedUpdates) {
  TaskStatus running;
  std::string id = checkpointContainer("t1", &running);
  containerizer_.survivors.insert(id);
  startRecovered();
  EXPECT_EQ(freshRegistrations_, 0);
  EXPECT_EQ(reregisteredAs_, "A7");
  EXPECT_EQ(reportedTasks_["t1"], TaskState::RUNNING);
  EXPECT_EQ(containerizer_.recovered[id], std::make_pair(pid_t{777}, uint64_t{555}));
  EXPECT_TRUE(updates_.empty());  // nothing goes out before the master answers

  registered();
  ASSERT_EQ(updates_.size(), 1u);
  EXPECT_EQ(updates_[0].uuid, running.uuid);
  ack(running);
  advance(seconds(10));
  EXPECT_EQ(updates_.size(), 1u);
  auto stream = checkpoints::recover(workDir_)->containers.at(0).stream;
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->pending.empty());
}

// Image references are held in memory only: a recovered container takes its
// image again (before any gc), and gives it back when it ends.
TEST_F(AgentRecoveryUnitTest, ARecoveredContainerHoldsItsImageAgain) {
  if (geteuid() != 0) GTEST_SKIP() << "unpacking layers keeps owners: needs root";
  using namespace images::testing;
  Layer layer = makeLayer({file("hello", "hi\n")}, /*gzip=*/false);
  OciLayout layout(workDir_ + "/layout");
  auto config = makeConfig({layer}, {}, {"/hello"});
  layout.addImage({layer}, config, "t");
  const std::string ref = "oci:" + layout.dir() + ":t";
  const std::string imageId = images::sha256Digest(config.dump());
  {
    auto store = images::ImageStore::create(workDir_ + "/store");
    ASSERT_TRUE(store) << store.error().message;
    auto pulled = (*store)->pull(ref);
    ASSERT_TRUE(pulled) << pulled.error().message;
  }
  auto provisioner = ImageProvisioner::create(loop_, workDir_ + "/store");
  ASSERT_TRUE(provisioner) << provisioner.error().message;
  images_ = std::move(*provisioner);

  std::string id = checkpointContainer("t1", nullptr, ref);
  LaunchSpec spec{id, "fw", {}, "/sb", "ipc:///x", true, ImageRootfs{}};
  spec.rootfs->reference = ref;
  spec.rootfs->imageId = imageId;
  spec.rootfs->layerDirs = {"/layer"};
  spec.rootfs->upperDir = "/u";
  spec.rootfs->workDir = "/w";
  spec.rootfs->mountPoint = "/m";
  spec.rootfs->argv = {"/hello"};
  ASSERT_TRUE(writeLaunchSpec(paths::launchFile(workDir_, id), spec));
  checkpointContainer("t2", nullptr, ref);  // its executor is gone: nothing to hold
  containerizer_.survivors.insert(id);
  startRecovered();
  EXPECT_EQ(images_->imageUsers(imageId), 1);

  containerizer_.terminate(id, 0);
  loop_.runUntilIdle();
  EXPECT_EQ(images_->imageUsers(imageId), 0);
}

TEST_F(AgentRecoveryUnitTest, AsksARecoveredExecutorToReconnectUntilItRegisters) {
  std::string id = checkpointContainer("t1");
  containerizer_.survivors.insert(id);
  startRecovered();
  auto executor = net_.connect("executors", id);
  int reconnects = 0;
  executor->setHandler([&](std::string_view, std::string_view payload) {
    auto d = Decoded::parse(payload);
    reconnects += d->root<ExecutorEnvelope>().which() == ExecutorEnvelope::RECONNECT;
  });
  advance(millis(100));
  advance(millis(100));
  EXPECT_GE(reconnects, 2);
  EXPECT_EQ(agent_->supervisor().awaitingReconnect(), 1u);
  executor->send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>([&](auto e) {
                   auto r = e.initRegister();
                   r.setContainerId(id);
                   r.setTaskId("t1");
                   r.setFrameworkId("fw");
                   r.setPid(99);
                 }));
  loop_.runUntilIdle();
  EXPECT_EQ(agent_->supervisor().awaitingReconnect(), 0u);
  int before = reconnects;
  advance(seconds(1));
  EXPECT_EQ(reconnects, before);
}

TEST_F(AgentRecoveryUnitTest, AnExecutorThatNeverReconnectsIsDestroyedAndItsTaskFails) {
  TaskStatus running;
  std::string id = checkpointContainer("t1", &running);
  containerizer_.survivors.insert(id);
  startRecovered();
  registered();
  ack(running);
  advance(seconds(61));
  containerizer_.terminate(id, -1);
  loop_.runUntilIdle();
  ASSERT_EQ(updates_.size(), 2u);
  EXPECT_EQ(updates_.back().state, TaskState::FAILED);
  EXPECT_EQ(updates_.back().reason, TaskReason::EXECUTOR_REGISTRATION_TIMEOUT);
}

TEST_F(AgentRecoveryUnitTest, AGoneExecutorsRecordedExitIsReportedWithItsUuid) {
  TaskStatus running;
  std::string id = checkpointContainer("t1", &running);
  TaskStatus finished = makeStatus("t1", TaskState::FINISHED);
  ASSERT_TRUE(writeTaskExit(paths::taskExitFile(workDir_, id), finished));
  startRecovered();
  EXPECT_EQ(agent_->supervisor().liveContainers(), 0u);
  registered();
  ack(running);
  ASSERT_EQ(updates_.size(), 2u);
  EXPECT_EQ(updates_[1].state, TaskState::FINISHED);
  EXPECT_EQ(updates_[1].uuid, finished.uuid);
  ack(finished);
  EXPECT_FALSE(fs::exists(paths::containerCheckpoint(workDir_, id)));
  EXPECT_TRUE(agent_->supervisor().tasks().empty());
}

TEST_F(AgentRecoveryUnitTest, AGoneExecutorWithoutARecordFailsItsTask) {
  std::string id = checkpointContainer("t1");
  startRecovered();
  registered();
  updates_.clear();
  advance(seconds(1));  // the RUNNING update is resent, still unacknowledged
  ASSERT_FALSE(updates_.empty());
  EXPECT_EQ(updates_.back().state, TaskState::RUNNING);
  ack(updates_.back());
  EXPECT_EQ(updates_.back().state, TaskState::FAILED);
  EXPECT_EQ(updates_.back().reason, TaskReason::EXECUTOR_TERMINATED);
  EXPECT_NE(updates_.back().message.find("while the agent was down"), std::string::npos);
}

TEST_F(AgentRecoveryUnitTest, ExecutorUpdatesAreCheckpointedBeforeTheirAck) {
  std::string id = checkpointContainer("t1");
  containerizer_.survivors.insert(id);
  startRecovered();
  registered();
  auto executor = net_.connect("executors", id);
  std::vector<std::string> acks;
  executor->setHandler([&](std::string_view, std::string_view payload) {
    auto d = Decoded::parse(payload);
    auto root = d->root<ExecutorEnvelope>();
    if (root.which() != ExecutorEnvelope::ACK) return;
    // At the time of the ack the update is already on disk.
    auto stream = checkpoints::recover(workDir_)->containers.at(0).stream;
    acks.push_back(stream ? hexEncode(stream->pending.back().uuid) : "");
  });
  TaskStatus finished = makeStatus("t1", TaskState::FINISHED);
  executor->send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>(
                                        [&](auto e) { toCapnp(finished, e.initStatusUpdate()); }));
  loop_.runUntilIdle();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0], hexEncode(finished.uuid));
}

TEST_F(AgentRecoveryUnitTest, AnAcknowledgedTerminalUpdateIsNeitherResentNorReplacedAfterACrash) {
  TaskStatus running;
  std::string id = checkpointContainer("t1", &running);
  containerizer_.survivors.insert(id);
  startRecovered();
  registered();
  auto executor = net_.connect("executors", id);
  TaskStatus finished = makeStatus("t1", TaskState::FINISHED);
  executor->send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>(
                                        [&](auto e) { toCapnp(finished, e.initStatusUpdate()); }));
  loop_.runUntilIdle();
  ack(running);
  ack(finished);
  // The executor has not exited yet: the container stays checkpointed, now
  // saying that nothing is left to deliver.
  auto state = checkpoints::recover(workDir_);
  ASSERT_TRUE(state) << state.error().message;
  ASSERT_EQ(state->containers.size(), 1u);
  ASSERT_TRUE(state->containers[0].stream);
  EXPECT_TRUE(state->containers[0].stream->terminal);
  EXPECT_TRUE(state->containers[0].stream->pending.empty());

  // SIGKILL now; the next run finds the executor gone and says nothing more.
  agent_.reset();
  executor.reset();
  containerizer_.survivors.clear();
  updates_.clear();
  reportedTasks_.clear();
  startRecovered();
  registered();
  advance(seconds(5));
  EXPECT_TRUE(updates_.empty()) << taskStateName(updates_.front().state);
  EXPECT_EQ(reportedTasks_.count("t1"), 0u);
  EXPECT_FALSE(fs::exists(paths::containerCheckpoint(workDir_, id)));
}

TEST_F(AgentRecoveryUnitTest, FilesOfAForgottenContainerLeftByACrashAreRemoved) {
  std::string id = checkpointContainer("t1");
  // A crash right after container.ckpt went, before the stream did.
  ASSERT_TRUE(removeCheckpointFile(paths::containerCheckpoint(workDir_, id)));
  auto state = checkpoints::recover(workDir_);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(state->containers.empty());
  EXPECT_FALSE(fs::exists(paths::updatesCheckpoint(workDir_, id)));
}

}  // namespace
}  // namespace agora::agent
