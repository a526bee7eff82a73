// Tasks: what agents and schedulers say about tasks — status updates and
// their acknowledgements, kills and reconciliation.

#include <glog/logging.h>

#include <algorithm>

#include "master/tasks/tasks.hpp"

namespace agora::master {

void Tasks::onStatusUpdate(const Agent& agent, schema::StatusUpdate::Reader message) {
  std::string frameworkId = message.getFrameworkId();
  auto decoded = fromCapnp(message.getStatus());
  std::string sandbox = message.getSandbox();
  if (!decoded) {
    ctx_.reject("invalid_status", "agent " + agent.id + ": " + decoded.error().message);
    return;
  }
  TaskStatus status = std::move(*decoded);
  if (frameworkId.empty()) frameworkId = status.frameworkId;
  status.frameworkId = frameworkId;
  status.agentId = agent.id;
  TaskKey key{frameworkId, status.taskId};
  const Task* known = find(key);
  if (known != nullptr && !known->agentId.empty() && known->agentId.get() != agent.id) {
    // Only the agent that runs a task speaks for it.
    ctx_.reject("forged_update", "agent " + agent.id + " sent " + taskStateName(status.state) +
                                     " for task " + status.taskId + " of framework " +
                                     frameworkId + ", which runs on agent " +
                                     known->agentId.get());
    return;
  }
  if (known != nullptr && known->agentId.get() == agent.id && acknowledgedBefore(*known, status)) {
    // Resent by an agent that restarted before our ack reached it.
    VLOG(1) << "task " << status.taskId << ": update already acknowledged; answering for "
            << "framework " << frameworkId;
    return acknowledgeToAgent(agent.peer, agent.id, frameworkId, status.taskId, status.uuid);
  }
  if (Task* task = findLiveMutable(key); task != nullptr && task->agentId.get() == agent.id) {
    setStatus(*task, status);
    if (!sandbox.empty()) table_.setSandbox(*task, sandbox);
    if (isTerminal(status.state)) {
      ctx_.allocator.recover(frameworkId, task->role.get(), agent.id, task->resources.get(), 0);
      complete(key);
      ctx_.scheduleAllocation();
    }
    ctx_.markChanged();
  }
  const Framework* framework = ctx_.frameworks().findFramework(frameworkId);
  if (framework == nullptr) {
    // Nobody will ever acknowledge it: do it for the framework.
    if (!status.uuid.empty()) {
      acknowledgeToAgent(agent.peer, agent.id, frameworkId, status.taskId, status.uuid);
    }
    return;
  }
  ctx_.outbox.update(*framework, status);
}

bool Tasks::acknowledgedBefore(const Task& task, const TaskStatus& status) {
  if (status.uuid.size() != task.ackedUuid.size()) return false;
  // After the terminal update's ack nothing more is owed to the framework.
  return task.terminalAcked ||
         std::equal(task.ackedUuid.begin(), task.ackedUuid.end(), status.uuid.begin());
}

void Tasks::acknowledgeToAgent(const std::string& peer, const std::string& agentId,
                               const std::string& frameworkId, const std::string& taskId,
                               const std::string& uuid) {
  ctx_.outbox.toAgent(peer, "statusUpdateAck", [&](schema::AgentEnvelope::Builder out) {
    auto ack = out.initStatusUpdateAck();
    ack.setAgentId(agentId);
    ack.setFrameworkId(frameworkId);
    ack.setTaskId(taskId);
    ack.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
  });
}

void Tasks::forwardAcknowledgement(const std::string& frameworkId, const std::string& agentId,
                                   const std::string& taskId, const std::string& uuid) {
  const Agent* agent = ctx_.agents().registeredAgent(agentId);
  if (agent == nullptr) {
    // The agent resends the update once it is back; the scheduler acknowledges again.
    VLOG(1) << "acknowledgement for task " << taskId << " on unavailable agent " << agentId;
    return;
  }
  acknowledgeToAgent(agent->peer, agentId, frameworkId, taskId, uuid);
}

void Tasks::sendKill(const Agent& agent, const std::string& frameworkId,
                     const std::string& taskId) {
  ctx_.outbox.toAgent(agent.peer, "killTask", [&](schema::AgentEnvelope::Builder out) {
    auto kill = out.initKillTask();
    kill.setFrameworkId(frameworkId);
    kill.setTaskId(taskId);
    kill.setGracePeriodSec(-1);
  });
}

void Tasks::onKill(const Framework& framework, schema::TaskRef::Reader ref) {
  TaskKey key{framework.info.id, ref.getTaskId()};
  if (const Task* task = findLive(key)) {
    const Agent* agent = ctx_.agents().registeredAgent(task->agentId.get());
    if (agent == nullptr) {
      LOG(WARNING) << "cannot kill task " << key.second << ": agent " << task->agentId.get()
                   << " is unreachable";
      return;
    }
    sendKill(*agent, key.first, key.second);
    return;
  }
  if (const Task* done = find(key)) {
    TaskStatus status = done->status();
    status.reason = TaskReason::RECONCILIATION;
    status.source = StatusSource::MASTER;
    ctx_.outbox.update(framework, status);
    return;
  }
  TaskStatus unknown;
  unknown.taskId = key.second;
  unknown.frameworkId = key.first;
  unknown.agentId = ref.getAgentId();
  ctx_.outbox.update(
      framework,
      masterUpdate(unknown, framework.partitionAware() ? TaskState::UNKNOWN : TaskState::LOST,
                   TaskReason::RECONCILIATION,
                   "task '" + key.second + "' is unknown to the master"));
}

void Tasks::onAcknowledge(const Framework& framework, schema::Call::Acknowledge::Reader ack) {
  std::string agentId = ack.getAgentId();
  std::string taskId = ack.getTaskId();
  auto uuid = ack.getUuid();
  std::string uuidBytes(reinterpret_cast<const char*>(uuid.begin()), uuid.size());
  if (uuidBytes.empty()) return;  // master-generated updates need no acknowledgement
  bool completed = false;
  if (Task* task = table_.find({framework.info.id, taskId});
      task != nullptr && task->agentId.get() == agentId &&
      uuidBytes.size() == task->ackedUuid.size()) {
    std::copy(uuidBytes.begin(), uuidBytes.end(), task->ackedUuid.begin());
    task->terminalAcked = task->completed;
    completed = task->completed;
  }
  if (completed && history_ != nullptr) {
    // Forwarded once the completed task's record is durable: until then the
    // agent keeps the terminal update and reports the task to a master
    // restarted meanwhile, so a kill -9 never loses it.
    history_->afterPersisted(guard_.wrap([this, frameworkId = framework.info.id, agentId,
                                          taskId, uuidBytes] {
      forwardAcknowledgement(frameworkId, agentId, taskId, uuidBytes);
    }));
    return;
  }
  forwardAcknowledgement(framework.info.id, agentId, taskId, uuidBytes);
}

void Tasks::onReconcile(const Framework& framework, capnp::List<schema::TaskRef>::Reader refs) {
  std::vector<std::pair<std::string, std::string>> wanted;  // (taskId, agentId)
  for (auto ref : refs) wanted.emplace_back(ref.getTaskId(), ref.getAgentId());
  if (wanted.empty()) {
    for (const TaskKey& key : ofFramework(framework.info.id).keys()) {
      wanted.emplace_back(key.second, "");
    }
  }
  for (const auto& [taskId, agentId] : wanted) {
    TaskKey key{framework.info.id, taskId};
    TaskStatus status;
    if (const Task* task = find(key)) {
      status = task->status();
      status.source = StatusSource::MASTER;
      status.timestamp = ctx_.wallNow();
    } else {
      const Agent* agent = agentId.empty() ? nullptr : ctx_.agents().findAgent(agentId);
      // Its agent has yet to re-register after a master restart: no answer
      // until it does or times out (the scheduler reconciles again).
      if (agent != nullptr && agent->status == AgentStatus::kRecovering) continue;
      bool unreachable = agent != nullptr && agent->status == AgentStatus::kUnreachable;
      bool gone = !agentId.empty() && ctx_.agents().isGone(agentId);
      TaskStatus unknown;
      unknown.taskId = taskId;
      unknown.frameworkId = framework.info.id;
      unknown.agentId = agentId;
      TaskState aware = gone          ? TaskState::GONE
                        : unreachable ? TaskState::UNREACHABLE
                                      : TaskState::UNKNOWN;
      std::string where = gone          ? "on removed agent " + agentId
                          : unreachable ? "on unreachable agent " + agentId
                                        : "unknown to the master";
      status = masterUpdate(unknown, framework.partitionAware() ? aware : TaskState::LOST,
                            TaskReason::RECONCILIATION, "task '" + taskId + "' is " + where);
    }
    status.reason = TaskReason::RECONCILIATION;
    ctx_.outbox.update(framework, status);
  }
}

}  // namespace agora::master
