#include "agent/agent.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <map>
#include <vector>

#include "agent/executor/envelope.hpp"
#include "agent/executor/executor_identity.hpp"
#include "common/fake_transport.hpp"
#include "schemas/executor.capnp.h"
#include "tests/agent/fake_containerizer.hpp"

namespace agora::agent {
namespace {

using schema::AgentEnvelope;
using schema::ExecutorEnvelope;

using testing::FakeContainerizer;

struct Sent {
  std::string bytes;
  AgentEnvelope::Reader root() {
    decoded = Decoded::parse(bytes);
    return decoded->root<AgentEnvelope>();
  }
  Result<Decoded> decoded = makeError(ErrorCode::kInternal, "unparsed");
};

class AgentTest : public ::testing::Test {
 protected:
  AgentTest()
      : loop_(clock_),
        net_(loop_),
        masterServer_(net_.bind("master")),
        masterLink_(net_.connect("master", "agent-1")),
        executorServer_(net_.bind("executors")) {
    masterServer_->setHandler(
        [this](const std::string&, std::string_view, std::string_view payload) {
          toMaster_.push_back(Sent{std::string(payload)});
        });
    Agent::Options options;
    options.hostname = "host1";
    options.resources = *Resources::parse("cpus:2;mem:1024");
    options.supervisor.workDir = "/work";
    options.statusUpdates.retryMin = seconds(10);
    options.statusUpdates.retryMax = seconds(60);
    agent_ =
        std::make_unique<Agent>(loop_, *masterLink_, *executorServer_, containerizer_, options);
    agent_->start();
    loop_.runUntilIdle();
  }

  void advance(Duration d) {
    clock_.advance(d);
    loop_.runUntilIdle();
  }
  // Advances time with the master pinging every second, so the agent stays registered.
  void advanceWithPings(Duration d) {
    for (Duration left = d; left > Duration{0}; left -= std::min(left, Duration(seconds(1)))) {
      advance(std::min(left, Duration(seconds(1))));
      fromMaster([](auto e) { e.initPing().setKnown(true); });
    }
  }
  template <class Fill>
  void fromMaster(Fill fill) {
    masterServer_->send("agent-1", kAgentProtocol, buildEnvelope<AgentEnvelope>(fill));
    loop_.runUntilIdle();
  }
  int count(AgentEnvelope::Which which) {
    int n = 0;
    for (auto& s : toMaster_) n += s.root().which() == which;
    return n;
  }
  std::vector<TaskStatus> updatesToMaster() {
    std::vector<TaskStatus> out;
    for (auto& s : toMaster_) {
      auto root = s.root();
      if (root.which() == AgentEnvelope::STATUS_UPDATE)
        out.push_back(*fromCapnp(root.getStatusUpdate().getStatus()));
    }
    return out;
  }
  void registerAgent() {
    fromMaster([](auto e) {
      auto m = e.initAgentRegistered();
      m.setAgentId("A1");
      m.setPingIntervalSec(2);
    });
    ASSERT_TRUE(agent_->registered());
  }
  void runTask(const std::string& taskId, double grace = 3, const std::string& session = "") {
    fromMaster([&](auto e) {
      auto m = e.initRunTask();
      m.initFramework().setId("fw");
      TaskInfo task;
      task.taskId = taskId;
      task.command.value = "sleep 100";
      task.killGracePeriodSec = grace;
      toCapnp(task, m.initTask());
      m.setSession(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(session.data()),
                                       session.size()));
    });
  }
  // The master's kill, with the task's own grace period.
  void killTask(const std::string& taskId) {
    fromMaster([&](auto e) {
      auto k = e.initKillTask();
      k.setFrameworkId("fw");
      k.setTaskId(taskId);
      k.setGracePeriodSec(-1);
    });
  }
  // Connects a fake executor for the last launched container.
  void connectExecutor() {
    ASSERT_FALSE(containerizer_.launched.empty());
    const auto& config = containerizer_.launched.back();
    executor_ =
        net_.connect("executors", executorIdentity(config.containerId, config.executorSecret));
    executor_->setHandler([this](std::string_view, std::string_view payload) {
      toExecutor_.push_back(std::string(payload));
    });
    executor_->send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>([&](auto e) {
                      auto r = e.initRegister();
                      r.setContainerId(config.containerId);
                      r.setTaskId(config.task.taskId);
                      r.setFrameworkId(config.frameworkId);
                      r.setPid(99);
                      r.setSecret(config.executorSecret);
                    }));
    loop_.runUntilIdle();
  }
  std::string executorUpdate(TaskState state, const std::string& uuid) {
    TaskStatus s;
    s.taskId = containerizer_.launched.back().task.taskId;
    s.state = state;
    s.uuid = uuid;
    std::string frame =
        buildEnvelope<ExecutorEnvelope>([&](auto e) { toCapnp(s, e.initStatusUpdate()); });
    executor_->send(kExecutorProtocol, frame);
    loop_.runUntilIdle();
    return frame;
  }
  std::vector<ExecutorEnvelope::Which> executorMessages() {
    std::vector<ExecutorEnvelope::Which> out;
    for (auto& bytes : toExecutor_) {
      auto d = Decoded::parse(bytes);
      out.push_back(d->root<ExecutorEnvelope>().which());
    }
    return out;
  }

  SimulatedClock clock_;
  EventLoop loop_;
  FakeNetwork net_;
  std::unique_ptr<FakeServer> masterServer_;
  std::unique_ptr<FakeClient> masterLink_;
  std::unique_ptr<FakeServer> executorServer_;
  std::unique_ptr<FakeClient> executor_;
  FakeContainerizer containerizer_;
  std::unique_ptr<Agent> agent_;
  std::vector<Sent> toMaster_;
  std::vector<std::string> toExecutor_;
};

TEST_F(AgentTest, RegistersEverySecondUntilRegistered) {
  EXPECT_EQ(count(AgentEnvelope::REGISTER_AGENT), 1);
  EXPECT_EQ(std::string(toMaster_[0].root().getRegisterAgent().getHostname()), "host1");
  advance(seconds(1));
  advance(seconds(1));
  EXPECT_EQ(count(AgentEnvelope::REGISTER_AGENT), 3);
  registerAgent();
  advance(seconds(3));
  EXPECT_EQ(count(AgentEnvelope::REGISTER_AGENT), 3);
  EXPECT_EQ(agent_->agentId(), "A1");
}

TEST_F(AgentTest, AnswersPingsWithPong) {
  registerAgent();
  fromMaster([](auto e) {
    e.initPing().setAgentId("A1");
    e.getPing().setKnown(true);
  });
  ASSERT_EQ(count(AgentEnvelope::PONG), 1);
  EXPECT_EQ(std::string(toMaster_.back().root().getPong().getAgentId()), "A1");
}

TEST_F(AgentTest, ReregistersWhenThePingSaysUnknown) {
  registerAgent();
  fromMaster([](auto e) { e.initPing().setKnown(false); });
  EXPECT_FALSE(agent_->registered());
  ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 1);
  EXPECT_EQ(std::string(toMaster_.back().root().getReregisterAgent().getAgentId()), "A1");
}

TEST_F(AgentTest, ReregistersAtOnceWhenTheConnectionToTheMasterComesBack) {
  registerAgent();
  masterLink_->simulateReconnect();
  loop_.runUntilIdle();
  EXPECT_FALSE(agent_->registered());
  ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 1);
  EXPECT_EQ(std::string(toMaster_.back().root().getReregisterAgent().getAgentId()), "A1");
  registerAgent();
  EXPECT_TRUE(agent_->registered());
}

TEST_F(AgentTest, EachNewConnectionGetsANewerReregistrationAttemptAndTicksRepeatIt) {
  registerAgent();
  auto seqOf = [&](size_t i) { return toMaster_[i].root().getReregisterAgent().getAttemptSeq(); };
  // ZooKeeper names a new leader: the re-registration is sent at once, on
  // the connection being made.
  agent_->reconnect("new leading master");
  loop_.runUntilIdle();
  ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 1);
  uint64_t first = seqOf(toMaster_.size() - 1);
  EXPECT_GT(first, 0u);
  // Unanswered: the tick retries with the same seq.
  advance(seconds(1));
  ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 2);
  EXPECT_EQ(seqOf(toMaster_.size() - 1), first);
  // A connection made since may follow one whose answer (and the launches
  // after it) were lost: a newer attempt, which the master reconciles.
  uint64_t previous = first;
  for (int i = 0; i < 2; ++i) {
    masterLink_->simulateReconnect();
    loop_.runUntilIdle();
    ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 3 + i);
    EXPECT_GT(seqOf(toMaster_.size() - 1), previous);
    previous = seqOf(toMaster_.size() - 1);
  }
  // Attempts are numbered by the monotonic clock, so that a later agent
  // process's attempts order after this one's.
  registerAgent();
  fromMaster([](auto e) { e.initPing().setKnown(false); });
  ASSERT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 5);
  uint64_t next = seqOf(toMaster_.size() - 1);
  EXPECT_GT(next, previous);
  EXPECT_GE(next, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            clock_.now().time_since_epoch())
                                            .count()));
}

TEST_F(AgentTest, AnAnswerToAnEarlierAttemptIsIgnoredAndItsLaunchesDropped) {
  registerAgent();
  auto lastSeq = [&] {
    return toMaster_.back().root().getReregisterAgent().getAttemptSeq();
  };
  agent_->reconnect("new leading master");
  loop_.runUntilIdle();
  uint64_t first = lastSeq();
  masterLink_->simulateReconnect();  // a newer attempt
  loop_.runUntilIdle();
  uint64_t current = lastSeq();
  ASSERT_GT(current, first);
  auto answer = [&](uint64_t seq, const std::string& session) {
    fromMaster([&](auto e) {
      auto m = e.initAgentRegistered();
      m.setAgentId("A1");
      m.setPingIntervalSec(2);
      m.setReregistered(true);
      m.setSession(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(session.data()),
                                       session.size()));
      m.setAttemptSeq(seq);
    });
  };
  answer(first, "s1");
  EXPECT_FALSE(agent_->registered());
  runTask("under-s1", 3, "s1");  // sent under the ignored answer
  answer(current, "s2");
  EXPECT_TRUE(agent_->registered());
  runTask("late-s1", 3, "s1");
  runTask("under-s2", 3, "s2");
  ASSERT_EQ(containerizer_.launched.size(), 1u);
  EXPECT_EQ(containerizer_.launched[0].task.taskId, "under-s2");
}

TEST_F(AgentTest, ShutdownAgentKillsItsTasksAndRegistersAnewButNotForAFormerId) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  size_t toExecutor = toExecutor_.size();
  // About an ID this agent no longer has: a late answer, ignored.
  fromMaster([](auto e) { e.initShutdownAgent().setAgentId("A0"); });
  EXPECT_TRUE(agent_->registered());
  EXPECT_EQ(toExecutor_.size(), toExecutor);
  fromMaster([](auto e) {
    auto m = e.initShutdownAgent();
    m.setAgentId("A1");
    m.setMessage("removed");
  });
  EXPECT_EQ(executorMessages().back(), ExecutorEnvelope::KILL);
  EXPECT_FALSE(agent_->registered());
  EXPECT_TRUE(agent_->agentId().empty());
  EXPECT_EQ(toMaster_.back().root().which(), AgentEnvelope::REGISTER_AGENT);
}

TEST_F(AgentTest, ReregistersAfterThreeSilentPingIntervals) {
  registerAgent();
  advance(seconds(6));
  EXPECT_TRUE(agent_->registered());
  advance(seconds(1));
  EXPECT_FALSE(agent_->registered());
  EXPECT_EQ(count(AgentEnvelope::REREGISTER_AGENT), 1);
}

TEST_F(AgentTest, LaunchFailureIsTaskFailedWithTheReason) {
  registerAgent();
  containerizer_.failLaunch = true;
  runTask("t1");
  auto updates = updatesToMaster();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::FAILED);
  EXPECT_EQ(updates[0].reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(updates[0].message.find("No such file"), std::string::npos);
  EXPECT_EQ(updates[0].agentId, "A1");
  EXPECT_EQ(agent_->snapshot()->counters.launchFailures, 1u);
}

TEST_F(AgentTest, EachTickSamplesABoundedShareOfTheContainersInTurn) {
  registerAgent();
  const size_t n = 2 * TaskSupervisor::kUsageSamplesPerRefresh + 10;
  for (size_t i = 0; i < n; ++i) runTask("t" + std::to_string(i));
  ASSERT_EQ(containerizer_.launched.size(), n);
  auto calls = [&] {
    size_t total = 0;
    for (const auto& [id, count] : containerizer_.usageCalls) total += static_cast<size_t>(count);
    return total;
  };
  size_t before = calls();
  advanceWithPings(seconds(1));
  EXPECT_EQ(calls() - before, TaskSupervisor::kUsageSamplesPerRefresh);
  // Three ticks reach every container, none twice before all were sampled.
  advanceWithPings(seconds(2));
  EXPECT_EQ(containerizer_.usageCalls.size(), n);
  for (const auto& [id, count] : containerizer_.usageCalls) EXPECT_LE(count, 2) << id;
}

TEST_F(AgentTest, LaunchesIntoTheSandboxLayout) {
  registerAgent();
  runTask("t1");
  ASSERT_EQ(containerizer_.launched.size(), 1u);
  const auto& c = containerizer_.launched[0];
  EXPECT_EQ(c.sandbox, "/work/sandboxes/fw/t1/" + c.containerId);
  EXPECT_EQ(c.frameworkId, "fw");
  runTask("t1");  // a duplicate of a live task is refused
  EXPECT_EQ(containerizer_.launched.size(), 1u);
}

TEST_F(AgentTest, ForwardsExecutorUpdatesReliablyAndDropsDuplicates) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  std::string uuid = randomUuidBytes();
  executorUpdate(TaskState::RUNNING, uuid);
  auto updates = updatesToMaster();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::RUNNING);
  EXPECT_EQ(updates[0].uuid, uuid);
  EXPECT_EQ(updates[0].source, StatusSource::EXECUTOR);
  executorUpdate(TaskState::RUNNING, uuid);  // executor resend
  EXPECT_EQ(updatesToMaster().size(), 1u);
  auto msgs = executorMessages();
  EXPECT_EQ(std::count(msgs.begin(), msgs.end(), ExecutorEnvelope::ACK), 2);
  advanceWithPings(seconds(10));
  EXPECT_EQ(updatesToMaster().size(), 2u);  // retried: not acknowledged yet
  fromMaster([&](auto e) {
    auto a = e.initStatusUpdateAck();
    a.setFrameworkId("fw");
    a.setTaskId("t1");
    a.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
  });
  advanceWithPings(seconds(60));
  EXPECT_EQ(updatesToMaster().size(), 2u);
}

TEST_F(AgentTest, TakesStatusUpdatesFromTheStartSocketAndAcknowledgesTheirReplay) {
  registerAgent();
  runTask("t1");
  const std::string id = containerizer_.launched.back().containerId;
  ASSERT_TRUE(containerizer_.startFds.count(id)) << "the executor got no start socket";
  int fd = containerizer_.startFds[id];
  auto write = [&](const std::string& frame) {
    ASSERT_EQ(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
  };
  write(buildEnvelope<ExecutorEnvelope>([&](auto e) {
    auto r = e.initRegister();
    r.setContainerId(id);
    r.setTaskId("t1");
    r.setFrameworkId("fw");
  }));
  TaskStatus running;
  running.taskId = "t1";
  running.state = TaskState::RUNNING;
  running.uuid = randomUuidBytes();
  write(buildEnvelope<ExecutorEnvelope>([&](auto e) { toCapnp(running, e.initStatusUpdate()); }));
  write("junk");
  loop_.runUntilIdle();
  auto updates = updatesToMaster();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::RUNNING);
  EXPECT_EQ(updates[0].uuid, running.uuid);
  uint64_t rejected = 0;
  for (const auto& [reason, n] : agent_->snapshot()->counters.messagesRejected) rejected += n;
  EXPECT_EQ(rejected, 1u) << "the junk frame";
  EXPECT_EQ(agent_->snapshot()->counters.startSocketUpdates, 1u);
  // The link replays both: the update is acknowledged there, not forwarded twice.
  connectExecutor();
  executorUpdate(TaskState::RUNNING, running.uuid);
  EXPECT_EQ(updatesToMaster().size(), 1u);
  auto msgs = executorMessages();
  EXPECT_EQ(std::count(msgs.begin(), msgs.end(), ExecutorEnvelope::ACK), 1);
  // End-of-file (the executor closed it once its link was up) closes ours.
  close(fd);
  containerizer_.startFds.erase(id);
  loop_.runUntilIdle();
  EXPECT_TRUE(agent_->registered());
}

TEST_F(AgentTest, AnExecutorHeartbeatDoesNotRepublishTheAgentsState) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  loop_.runUntilIdle();
  auto before = agent_->snapshot();
  executor_->send(kExecutorProtocol,
                  buildEnvelope<ExecutorEnvelope>([](auto e) { e.setHeartbeat(); }));
  loop_.runUntilIdle();
  EXPECT_EQ(agent_->snapshot(), before) << "a heartbeat published every container again";
  executorUpdate(TaskState::RUNNING, randomUuidBytes());
  EXPECT_NE(agent_->snapshot(), before);
  EXPECT_EQ(agent_->snapshot()->containers.at(0).taskState, "TASK_RUNNING");
}

TEST_F(AgentTest, ExecutorDeathWithoutTerminalUpdateFailsTheTask) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  containerizer_.terminate(containerizer_.launched[0].containerId, SIGKILL);
  loop_.runUntilIdle();
  auto updates = updatesToMaster();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::FAILED);
  EXPECT_EQ(updates[0].reason, TaskReason::EXECUTOR_TERMINATED);
}

TEST_F(AgentTest, ExecutorDeathInAContainerOverItsLimitReportsTheLimitation) {
  registerAgent();
  runTask("t1");
  const std::string id = containerizer_.launched[0].containerId;
  containerizer_.limitations[id] =
      ContainerLimitation{TaskReason::CONTAINER_LIMITATION_MEMORY, "Memory limit exceeded: 64 MB"};
  containerizer_.terminate(id, SIGKILL);
  loop_.runUntilIdle();
  auto updates = updatesToMaster();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::FAILED);
  EXPECT_EQ(updates[0].reason, TaskReason::CONTAINER_LIMITATION_MEMORY);
  EXPECT_EQ(updates[0].message, "Memory limit exceeded: 64 MB");
}

TEST_F(AgentTest, KillGoesThroughTheExecutorThenEscalates) {
  registerAgent();
  runTask("t1", 3);
  connectExecutor();
  killTask("t1");
  auto msgs = executorMessages();
  ASSERT_EQ(msgs.back(), ExecutorEnvelope::KILL);
  EXPECT_TRUE(containerizer_.destroyed.empty());
  advanceWithPings(seconds(12.9));
  EXPECT_TRUE(containerizer_.destroyed.empty());
  advanceWithPings(seconds(0.2));  // grace 3 s + slack 10 s
  EXPECT_EQ(containerizer_.destroyed.size(), 1u);
  containerizer_.terminate(containerizer_.launched[0].containerId, SIGKILL);
  loop_.runUntilIdle();
  auto updates = updatesToMaster();
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().state, TaskState::KILLED);
}

// Its task may be RUNNING already (reported over the start socket): the
// kill waits for the executor's link, and a registration over the start
// socket does not count.
TEST_F(AgentTest, AKillBeforeTheExecutorRegisteredGoesToItOnceItDoes) {
  registerAgent();
  runTask("t1");
  const auto& config = containerizer_.launched.back();
  std::string frame = buildEnvelope<ExecutorEnvelope>([&](auto e) {
    auto r = e.initRegister();
    r.setContainerId(config.containerId);
    r.setTaskId("t1");
    r.setFrameworkId("fw");
  });
  int fd = containerizer_.startFds.at(config.containerId);
  ASSERT_EQ(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
  loop_.runUntilIdle();
  killTask("t1");
  EXPECT_TRUE(containerizer_.destroyed.empty());
  connectExecutor();
  auto msgs = executorMessages();
  EXPECT_EQ(std::count(msgs.begin(), msgs.end(), ExecutorEnvelope::KILL), 1);
  EXPECT_TRUE(containerizer_.destroyed.empty());
}

TEST_F(AgentTest, AKilledTaskWhoseExecutorNeverRegistersIsDestroyedAtTheTimeout) {
  registerAgent();
  runTask("t1");
  killTask("t1");
  EXPECT_TRUE(containerizer_.destroyed.empty());
  advanceWithPings(seconds(61));
  ASSERT_EQ(containerizer_.destroyed.size(), 1u);
  containerizer_.terminate(containerizer_.destroyed[0], SIGKILL);
  loop_.runUntilIdle();
  auto updates = updatesToMaster();
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().state, TaskState::KILLED);
}

TEST_F(AgentTest, ShutdownFrameworkKillsItsTasks) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  fromMaster([](auto e) { e.initShutdownFramework().setFrameworkId("fw"); });
  EXPECT_EQ(executorMessages().back(), ExecutorEnvelope::KILL);
}

TEST_F(AgentTest, ReregistrationReportsTasksWithTheirLatestState) {
  registerAgent();
  runTask("t1");
  connectExecutor();
  executorUpdate(TaskState::RUNNING, randomUuidBytes());
  fromMaster([](auto e) { e.initPing().setKnown(false); });
  auto m = toMaster_.back().root().getReregisterAgent();
  ASSERT_EQ(m.getTasks().size(), 1u);
  EXPECT_EQ(std::string(m.getTasks()[0].getTask().getTaskId()), "t1");
  EXPECT_EQ(m.getTasks()[0].getLatest().getState(), TaskState::RUNNING);
  EXPECT_EQ(m.getFrameworks().size(), 1u);
}

TEST_F(AgentTest, ALaunchSentUnderAnEarlierRegistrationIsDropped) {
  auto registerWith = [&](const std::string& session) {
    fromMaster([&](auto e) {
      auto m = e.initAgentRegistered();
      m.setAgentId("A1");
      m.setPingIntervalSec(2);
      m.setSession(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(session.data()),
                                       session.size()));
    });
  };
  registerWith("first");
  runTask("t1", 3, "first");
  ASSERT_EQ(containerizer_.launched.size(), 1u);
  // The master answered a re-registration (a new session); a launch it sent
  // before, held up on the old connection, arrives only now.
  fromMaster([](auto e) { e.initPing().setKnown(false); });
  registerWith("second");
  runTask("stale", 3, "first");
  EXPECT_EQ(containerizer_.launched.size(), 1u);
  runTask("t2", 3, "second");
  ASSERT_EQ(containerizer_.launched.size(), 2u);
  EXPECT_EQ(containerizer_.launched.back().task.taskId, "t2");
}

TEST_F(AgentTest, GarbageIsDroppedAndCounted) {
  registerAgent();
  masterServer_->send("agent-1", kAgentProtocol, "\xff\xfe garbage");
  masterServer_->send("agent-1", "other.v1", "x");
  masterServer_->send("agent-1", kAgentProtocol, buildEnvelope<AgentEnvelope>([](auto e) {
                        e.setVersion(99);
                        e.initPing().setKnown(true);
                      }));
  auto stranger = net_.connect("executors", "nobody");
  stranger->send(kExecutorProtocol, "\x00\x01");
  loop_.runUntilIdle();
  runTask("t1");
  connectExecutor();
  executor_->send(kExecutorProtocol, "junk");
  loop_.runUntilIdle();
  advance(seconds(1));
  auto counters = agent_->snapshot()->counters;
  uint64_t total = 0;
  for (const auto& [reason, n] : counters.messagesRejected) total += n;
  EXPECT_EQ(total, 5u);
  EXPECT_TRUE(agent_->registered());
  EXPECT_EQ(count(AgentEnvelope::PONG), 0);
}

}  // namespace
}  // namespace agora::agent
