#include "agent/executor/executor.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "agent/executor/envelope.hpp"
#include "agent/executor/start_link.hpp"
#include "agent/executor/task_exit.hpp"
#include "common/fake_transport.hpp"
#include "tests/agent/scripted_prober.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {
namespace {

using schema::ExecutorEnvelope;

class FakeTaskRunner final : public TaskRunner {
 public:
  Result<pid_t> start(const LaunchSpec&, ExitHandler onExit) override {
    if (fail) return makeError(ErrorCode::kNotFound, "unknown user 'nobody2'");
    onExit_ = std::move(onExit);
    return 777;
  }
  void signalGroup(pid_t pgid, int signal) override { signals.emplace_back(pgid, signal); }
  void exit(int waitStatus) { onExit_(waitStatus); }

  bool fail = false;
  std::vector<std::pair<pid_t, int>> signals;

 private:
  ExitHandler onExit_;
};

struct FromExecutor {
  ExecutorEnvelope::Which which;
  TaskStatus status;
};

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest()
      : loop_(clock_), net_(loop_), agent_(net_.bind("agent")), link_(net_.connect("agent", "c1")) {
    agent_->setHandler([this](const std::string&, std::string_view, std::string_view payload) {
      auto d = Decoded::parse(payload);
      auto root = d->root<ExecutorEnvelope>();
      FromExecutor m{root.which(), {}};
      if (root.which() == ExecutorEnvelope::STATUS_UPDATE)
        m.status = *fromCapnp(root.getStatusUpdate());
      received_.push_back(m);
    });
    executor_ = std::make_unique<Executor>(loop_, *link_, runner_, spec(), Executor::Options{},
                                           [this](int code) { doneCode_ = code; });
  }

  static LaunchSpec spec() {
    LaunchSpec spec;
    spec.containerId = "c1";
    spec.frameworkId = "fw";
    spec.task.taskId = "t1";
    spec.task.killGracePeriodSec = 5;
    spec.sandbox = "/sandbox";
    spec.agentEndpoint = "agent";
    return spec;
  }
  std::vector<TaskStatus> updates() {
    std::vector<TaskStatus> out;
    for (auto& m : received_) {
      if (m.which == ExecutorEnvelope::STATUS_UPDATE) out.push_back(m.status);
    }
    return out;
  }
  template <class Fill>
  void fromAgent(Fill fill) {
    agent_->send("c1", kExecutorProtocol, buildEnvelope<ExecutorEnvelope>(fill));
    loop_.runUntilIdle();
  }
  void ack(const std::string& uuid) {
    fromAgent([&](auto e) {
      e.setAck(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
    });
  }
  void ackAll() {
    for (size_t i = 0; i < 10 && executor_->pendingUpdates() > 0; ++i) ack(updates().back().uuid);
  }
  void advance(Duration d) {
    clock_.advance(d);
    loop_.runUntilIdle();
  }

  SimulatedClock clock_;
  EventLoop loop_;
  FakeNetwork net_;
  std::unique_ptr<FakeServer> agent_;
  std::unique_ptr<FakeClient> link_;
  FakeTaskRunner runner_;
  std::unique_ptr<Executor> executor_;
  std::vector<FromExecutor> received_;
  std::optional<int> doneCode_;
};

TEST_F(ExecutorTest, RegistersAndReportsStartingThenRunningWithoutWaitingForAcks) {
  executor_->start();
  loop_.runUntilIdle();
  ASSERT_FALSE(received_.empty());
  EXPECT_EQ(received_[0].which, ExecutorEnvelope::REGISTER);
  auto sent = updates();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].state, TaskState::STARTING);
  EXPECT_EQ(sent[1].state, TaskState::RUNNING);
  EXPECT_EQ(sent[1].containerId, "c1");
  ack(sent[0].uuid);
  EXPECT_EQ(executor_->pendingUpdates(), 1u);
  ack(sent[0].uuid);  // a duplicate ack changes nothing
  EXPECT_EQ(executor_->pendingUpdates(), 1u);
  ack(sent[1].uuid);
  EXPECT_EQ(executor_->pendingUpdates(), 0u);
  EXPECT_EQ(updates().size(), 2u);
}

TEST_F(ExecutorTest, AnAckCoversTheUpdatesSentBeforeIt) {
  executor_->start();
  loop_.runUntilIdle();
  ack(updates()[1].uuid);  // RUNNING acked: the agent has STARTING too
  EXPECT_EQ(executor_->pendingUpdates(), 0u);
}

TEST_F(ExecutorTest, ResendsUnackedUpdatesInOrderWithBackoff) {
  executor_->start();
  loop_.runUntilIdle();
  advance(seconds(1));  // first resend after one tick
  auto sent = updates();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[2].uuid, sent[0].uuid);
  EXPECT_EQ(sent[3].uuid, sent[1].uuid);
  advance(seconds(1));  // the next waits two ticks
  EXPECT_EQ(updates().size(), 4u);
  advance(seconds(1));
  EXPECT_EQ(updates().size(), 6u);
  ack(updates().back().uuid);  // an ack restores the one-tick resend
  runner_.exit(0);
  loop_.runUntilIdle();
  ASSERT_EQ(updates().size(), 7u);
  advance(seconds(1));
  EXPECT_EQ(updates().size(), 8u);
}

TEST_F(ExecutorTest, HeartbeatsEveryIntervalAndOnlyThatOnceEverythingIsAcknowledged) {
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  size_t before = received_.size();
  advance(seconds(4));
  EXPECT_EQ(received_.size(), before) << "an idle executor sent something before its heartbeat";
  advance(seconds(1));
  ASSERT_EQ(received_.size(), before + 1);
  EXPECT_EQ(received_.back().which, ExecutorEnvelope::HEARTBEAT);
  for (int i = 0; i < 3; ++i) advance(seconds(5));
  EXPECT_EQ(received_.size(), before + 4);
  // An unacknowledged update brings the one-tick resends back.
  runner_.exit(0);
  loop_.runUntilIdle();
  size_t sent = updates().size();
  advance(seconds(1));
  EXPECT_EQ(updates().size(), sent + 1);
}

TEST_F(ExecutorTest, ReportsExitCodesAndExitsAfterTheTerminalAck) {
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  runner_.exit(3 << 8);  // exited with status 3
  loop_.runUntilIdle();
  auto last = updates().back();
  EXPECT_EQ(last.state, TaskState::FAILED);
  EXPECT_EQ(last.reason, TaskReason::COMMAND_EXITED);
  EXPECT_EQ(last.exitCode, 3);
  EXPECT_EQ(last.message, "Command exited with status 3");
  EXPECT_FALSE(doneCode_);
  ack(last.uuid);
  EXPECT_EQ(doneCode_, 0);
}

TEST_F(ExecutorTest, ExitZeroIsFinishedAndSignalIsFailed) {
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  runner_.exit(SIGKILL);  // terminated by signal 9
  loop_.runUntilIdle();
  auto last = updates().back();
  EXPECT_EQ(last.state, TaskState::FAILED);
  EXPECT_EQ(last.message, "Command terminated by signal 9 (Killed)");
  EXPECT_EQ(last.exitCode, 137);
}

TEST_F(ExecutorTest, KillSendsSigtermThenSigkillAfterTheGracePeriod) {
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  fromAgent([](auto e) { e.initKill().setGracePeriodSec(-1); });  // the task's own: 5 s
  ASSERT_EQ(runner_.signals.size(), 1u);
  EXPECT_EQ(runner_.signals[0], std::make_pair(pid_t{777}, SIGTERM));
  advance(seconds(4.9));
  EXPECT_EQ(runner_.signals.size(), 1u);
  advance(seconds(0.1));
  ASSERT_EQ(runner_.signals.size(), 2u);
  EXPECT_EQ(runner_.signals[1].second, SIGKILL);
  runner_.exit(SIGKILL);
  loop_.runUntilIdle();
  EXPECT_EQ(updates().back().state, TaskState::KILLED);
}

TEST_F(ExecutorTest, KillWithAShorterGracePeriodWins) {
  executor_->start();
  loop_.runUntilIdle();
  fromAgent([](auto e) { e.initKill().setGracePeriodSec(30); });
  fromAgent([](auto e) { e.initKill().setGracePeriodSec(1); });
  advance(seconds(1));
  ASSERT_EQ(runner_.signals.size(), 2u);
  EXPECT_EQ(runner_.signals[1].second, SIGKILL);
}

TEST_F(ExecutorTest, StartFailureIsTaskFailed) {
  runner_.fail = true;
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  auto last = updates().back();
  EXPECT_EQ(last.state, TaskState::FAILED);
  EXPECT_EQ(last.reason, TaskReason::CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(last.message.find("unknown user"), std::string::npos);
  EXPECT_EQ(doneCode_, 0);
}

TEST_F(ExecutorTest, GivesUpAfterTheAgentTimeout) {
  executor_->start();
  loop_.runUntilIdle();
  runner_.exit(0);
  net_.cutOff("c1");
  for (int i = 0; i < 601 && !doneCode_; ++i) advance(seconds(1));
  EXPECT_EQ(doneCode_, 1);
}

TEST_F(ExecutorTest, DropsGarbageFromTheAgent) {
  executor_->start();
  loop_.runUntilIdle();
  agent_->send("c1", kExecutorProtocol, "garbage");
  agent_->send("c1", "wrong", "x");
  loop_.runUntilIdle();
  EXPECT_EQ(executor_->rejectedMessages(), 2u);
}

}  // namespace
}  // namespace agora::agent

namespace agora::agent {
namespace {

TEST_F(ExecutorTest, ReconnectMakesItRegisterAgainAndResendAtOnce) {
  executor_->start();
  loop_.runUntilIdle();
  ack(updates()[0].uuid);  // STARTING; RUNNING is still unacknowledged
  auto registrations = [&] {
    int n = 0;
    for (auto& m : received_) n += m.which == ExecutorEnvelope::REGISTER;
    return n;
  };
  int registered = registrations();
  size_t sent = updates().size();
  fromAgent([](auto e) { e.setReconnect(); });
  EXPECT_EQ(registrations(), registered + 1);
  ASSERT_EQ(updates().size(), sent + 1);
  EXPECT_EQ(updates().back().state, TaskState::RUNNING);
  EXPECT_EQ(updates().back().uuid, updates()[sent - 1].uuid);
}

TEST_F(ExecutorTest, ResyncOnANewLinkRegistersThenResendsEveryUnackedUpdateInOrder) {
  // The executor starts on a start link whose frames the agent never
  // acknowledges (start_link.hpp); attached to its real link, it resyncs.
  executor_.reset();
  StartLink start(-1, "c1");
  Executor executor(loop_, start, runner_, spec(), Executor::Options{}, [](int) {});
  executor.start();
  runner_.exit(0);
  loop_.runUntilIdle();
  EXPECT_TRUE(received_.empty());
  start.attach(*link_);
  executor.resync();
  loop_.runUntilIdle();
  ASSERT_FALSE(received_.empty());
  EXPECT_EQ(received_[0].which, ExecutorEnvelope::REGISTER);
  std::vector<TaskState> states;
  for (auto& u : updates()) states.push_back(u.state);
  EXPECT_EQ(states,
            (std::vector<TaskState>{TaskState::STARTING, TaskState::RUNNING, TaskState::FINISHED}));
  ack(updates()[1].uuid);
  EXPECT_EQ(executor.pendingUpdates(), 1u) << "acks on the real link reach the executor";
}

TEST_F(ExecutorTest, RecordsTheTerminalUpdateBeforeSendingIt) {
  char tmpl[] = "/tmp/agora-exit-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Executor::Options options;
  options.exitFile = dir + "/exit.ckpt";
  executor_.reset();  // first: its destructor detaches from the link
  executor_ = std::make_unique<Executor>(loop_, *link_, runner_, spec(), options,
                                         [this](int code) { doneCode_ = code; });
  executor_->start();
  loop_.runUntilIdle();
  ackAll();
  EXPECT_FALSE(*readTaskExit(options.exitFile));
  runner_.exit(0);
  loop_.runUntilIdle();
  auto recorded = readTaskExit(options.exitFile);
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_EQ((*recorded)->state, TaskState::FINISHED);
  EXPECT_EQ((*recorded)->uuid, updates().back().uuid);
  std::filesystem::remove_all(dir);
}

class ExecutorCheckTest : public ExecutorTest {
 protected:
  // An executor for a task with a health check and a readiness check, probed
  // by `prober_` (pass/fail scripted by the test).
  void startChecked(bool withProber = true) {
    LaunchSpec s = spec();
    s.task.healthCheck.kind = CheckKind::HTTP;
    s.task.healthCheck.port = 8080;
    s.task.healthCheck.intervalSec = 1;
    s.task.healthCheck.maxFailures = 2;
    s.task.readinessCheck.kind = CheckKind::TCP;
    s.task.readinessCheck.port = 8080;
    s.task.readinessCheck.intervalSec = 1;
    s.task.readinessCheck.maxFailures = 1;
    Executor::Options options;
    if (withProber) {
      options.prober = [this](pid_t pid) -> std::unique_ptr<Prober> {
        proberPid_ = pid;
        auto p = std::make_unique<testing::ScriptedProber>(loop_);
        prober_ = p.get();
        p->script = script_;
        return p;
      };
    }
    executor_.reset();
    executor_ = std::make_unique<Executor>(loop_, *link_, runner_, s, options,
                                           [this](int code) { doneCode_ = code; });
    executor_->start();
    loop_.runUntilIdle();
  }
  std::vector<TaskStatus> checkUpdates() {
    std::vector<TaskStatus> out;
    for (auto& u : updates()) {
      if (u.reason == TaskReason::HEALTH_CHECK_UPDATED ||
          u.reason == TaskReason::READINESS_CHECK_UPDATED) {
        bool seen = false;
        for (auto& o : out) seen = seen || o.uuid == u.uuid;  // resends
        if (!seen) out.push_back(u);
      }
    }
    return out;
  }

  std::deque<ProbeResult> script_;
  testing::ScriptedProber* prober_ = nullptr;
  pid_t proberPid_ = 0;
};

TEST_F(ExecutorCheckTest, VerdictsAreRunningUpdatesAndLaterUpdatesCarryThem) {
  // Probes alternate health, readiness: health passes, readiness passes,
  // then health fails twice (max 2) while readiness keeps passing.
  script_ = {{true, "HTTP 200 from GET /"}, {true, "connected"}, {false, "HTTP 500 from GET /"},
             {true, "connected"}, {false, "HTTP 500 from GET /"}, {true, "connected"}};
  startChecked();
  EXPECT_EQ(proberPid_, 777);
  advance(millis(50));
  auto checks = checkUpdates();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].state, TaskState::RUNNING);
  EXPECT_EQ(checks[0].reason, TaskReason::HEALTH_CHECK_UPDATED);
  EXPECT_EQ(checks[0].healthy, std::optional<bool>(true));
  EXPECT_EQ(checks[0].ready, std::nullopt);
  EXPECT_EQ(checks[0].message, "healthy: HTTP 200 from GET /");
  EXPECT_EQ(checks[1].reason, TaskReason::READINESS_CHECK_UPDATED);
  EXPECT_EQ(checks[1].healthy, std::optional<bool>(true));
  EXPECT_EQ(checks[1].ready, std::optional<bool>(true));
  for (int i = 0; i < 30; ++i) advance(millis(100));
  checks = checkUpdates();
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[2].healthy, std::optional<bool>(false));
  EXPECT_EQ(checks[2].message, "unhealthy: HTTP 500 from GET / (2 consecutive failures)");
  runner_.exit(0);
  loop_.runUntilIdle();
  EXPECT_EQ(updates().back().state, TaskState::FINISHED);
  EXPECT_EQ(updates().back().healthy, std::optional<bool>(false));
  EXPECT_EQ(updates().back().ready, std::optional<bool>(true));
  EXPECT_TRUE(prober_->hung.empty() && prober_->timers.empty()) << "checks stop with the task";
}

TEST_F(ExecutorCheckTest, KillingTheTaskStopsItsChecks) {
  startChecked();  // nothing scripted: both first probes hang
  ASSERT_NE(prober_, nullptr);
  EXPECT_EQ(prober_->hung.size(), 2u);
  fromAgent([](auto e) { e.initKill().setGracePeriodSec(1); });
  EXPECT_TRUE(prober_->hung.empty());
  EXPECT_EQ(prober_->cancelled, 2u);
  EXPECT_TRUE(checkUpdates().empty());
}

TEST_F(ExecutorCheckTest, ATaskWithChecksFailsWhenTheExecutorCannotProbe) {
  startChecked(/*withProber=*/false);
  auto sent = updates();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().state, TaskState::FAILED);
  EXPECT_EQ(sent.back().reason, TaskReason::CONTAINER_LAUNCH_FAILED);
}

}  // namespace
}  // namespace agora::agent
