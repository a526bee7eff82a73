#include "agent/executor/executor.hpp"

#include <glog/logging.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "agent/executor/envelope.hpp"
#include "agent/executor/task_exit.hpp"
#include "common/subprocess.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {

using schema::ExecutorEnvelope;

Executor::Executor(EventLoop& loop, ClientTransport& agent, TaskRunner& runner, LaunchSpec spec,
                   Options options, DoneHandler onDone)
    : loop_(loop),
      agent_(agent),
      runner_(runner),
      spec_(std::move(spec)),
      options_(options),
      onDone_(std::move(onDone)) {
  agent_.setHandler([this](std::string_view protocol, std::string_view payload) {
    onMessage(protocol, payload);
  });
}

Executor::~Executor() {
  stopChecks();
  agent_.setHandler(nullptr);
  disarmTick();
  loop_.cancelTimer(heartbeat_);
  if (escalation_) loop_.cancelTimer(*escalation_);
}

void Executor::start() {
  lastAgentContact_ = loop_.clock().now();
  resendAfter_ = options_.tickInterval;
  heartbeat_ = loop_.addPeriodic(options_.heartbeatInterval, [this] { sendHeartbeat(); });
  sendRegister();
  enqueue(TaskState::STARTING, TaskReason::NONE, "");
  const TaskInfo& task = spec_.task;
  if ((task.healthCheck.enabled() || task.readinessCheck.enabled()) && !options_.prober) {
    taskExited_ = true;
    enqueue(TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
            "this executor cannot run the task's checks");
    return;
  }
  auto pid = runner_.start(spec_, [this](int status) { onTaskExited(status); });
  if (!pid) {
    LOG(ERROR) << "cannot start task " << spec_.task.taskId << ": " << pid.error().message;
    taskExited_ = true;
    enqueue(TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
            "cannot start the command: " + pid.error().message);
    return;
  }
  taskPid_ = *pid;
  sendRegister();  // now with the task's pid
  enqueue(TaskState::RUNNING, TaskReason::NONE, "");
  LOG(INFO) << "task " << spec_.task.taskId << " started as pid " << taskPid_;  // once sent
  startChecks();
}

void Executor::startChecks() {
  const TaskInfo& task = spec_.task;
  if (!task.healthCheck.enabled() && !task.readinessCheck.enabled()) return;
  prober_ = options_.prober(taskPid_);
  if (task.healthCheck.enabled()) {
    healthCheck_ = std::make_unique<TaskCheck>(
        loop_, *prober_, task.healthCheck, "health check of " + task.taskId,
        [this](bool verdict, const std::string& message) { onVerdict(true, verdict, message); });
    healthCheck_->start();
  }
  if (task.readinessCheck.enabled()) {
    readinessCheck_ = std::make_unique<TaskCheck>(
        loop_, *prober_, task.readinessCheck, "readiness check of " + task.taskId,
        [this](bool verdict, const std::string& message) { onVerdict(false, verdict, message); });
    readinessCheck_->start();
  }
}

void Executor::stopChecks() {
  if (healthCheck_) healthCheck_->stop();
  if (readinessCheck_) readinessCheck_->stop();
}

void Executor::onVerdict(bool health, bool verdict, const std::string& message) {
  if (taskExited_ || killing_) return;
  (health ? healthy_ : ready_) = verdict;
  std::string what = health ? (verdict ? "healthy: " : "unhealthy: ")
                            : (verdict ? "ready: " : "not ready: ");
  enqueue(TaskState::RUNNING,
          health ? TaskReason::HEALTH_CHECK_UPDATED : TaskReason::READINESS_CHECK_UPDATED,
          what + message);
}

void Executor::sendRegister() {
  agent_.send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>([&](auto envelope) {
                auto r = envelope.initRegister();
                r.setContainerId(spec_.containerId);
                r.setTaskId(spec_.task.taskId);
                r.setFrameworkId(spec_.frameworkId);
                r.setPid(taskPid_);
                r.setSecret(spec_.secret);
              }));
}

TaskStatus Executor::makeStatus(TaskState state, TaskReason reason, std::string message,
                                std::optional<int> exitCode) {
  TaskStatus status;
  status.taskId = spec_.task.taskId;
  status.state = state;
  status.reason = reason;
  status.message = std::move(message);
  status.agentId = spec_.task.agentId;
  status.frameworkId = spec_.frameworkId;
  status.source = StatusSource::EXECUTOR;
  status.exitCode = exitCode;
  status.uuid = randomUuidBytes();
  status.timestamp = loop_.clock().wallSeconds();
  status.containerId = spec_.containerId;
  status.healthy = healthy_;
  status.ready = ready_;
  return status;
}

void Executor::enqueue(TaskState state, TaskReason reason, std::string message) {
  push(makeStatus(state, reason, std::move(message)));
}

void Executor::push(TaskStatus status) {
  pending_.push_back(std::move(status));
  if (pending_.size() == 1) oldestSentAt_ = loop_.clock().now();
  armTick();
  const TaskStatus& sent = pending_.back();
  send(sent);
  // Logged once on its way (the log's clock and time zone calls cost more
  // than the send).
  LOG(INFO) << "task " << sent.taskId << " is " << taskStateName(sent.state)
            << (sent.message.empty() ? "" : ": " + sent.message);
}

void Executor::send(const TaskStatus& status) {
  agent_.send(kExecutorProtocol, buildEnvelope<ExecutorEnvelope>([&](auto envelope) {
                toCapnp(status, envelope.initStatusUpdate());
              }));
}

void Executor::resync() {
  sendRegister();
  resendAll();
}

void Executor::resendAll() {
  oldestSentAt_ = loop_.clock().now();
  for (const TaskStatus& status : pending_) send(status);
}

void Executor::onMessage(std::string_view protocol, std::string_view payload) {
  auto frame = openFrame(kExecutorProtocol, protocol, payload, kAgentMessageLimits);
  if (!frame) {
    ++rejected_;
    LOG(WARNING) << "dropping frame from the agent: " << frame.error().detail;
    return;
  }
  Status handled = catchDecode([&] {
    auto envelope = frame->root<ExecutorEnvelope>();
    if (envelope.getVersion() != schema::PROTOCOL_VERSION) {
      ++rejected_;
      LOG(WARNING) << "dropping frame with protocol version " << envelope.getVersion();
      return;
    }
    lastAgentContact_ = loop_.clock().now();
    switch (envelope.which()) {
      case ExecutorEnvelope::ACK: {
        auto uuid = envelope.getAck();
        onAck(std::string_view(reinterpret_cast<const char*>(uuid.begin()), uuid.size()));
        break;
      }
      case ExecutorEnvelope::KILL: {
        double grace = envelope.getKill().getGracePeriodSec();
        kill(grace >= 0 ? grace : spec_.task.killGracePeriodSec);
        break;
      }
      case ExecutorEnvelope::SHUTDOWN:
        kill(spec_.task.killGracePeriodSec);
        break;
      case ExecutorEnvelope::REGISTERED:
        break;
      case ExecutorEnvelope::RECONNECT:
        LOG(INFO) << "the agent restarted; registering again with " << pending_.size()
                  << " unacknowledged updates";
        resync();
        break;
      default:
        ++rejected_;
        LOG(WARNING) << "dropping unexpected message " << static_cast<int>(envelope.which());
    }
  });
  if (!handled) {
    ++rejected_;
    LOG(WARNING) << "dropping frame from the agent: " << handled.error().message;
  }
}

void Executor::onAck(std::string_view uuid) {
  auto acked = std::find_if(pending_.begin(), pending_.end(),
                            [&](const TaskStatus& s) { return s.uuid == uuid; });
  if (acked == pending_.end()) return;  // stale or duplicate ack
  // The agent takes updates in the order they were sent, so everything
  // before the acknowledged one is the agent's too.
  bool terminal = isTerminal(acked->state);
  pending_.erase(pending_.begin(), std::next(acked));
  oldestSentAt_ = loop_.clock().now();
  resendAfter_ = options_.tickInterval;
  if (pending_.empty()) disarmTick();
  if (terminal && !done_) {
    done_ = true;
    LOG(INFO) << "terminal update acknowledged; exiting";
    onDone_(0);
  }
}

void Executor::armTick() {
  if (!tick_) tick_ = loop_.addPeriodic(options_.tickInterval, [this] { onTick(); });
}

void Executor::disarmTick() {
  if (tick_) loop_.cancelTimer(*tick_);
  tick_.reset();
}

void Executor::sendHeartbeat() {
  if (done_) return;
  agent_.send(kExecutorProtocol,
              buildEnvelope<ExecutorEnvelope>([](auto envelope) { envelope.setHeartbeat(); }));
}

void Executor::onTick() {
  if (done_) return;
  TimePoint now = loop_.clock().now();
  if (!pending_.empty() && now - oldestSentAt_ >= resendAfter_) {
    resendAll();
    // A lagging agent is not flooded: each unanswered resend waits twice as long.
    resendAfter_ = std::min(resendAfter_ * 2, options_.tickInterval * kMaxResendBackoff);
  }
  if (taskExited_ && now - lastAgentContact_ >= options_.agentTimeout) {
    done_ = true;
    LOG(ERROR) << "no word from the agent for " << toSeconds(options_.agentTimeout)
               << " s; giving up with " << pending_.size() << " unacknowledged updates";
    onDone_(1);
  }
}

void Executor::onTaskExited(int waitStatus) {
  taskExited_ = true;
  stopChecks();
  if (escalation_) loop_.cancelTimer(*escalation_);
  escalation_.reset();
  int code = exitCodeOf(waitStatus);
  std::string how = WIFSIGNALED(waitStatus)
                        ? "Command terminated by signal " + std::to_string(WTERMSIG(waitStatus)) +
                              " (" + strsignal(WTERMSIG(waitStatus)) + ")"
                        : "Command exited with status " + std::to_string(code);
  TaskState state = TaskState::FAILED;
  if (killing_) {
    state = TaskState::KILLED;
    how = "Task killed: " + how;
  } else if (WIFEXITED(waitStatus) && code == 0) {
    state = TaskState::FINISHED;
  }
  TaskStatus terminal = makeStatus(state, TaskReason::COMMAND_EXITED, how, code);
  if (!options_.exitFile.empty()) {
    if (Status s = writeTaskExit(options_.exitFile, terminal); !s) {
      LOG(ERROR) << "cannot record the task's exit: " << s.error().message;
    }
  }
  push(std::move(terminal));
}

void Executor::kill(double gracePeriodSec) {
  if (taskExited_ || taskPid_ <= 0) return;
  TimePoint deadline = loop_.clock().now() + seconds(gracePeriodSec);
  if (killing_ && deadline >= killDeadline_) return;  // an earlier deadline stands
  if (!killing_) {
    LOG(INFO) << "killing task " << spec_.task.taskId << " (grace period " << gracePeriodSec
              << " s)";
    stopChecks();
    runner_.signalGroup(taskPid_, SIGTERM);
  }
  killing_ = true;
  killDeadline_ = deadline;
  if (escalation_) loop_.cancelTimer(*escalation_);
  escalation_ = loop_.addTimer(seconds(gracePeriodSec), [this] { escalate(); });
}

void Executor::escalate() {
  escalation_.reset();
  if (taskExited_) return;
  LOG(WARNING) << "task " << spec_.task.taskId << " outlived its grace period; sending SIGKILL";
  runner_.signalGroup(taskPid_, SIGKILL);
}

}  // namespace agora::agent
