#include "agent/task_supervisor.hpp"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/envelope.hpp"
#include "agent/executor/executor_identity.hpp"
#include "agent/executor/task_exit.hpp"
#include "agent/paths.hpp"
#include "agent/proc_stat.hpp"
#include "common/subprocess.hpp"

namespace agora::agent {

using schema::ExecutorEnvelope;

namespace {

const char* phaseName(bool terminated, bool killing, bool launching) {
  if (terminated) return "TERMINATED";
  if (killing) return "KILLING";
  return launching ? "LAUNCHING" : "RUNNING";
}

}  // namespace

TaskSupervisor::TaskSupervisor(EventLoop& loop, ServerTransport& executors,
                               Containerizer& containerizer, StatusUpdateManager& updates,
                               AgentCounters& counters, Options options)
    : loop_(loop),
      executors_(executors),
      containerizer_(containerizer),
      updates_(updates),
      counters_(counters),
      options_(std::move(options)),
      startSockets_(loop, [this](const std::string& containerId, std::string_view frame) {
        onExecutorMessage(containerId, kExecutorProtocol, frame, /*fromStartSocket=*/true);
      }) {
  executors_.setHandler(
      [this](const std::string& peer, std::string_view protocol, std::string_view payload) {
        onExecutorMessage(peer, protocol, payload);
      });
  containerizer_.setTerminationHandler(
      [this](const std::string& id, int status) { onContainerTerminated(id, status); });
  if (options_.sandboxGcDelay > Duration::zero()) {
    // Its own trash next to the sandboxes (same filesystem): a rename each.
    SandboxGc::Options gc;
    gc.sandboxesRoot = paths::sandboxesRoot(options_.workDir);
    gc.trash = options_.workDir + "/sandbox-trash";
    gc.delay = options_.sandboxGcDelay;
    gc.diskHeadroom = options_.gcDiskHeadroom;
    sandboxGc_ = std::make_unique<SandboxGc>(loop_, std::move(gc));
  }
  if (options_.diskCheckInterval > Duration::zero()) {
    diskTimer_ = loop_.addPeriodic(options_.diskCheckInterval, [this] { checkDisk(); });
  }
}

TaskSupervisor::~TaskSupervisor() {
  lifetime_.invalidate();
  executors_.setHandler(nullptr);
  containerizer_.setTerminationHandler(nullptr);
  for (auto& [id, record] : records_) {
    if (record.timer) loop_.cancelTimer(*record.timer);
  }
  if (reconnectTimer_) loop_.cancelTimer(*reconnectTimer_);
  if (diskTimer_) loop_.cancelTimer(*diskTimer_);
  if (diskThread_.joinable()) diskThread_.join();
}

void TaskSupervisor::launch(const FrameworkInfo& framework, const TaskInfo& task) {
  const std::string& frameworkId = framework.id;
  if (Status s = validateId("framework ID", frameworkId); !s)
    return reject(kRejectInvalid, s.error().message);
  if (Status s = validateId("task ID", task.taskId); !s)
    return reject(kRejectInvalid, s.error().message);
  if (Record* existing = find(frameworkId, task.taskId)) {
    return reject(kRejectInvalid, "task '" + task.taskId + "' of framework '" + frameworkId +
                                      "' is already known (container " + existing->containerId +
                                      ")");
  }
  std::string containerId = hexEncode(randomUuidBytes());
  Record& record = records_[containerId];
  record.containerId = containerId;
  record.frameworkId = frameworkId;
  record.framework = framework;
  record.task = task;
  record.sandbox = paths::sandbox(options_.workDir, frameworkId, task.taskId, containerId);
  record.started = loop_.clock().wallSeconds();
  record.latest.taskId = task.taskId;
  record.latest.state = TaskState::STAGING;
  byTask_[{frameworkId, task.taskId}] = containerId;
  counters_.launches++;

  checkpointContainer(record);
  if (!task.container.image.empty()) return provisionImage(record);
  startContainer(record, std::nullopt);
}

size_t defaultMaxStartingContainers() {
  return 8 * std::max(1u, std::thread::hardware_concurrency());
}

void TaskSupervisor::startContainer(Record& record, std::optional<ImageRootfs> rootfs) {
  if (options_.maxStarting > 0 && starting_ >= options_.maxStarting) {
    setStage(record, Stage::kQueued);
    record.queuedRootfs = std::move(rootfs);
    startQueue_.push_back(record.containerId);
    return;
  }
  launchContainer(record, std::move(rootfs));
}

void TaskSupervisor::startQueued() {
  while (!startQueue_.empty() && (options_.maxStarting == 0 || starting_ < options_.maxStarting)) {
    auto it = records_.find(startQueue_.front());
    startQueue_.pop_front();
    if (it == records_.end() || it->second.stage != Stage::kQueued) continue;  // killed meanwhile
    Record& record = it->second;
    // Taken out first: a launch that fails may forget the record.
    std::optional<ImageRootfs> rootfs = std::move(record.queuedRootfs);
    record.queuedRootfs.reset();
    launchContainer(record, std::move(rootfs));
  }
}

bool TaskSupervisor::setStage(Record& record, Stage stage) {
  Stage before = record.stage;
  if (before == stage) return false;
  record.stage = stage;
  if (stage == Stage::kStarting) ++starting_;
  if (before != Stage::kStarting) return false;
  --starting_;
  return true;
}

void TaskSupervisor::doneStarting(Record& record) {
  if (record.stage != Stage::kStarting) return;
  setStage(record, Stage::kRunning);
  startQueued();
}

void TaskSupervisor::launchContainer(Record& record, std::optional<ImageRootfs> rootfs) {
  // RUNNING comes over the start socket before the executor's link is up.
  auto startFd = startSockets_.open(record.containerId);
  if (!startFd) LOG(WARNING) << "task " << record.task.taskId << ": " << startFd.error().message;
  record.secret = newExecutorSecret();
  auto pid = containerizer_.launch(ContainerConfig{record.containerId, record.frameworkId,
                                                   record.task, record.sandbox, std::move(rootfs),
                                                   startFd ? *startFd : -1, record.secret});
  if (startFd) close(*startFd);
  if (!pid) {
    startSockets_.close(record.containerId);
    LOG(ERROR) << "task " << record.task.taskId << ": " << pid.error().message;
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      pid.error().message);
  }
  record.executorPid = *pid;
  setStage(record, Stage::kStarting);
  checkpointContainer(record);
  setTimer(record, options_.registrationTimeout, [this](Record& r) {
    if (r.registered) return;
    LOG(WARNING) << "executor of task " << r.task.taskId << " did not register in time";
    r.deathReason = TaskReason::EXECUTOR_REGISTRATION_TIMEOUT;
    destroy(r);
  });
}

void TaskSupervisor::failLaunch(Record& record, TaskState state, TaskReason reason,
                                const std::string& message) {
  if (state == TaskState::FAILED) counters_.launchFailures++;
  releaseImage(record);
  bool freed = setStage(record, Stage::kTerminated);
  report(record, state, reason, message);
  if (freed) startQueued();
  maybeForget(record.containerId);
}

void TaskSupervisor::kill(const std::string& frameworkId, const std::string& taskId,
                          double gracePeriodSec) {
  Record* record = find(frameworkId, taskId);
  if (record == nullptr || record->stage == Stage::kTerminated) {
    VLOG(1) << "ignoring kill of unknown or finished task " << taskId;
    return;
  }
  if (record->stage == Stage::kQueued) {
    record->queuedRootfs.reset();
    return failLaunch(*record, TaskState::KILLED, TaskReason::TASK_KILLED_DURING_LAUNCH,
                      "Task killed while it waited for its container to start");
  }
  double grace = gracePeriodSec >= 0 ? gracePeriodSec : record->task.killGracePeriodSec;
  if (record->killGraceSec && *record->killGraceSec <= grace) return;  // already killing, sooner
  record->killGraceSec = grace;
  if (!record->registered && !record->recovered && record->executorPid > 0) {
    // Started, but its link is not up yet (its RUNNING may have come over
    // the start socket): it gets the kill, with the grace period, once it
    // registers; the registration timeout destroys the container otherwise.
    LOG(INFO) << "killing task " << taskId << " once its executor registers";
    return;
  }
  bool executorAlive =
      record->registered && loop_.clock().now() - record->lastSeen < options_.executorSilence;
  if (!executorAlive) {
    LOG(INFO) << "killing task " << taskId << ": its executor is not reachable; destroying";
    destroy(*record);
    return;
  }
  sendKill(*record);
}

void TaskSupervisor::sendKill(Record& record) {
  LOG(INFO) << "asking the executor of task " << record.task.taskId << " to kill it (grace "
            << *record.killGraceSec << " s)";
  record.killSent = true;
  sendToExecutor(record, buildEnvelope<ExecutorEnvelope>([&](auto envelope) {
                   envelope.initKill().setGracePeriodSec(*record.killGraceSec);
                 }));
  setTimer(record, seconds(*record.killGraceSec) + options_.killSlack, [this](Record& r) {
    LOG(WARNING) << "executor of task " << r.task.taskId << " did not finish the kill; destroying";
    destroy(r);
  });
}

void TaskSupervisor::killFramework(const std::string& frameworkId) {
  // By task ID: a kill may forget its record (one that waited to start).
  std::vector<std::string> tasks;
  for (const auto& [id, record] : records_) {
    if (record.frameworkId == frameworkId) tasks.push_back(record.task.taskId);
  }
  for (const std::string& task : tasks) kill(frameworkId, task, -1);
}

void TaskSupervisor::killAll(bool forget) {
  std::vector<std::string> ids;
  for (auto& [id, record] : records_) ids.push_back(id);
  for (const auto& id : ids) {
    auto it = records_.find(id);
    if (it == records_.end()) continue;
    if (forget) it->second.forgotten = true;
    kill(it->second.frameworkId, it->second.task.taskId, -1);
    if (forget) maybeForget(id);
  }
}

void TaskSupervisor::destroy(Record& record) {
  // A task whose image is still being pulled ends when the pull does.
  if (record.stage == Stage::kTerminated || record.stage == Stage::kProvisioning) return;
  if (Status s = containerizer_.destroy(record.containerId); !s) {
    LOG(ERROR) << "cannot destroy container " << record.containerId << ": " << s.error().message;
  }
}

void TaskSupervisor::onAcknowledged(const std::string& frameworkId, const std::string& taskId) {
  auto it = byTask_.find({frameworkId, taskId});
  if (it == byTask_.end()) return;
  auto record = records_.find(it->second);
  if (record != records_.end()) checkpointStream(record->second);
  maybeForget(it->second);
}

void TaskSupervisor::maybeForget(std::string containerId) {
  auto it = records_.find(containerId);
  if (it == records_.end() || it->second.stage != Stage::kTerminated) return;
  Record& record = it->second;
  if (!record.forgotten && updates_.pending(record.frameworkId, record.task.taskId) > 0) return;
  if (record.timer) loop_.cancelTimer(*record.timer);
  auto key = std::make_pair(record.frameworkId, record.task.taskId);
  auto index = byTask_.find(key);
  if (index != byTask_.end() && index->second == containerId) byTask_.erase(index);
  if (options_.checkpoint) {
    if (Status s = checkpoints::removeContainer(runtimeDir(), containerId); !s) {
      LOG(ERROR) << "cannot remove the checkpoint of container " << containerId << ": "
                 << s.error().message;
    }
  }
  if (sandboxGc_) sandboxGc_->schedule(record.sandbox, loop_.clock().wallSeconds());
  records_.erase(it);
}

// An executor peer as logged: its container ID, never its secret.
static std::string shownPeer(const std::string& peer) {
  return parseExecutorIdentity(peer).containerId.substr(0, 64);
}

void TaskSupervisor::onExecutorMessage(const std::string& peer, std::string_view protocol,
                                       std::string_view payload, bool fromStartSocket) {
  if (strikes_.banned(peer, loop_.clock().now())) {
    return reject("banned_peer", "executor " + shownPeer(peer));
  }
  auto frame = openFrame(kExecutorProtocol, protocol, payload, kExecutorMessageLimits);
  if (!frame) {
    if (frame.error().reason == kRejectOversized) strikes_.strike(peer, loop_.clock().now());
    return reject(frame.error().reason,
                  "executor " + shownPeer(peer) + ": " + frame.error().detail);
  }
  // The start socket is the executor's own (handed over at its launch).
  ExecutorPeer from = fromStartSocket ? ExecutorPeer{peer, ""} : parseExecutorIdentity(peer);
  auto it = records_.find(from.containerId);
  if (it == records_.end() || it->second.stage == Stage::kTerminated) {
    return reject(kRejectInvalid, "message from unknown executor '" + shownPeer(peer) + "'");
  }
  Record& record = it->second;
  if (!fromStartSocket && !sameSecret(from.secret, record.secret)) {
    reject(kRejectForged,
           "a message for container " + record.containerId + " without its executor's secret");
    if (onChange_) onChange_();
    return;
  }
  const char* rejected = nullptr;
  std::string detail;
  // A heartbeat changes nothing anyone sees: publishing the agent's state
  // (every container) for each would cost O(containers) per heartbeat.
  bool changed = true;
  Status read = catchDecode([&] {
    auto envelope = frame->root<ExecutorEnvelope>();
    if (envelope.getVersion() != schema::PROTOCOL_VERSION) {
      rejected = kRejectVersion;
      detail = "protocol version " + std::to_string(envelope.getVersion());
      return;
    }
    if (fromStartSocket && envelope.which() != ExecutorEnvelope::STATUS_UPDATE) {
      changed = false;  // registration and heartbeats count over the link only
      return;
    }
    switch (envelope.which()) {
      case ExecutorEnvelope::REGISTER:
        onRegister(record, envelope.getRegister());
        break;
      case ExecutorEnvelope::STATUS_UPDATE:
        record.lastSeen = loop_.clock().now();
        if (fromStartSocket) counters_.startSocketUpdates++;
        onExecutorUpdate(record, envelope.getStatusUpdate(), !fromStartSocket);
        break;
      case ExecutorEnvelope::HEARTBEAT:
        record.lastSeen = loop_.clock().now();
        changed = false;
        break;
      default:
        rejected = kRejectInvalid;
        detail = "unexpected message " + std::to_string(static_cast<int>(envelope.which()));
    }
  });
  if (!read) {
    return reject(kRejectDecode, "executor " + shownPeer(peer) + ": " + read.error().message);
  }
  if (rejected) reject(rejected, "executor " + shownPeer(peer) + ": " + detail);
  if (record.recovered && !record.registered && !fromStartSocket) {
    sendToExecutor(record,
                   buildEnvelope<ExecutorEnvelope>([](auto envelope) { envelope.setReconnect(); }));
  }
  if (onChange_ && (changed || rejected != nullptr)) onChange_();
}

void TaskSupervisor::onRegister(Record& record, schema::RegisterExecutor::Reader message) {
  if (message.getContainerId() != record.containerId || message.getTaskId() != record.task.taskId ||
      message.getFrameworkId() != record.frameworkId ||
      !sameSecret(message.getSecret().cStr(), record.secret)) {
    return reject(kRejectInvalid,
                  "executor " + record.containerId + " registered for another task");
  }
  bool first = !record.registered;
  record.registered = true;
  record.lastSeen = loop_.clock().now();
  if (message.getPid() > 0) record.taskPid = message.getPid();
  sendToExecutor(record,
                 buildEnvelope<ExecutorEnvelope>([](auto envelope) { envelope.setRegistered(); }));
  if (first) {
    LOG(INFO) << "executor of task " << record.task.taskId << " registered (container "
              << record.containerId << ")";
    if (record.timer) loop_.cancelTimer(*record.timer);
    record.timer.reset();
  }
  if (record.killGraceSec && !record.killSent) sendKill(record);
}

void TaskSupervisor::onExecutorUpdate(Record& record, schema::TaskStatus::Reader message,
                                      bool acknowledge) {
  auto status = fromCapnp(message);
  if (!status) return reject(kRejectInvalid, status.error().message);
  if (status->taskId != record.task.taskId || status->uuid.size() != 16) {
    return reject(kRejectInvalid, "executor " + record.containerId +
                                      " sent an update for another task or without a uuid");
  }
  std::string uuid = status->uuid;
  status->frameworkId = record.frameworkId;
  status->containerId = record.containerId;
  status->source = StatusSource::EXECUTOR;
  applyLimitation(record, *status);
  accept(record, std::move(*status));
  if (!acknowledge) return;
  // Acknowledged whatever the outcome: the update is ours now (or a duplicate).
  sendToExecutor(
      record, buildEnvelope<ExecutorEnvelope>([&](auto envelope) {
        envelope.setAck(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
      }));
}

void TaskSupervisor::onContainerTerminated(const std::string& containerId, int waitStatus) {
  auto it = records_.find(containerId);
  if (it == records_.end()) return;
  Record& record = it->second;
  bool freed = setStage(record, Stage::kTerminated);
  record.usage.reset();
  startSockets_.close(containerId);
  releaseImage(record);
  if (freed) startQueued();
  if (record.timer) loop_.cancelTimer(*record.timer);
  record.timer.reset();
  if (!record.terminalSeen) {
    std::string how = waitStatus == ChildReaper::kUnknownStatus
                          ? std::string("Executor exited")
                          : "Executor " + describeWaitStatus(waitStatus);
    auto limit =
        record.diskLimitation ? record.diskLimitation : containerizer_.limitation(containerId);
    if (record.killGraceSec) {
      report(record, TaskState::KILLED, record.deathReason,
             how + " while the task was being killed");
    } else if (limit) {
      report(record, TaskState::FAILED, limit->reason, limit->message);
    } else {
      reportExecutorGone(record, record.deathReason, how + " before the task finished");
    }
  }
  maybeForget(containerId);
  if (onChange_) onChange_();
}

void TaskSupervisor::report(Record& record, TaskState state, TaskReason reason,
                            std::string message) {
  TaskStatus status;
  status.taskId = record.task.taskId;
  status.state = state;
  status.reason = reason;
  status.message = std::move(message);
  status.frameworkId = record.frameworkId;
  status.source = StatusSource::AGENT;
  status.uuid = randomUuidBytes();
  status.timestamp = loop_.clock().wallSeconds();
  status.containerId = record.containerId;
  accept(record, std::move(status));
}

void TaskSupervisor::applyLimitation(const Record& record, TaskStatus& status) const {
  // A FINISHED task whose container hit a limit failed too: the kernel killed
  // one of its processes (an OOM kill of a child) and the command carried on.
  bool finished = status.state == TaskState::FINISHED;
  if (!isTerminal(status.state) ||
      (status.state != TaskState::FAILED && !finished && !record.diskLimitation))
    return;
  auto limit =
      record.diskLimitation ? record.diskLimitation : containerizer_.limitation(record.containerId);
  if (!limit) return;
  LOG(INFO) << "task " << record.task.taskId << " failed: " << limit->message
            << " (executor said: " << status.message << ")";
  status.state = TaskState::FAILED;
  status.reason = limit->reason;
  status.message = limit->message;
  if (finished && !record.diskLimitation) {
    status.message +=
        "; the kernel killed a process of the task for it, and the command then "
        "exited 0";
  }
}

void TaskSupervisor::refreshUsage() {
  size_t sampled = 0;
  auto it = records_.upper_bound(usageCursor_);
  for (size_t visited = 0; visited < records_.size() && sampled < kUsageSamplesPerRefresh;
       ++visited, ++it) {
    if (it == records_.end()) it = records_.begin();
    auto& [id, record] = *it;
    usageCursor_ = id;
    if (record.stage == Stage::kTerminated || record.executorPid == 0) continue;
    auto usage = containerizer_.usage(id);
    if (usage) {
      record.usage = *usage;
      record.usage->sampledAt = loop_.clock().wallSeconds();
    }
    ++sampled;
  }
}

void TaskSupervisor::accept(Record& record, TaskStatus status) {
  if (record.forgotten) return;
  bool terminal = isTerminal(status.state);
  TaskStatus copy = status;
  auto outcome =
      updates_.update(StatusUpdate{record.frameworkId, std::move(status), record.sandbox});
  if (outcome != StatusUpdateManager::Outcome::kAccepted) return;
  record.latest = std::move(copy);
  if (terminal) record.terminalSeen = true;
  checkpointStream(record);
  if (terminal || record.latest.state == TaskState::RUNNING) doneStarting(record);
}

void TaskSupervisor::checkpointContainer(const Record& record) {
  if (!options_.checkpoint) return;
  ContainerState state;
  state.containerId = record.containerId;
  state.framework = record.framework;
  state.task = record.task;
  state.sandbox = record.sandbox;
  state.executorPid = record.executorPid;
  if (record.executorPid > 0) {
    if (auto stat = readProcStat(record.executorPid)) state.executorStartTime = stat->startTime;
  }
  state.launchedAt = record.started;
  state.executorSecret = record.secret;
  Status s = paths::makeDirs(paths::containerDir(runtimeDir(), record.containerId), 0700);
  if (s) s = checkpoints::writeContainer(runtimeDir(), state);
  if (!s)
    LOG(ERROR) << "cannot checkpoint container " << record.containerId << ": " << s.error().message;
}

void TaskSupervisor::checkpointStream(const Record& record) {
  if (!options_.checkpoint) return;
  auto stream = updates_.streamState(record.frameworkId, record.task.taskId);
  if (!stream) {
    if (!record.terminalSeen) return;
    // Acknowledged to the end, and the container may outlive this call (its
    // executor still exiting): record that nothing is left to deliver, so a
    // crash before maybeForget() neither resends nor replaces the update.
    stream = UpdateStreamState{record.frameworkId, record.task.taskId, {}, {}, true, {}};
  }
  stream->latest = record.latest;
  if (Status s = checkpoints::writeStream(runtimeDir(), record.containerId, *stream); !s) {
    LOG(ERROR) << "cannot checkpoint the updates of task " << record.task.taskId << ": "
               << s.error().message;
  }
}

void TaskSupervisor::reject(const char* reason, const std::string& detail) {
  counters_.messagesRejected[reason]++;
  LOG_EVERY_N(WARNING, 100) << "rejected (" << reason << "): " << detail;
}

TaskSupervisor::Record* TaskSupervisor::find(const std::string& frameworkId,
                                             const std::string& taskId) {
  auto it = byTask_.find({frameworkId, taskId});
  if (it == byTask_.end()) return nullptr;
  auto record = records_.find(it->second);
  return record == records_.end() ? nullptr : &record->second;
}

void TaskSupervisor::setTimer(Record& record, Duration delay, std::function<void(Record&)> action) {
  if (record.timer) loop_.cancelTimer(*record.timer);
  record.timer = loop_.addTimer(delay, [this, id = record.containerId, action = std::move(action)] {
    auto it = records_.find(id);
    if (it == records_.end()) return;
    it->second.timer.reset();
    if (it->second.stage != Stage::kTerminated) action(it->second);
  });
}

void TaskSupervisor::sendToExecutor(const Record& record, const std::string& frame) {
  if (!executors_.send(executorIdentity(record.containerId, record.secret), kExecutorProtocol,
                       frame)) {
    VLOG(1) << "cannot reach the executor of container " << record.containerId;
  }
}

std::vector<TaskSupervisor::TaskReport> TaskSupervisor::tasks() const {
  std::vector<TaskReport> out;
  for (const auto& [id, record] : records_) {
    if (record.forgotten) continue;
    out.push_back(TaskReport{record.frameworkId, record.task, record.latest, record.sandbox});
  }
  return out;
}

std::vector<ContainerView> TaskSupervisor::containerViews() const {
  std::vector<ContainerView> out;
  for (const auto& [id, r] : records_) {
    out.push_back(ContainerView{
        id, r.frameworkId, r.task.taskId, r.executorPid,
        phaseName(r.stage == Stage::kTerminated, r.killGraceSec.has_value(), !r.registered),
        taskStateName(r.latest.state), r.sandbox, r.started, r.usage});
  }
  return out;
}

size_t TaskSupervisor::liveContainers() const {
  size_t n = 0;
  for (const auto& [id, r] : records_) n += r.stage != Stage::kTerminated;
  return n;
}

std::string TaskSupervisor::volumeUser(const PersistentVolume& volume) const {
  for (const auto& [id, r] : records_) {
    if (r.stage == Stage::kTerminated) continue;
    for (const PersistentVolume& used : r.task.resources.volumeList()) {
      if (used.disk.id == volume.disk.id && used.reservation.role == volume.reservation.role) {
        return r.task.taskId;
      }
    }
  }
  return "";
}

}  // namespace agora::agent
