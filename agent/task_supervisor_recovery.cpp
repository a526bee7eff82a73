// TaskSupervisor: taking over the containers of an earlier agent run.

#include <glog/logging.h>

#include "agent/executor/envelope.hpp"
#include "agent/executor/task_exit.hpp"
#include "agent/paths.hpp"
#include "agent/task_supervisor.hpp"

namespace agora::agent {

using schema::ExecutorEnvelope;

void TaskSupervisor::recover(const std::vector<RecoveredContainer>& containers) {
  for (const RecoveredContainer& recovered : containers) recoverOne(recovered);
  if (sandboxGc_) {
    // Sandboxes of tasks forgotten before the restart, or of a run whose
    // checkpoints are gone, were scheduled by timers that went with it.
    std::set<std::string> owned;
    for (const auto& [id, record] : records_) owned.insert(record.sandbox);
    sandboxGc_->scheduleLeftovers(owned);
  }
  sendReconnects();
  if (onChange_) onChange_();
}

void TaskSupervisor::recoverOne(const RecoveredContainer& recovered) {
  const ContainerState& c = recovered.container;
  if (records_.count(c.containerId) || find(c.framework.id, c.task.taskId)) {
    LOG(ERROR) << "ignoring a second checkpoint of task " << c.task.taskId;
    return;
  }
  Record& record = records_[c.containerId];
  record.containerId = c.containerId;
  record.frameworkId = c.framework.id;
  record.framework = c.framework;
  record.task = c.task;
  record.sandbox = c.sandbox;
  record.started = c.launchedAt;
  record.secret = c.executorSecret;
  record.recovered = true;
  record.latest.taskId = c.task.taskId;
  record.latest.state = TaskState::STAGING;
  byTask_[{record.frameworkId, record.task.taskId}] = c.containerId;
  if (recovered.stream) {
    updates_.restore(*recovered.stream, record.sandbox);
    if (recovered.stream->latest) record.latest = *recovered.stream->latest;
    record.terminalSeen = recovered.stream->terminal;
  }

  auto adopted = containerizer_.recover(
      ContainerConfig{c.containerId, c.framework.id, c.task, c.sandbox}, c.executorPid,
      c.executorStartTime);
  if (adopted && *adopted) {
    record.executorPid = c.executorPid;
    setStage(record, Stage::kRunning);
    recoverImage(record);
    setTimer(record, options_.registrationTimeout, [this](Record& r) {
      if (r.registered) return;
      LOG(WARNING) << "recovered executor of task " << r.task.taskId << " did not reconnect";
      r.deathReason = TaskReason::EXECUTOR_REGISTRATION_TIMEOUT;
      destroy(r);
    });
    LOG(INFO) << "recovered task " << c.task.taskId << " (" << taskStateName(record.latest.state)
              << "), waiting for its executor to reconnect";
    return;
  }
  if (!adopted) {
    LOG(ERROR) << "cannot recover container " << c.containerId << ": "
               << adopted.error().message;
  }
  setStage(record, Stage::kTerminated);
  if (!record.terminalSeen) {
    reportExecutorGone(record, TaskReason::EXECUTOR_TERMINATED,
                       "Executor terminated while the agent was down, without reporting how the "
                       "task ended");
  }
  maybeForget(c.containerId);
}

void TaskSupervisor::reportExecutorGone(Record& record, TaskReason reason,
                                        const std::string& message) {
  if (options_.checkpoint) {
    auto exit = readTaskExit(paths::taskExitFile(runtimeDir(), record.containerId));
    if (!exit) LOG(ERROR) << exit.error().message;
    if (exit && *exit) {
      LOG(INFO) << "task " << record.task.taskId << " ended while the agent was down: "
                << taskStateName((*exit)->state);
      TaskStatus status = **exit;
      status.frameworkId = record.frameworkId;
      status.containerId = record.containerId;
      accept(record, std::move(status));
      if (record.terminalSeen) return;
    }
  }
  report(record, TaskState::FAILED, reason, message);
}

void TaskSupervisor::sendReconnects() {
  reconnectTimer_.reset();
  size_t waiting = 0;
  for (auto& [id, record] : records_) {
    if (!record.recovered || record.registered || record.stage == Stage::kTerminated) continue;
    ++waiting;
    sendToExecutor(record,
                   buildEnvelope<ExecutorEnvelope>([](auto envelope) { envelope.setReconnect(); }));
  }
  if (waiting == 0) return;
  reconnectTimer_ = loop_.addTimer(options_.reconnectInterval, [this] { sendReconnects(); });
}

size_t TaskSupervisor::awaitingReconnect() const {
  size_t n = 0;
  for (const auto& [id, r] : records_) {
    n += r.recovered && !r.registered && r.stage != Stage::kTerminated;
  }
  return n;
}

}  // namespace agora::agent
