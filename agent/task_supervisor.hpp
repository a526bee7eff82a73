#pragma once
// The agent's side of its executors: launches each task in a container,
// serves the executor protocol on the agent's ROUTER (register, status
// updates into the StatusUpdateManager, acks, heartbeats), kills tasks
// through their executor with the container destroyed as the fallback, and
// turns an executor's death without a terminal update into TASK_FAILED
// (REASON_EXECUTOR_TERMINATED). A launch failure becomes TASK_FAILED with
// REASON_CONTAINER_LAUNCH_FAILED. A FAILED task whose container hit a limit
// (Containerizer::limitation) is reported with the limitation's reason and
// message instead (e.g. REASON_CONTAINER_LIMITATION_MEMORY).
//
// A task naming an image (ContainerInfo.image) first has it provisioned by
// the ImageProvisioner (off the loop), which holds it until the container
// ends; a recovered container holds its image again. A pull that fails, or no
// provisioner (no namespaces isolation), fails the task with
// REASON_CONTAINER_LAUNCH_FAILED and a message naming the image and the cause.
//
// A task is kept until its container terminated and its status updates are
// all acknowledged (so re-registration can report it).
//
// With Options::checkpoint, each container and its update stream are
// checkpointed (agent/checkpoints.hpp) so that recover() can take them over
// after an agent restart: a container whose executor still runs is adopted
// and its executor asked to `reconnect` (every reconnectInterval until it
// registers; destroyed if it does not within registrationTimeout); one whose
// executor is gone gets the terminal update the executor recorded
// (exit.ckpt), else TASK_FAILED with REASON_EXECUTOR_TERMINATED.
//
// Thread: the agent's loop thread.

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_snapshot.hpp"
#include "agent/checkpoints.hpp"
#include "agent/containerizer.hpp"
#include "agent/dir_remover.hpp"
#include "agent/image_provisioner.hpp"
#include "agent/sandbox_gc.hpp"
#include "agent/start_sockets.hpp"
#include "agent/status_update_manager.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/model.hpp"
#include "common/peer_strikes.hpp"
#include "common/transport.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {

// 8 per CPU. A burst of 1,000 image launches on 2 cores
// (benchmarks/container_bench.cpp) took 9.3-9.9 s to run with 16 starting at
// once and 8.4-14.5 s unbounded: about as fast, and steadier.
size_t defaultMaxStartingContainers();

class TaskSupervisor {
 public:
  struct Options {
    std::string workDir;
    Duration registrationTimeout = seconds(60);  // executor must register within
    Duration killSlack = seconds(10);            // after the grace period, destroy
    // No word from the executor for this long (three of its 5 s heartbeats,
    // Executor::Options): a kill destroys the container without asking it.
    Duration executorSilence = seconds(15);
    Duration reconnectInterval = millis(100);  // recovered executors: reconnect resends
    bool checkpoint = false;                   // under runtimeDir (agent/checkpoints.hpp)
    std::string runtimeDir;                    // per-boot state (agent/paths.hpp); empty: workDir
    // Provisions task images; null when the agent cannot run them (no
    // namespaces isolation). REQUIRES: outlives the supervisor.
    ImageProvisioner* images = nullptr;
    // Containers started but not yet running (their executor has not sent
    // TASK_RUNNING or a terminal update) at most at once; later launches wait
    // their turn in order (still TASK_STAGING). A burst of hundreds of
    // launches then does not start hundreds of executors that compete for
    // the CPU and all start late. 0: no limit.
    size_t maxStarting = 0;
    // Disk limits (like Mesos's disk/du isolator): every diskCheckInterval
    // the sandboxes of running tasks are measured off the loop thread, and
    // a task using more than its `disk` (defaultDiskMb when it asks for
    // none; 0: no limit) is killed with REASON_CONTAINER_LIMITATION_DISK.
    // A zero interval checks nothing.
    Duration diskCheckInterval = seconds(15);
    double defaultDiskMb = 0;
    // A finished task's sandbox is removed (off the loop) this long after
    // the task is forgotten (terminated, all updates acknowledged), sooner
    // as the disk fills (agent/sandbox_gc.hpp), also after a restart. Zero:
    // sandboxes are kept.
    Duration sandboxGcDelay = Duration::zero();
    double gcDiskHeadroom = 0.1;
  };
  struct TaskReport {
    std::string frameworkId;
    TaskInfo task;
    TaskStatus latest;
    std::string sandbox;
  };

  // REQUIRES: every reference outlives the supervisor.
  TaskSupervisor(EventLoop& loop, ServerTransport& executors, Containerizer& containerizer,
                 StatusUpdateManager& updates, AgentCounters& counters, Options options);
  ~TaskSupervisor();
  TaskSupervisor(const TaskSupervisor&) = delete;
  TaskSupervisor& operator=(const TaskSupervisor&) = delete;

  // Runs (loop thread) whenever an executor message or a container changed state.
  void setChangeHandler(std::function<void()> handler) { onChange_ = std::move(handler); }

  void launch(const FrameworkInfo& framework, const TaskInfo& task);
  // Takes over the containers of an earlier run (before the agent registers).
  void recover(const std::vector<RecoveredContainer>& containers);
  // Recovered containers whose executor has not registered again yet.
  size_t awaitingReconnect() const;
  // gracePeriodSec < 0: the task's own. Unknown tasks are ignored.
  void kill(const std::string& frameworkId, const std::string& taskId, double gracePeriodSec);
  void killFramework(const std::string& frameworkId);
  // Kills every task; with `forget`, their later updates are not forwarded.
  void killAll(bool forget);
  // The master acknowledged an update of this task.
  void onAcknowledged(const std::string& frameworkId, const std::string& taskId);

  // Samples the usage (for containerViews()) of at most kUsageSamplesPerRefresh
  // live containers, taking up where the previous call stopped, so that a
  // refresh costs the loop a bounded time however many containers run (a
  // sample reads cgroupfs; 1,000 of them once took longer than the tick
  // that asked for them). The agent calls it once per tick.
  static constexpr size_t kUsageSamplesPerRefresh = 64;
  void refreshUsage();

  std::vector<TaskReport> tasks() const;
  std::vector<ContainerView> containerViews() const;
  size_t liveContainers() const;
  // The task of a container not yet terminated whose resources hold the
  // persistent volume (same role and id); empty when none.
  std::string volumeUser(const PersistentVolume& volume) const;

 private:
  // A container's lifecycle: each record is in exactly one stage, changed
  // only by setStage().
  enum class Stage {
    kProvisioning,  // its image is being pulled; no process yet
    kQueued,        // waits for a starting slot (Options::maxStarting); no process yet
    kStarting,      // its executor runs and holds a starting slot until the task is RUNNING
    kRunning,       // started (or recovered from an earlier agent run)
    kTerminated,    // its executor is gone; kept until its terminal update is acknowledged
  };
  // What else is known of a record is not a stage: where it came from
  // (recovered), whether its executor's link is up (registered), what its
  // update stream holds (terminalSeen), a kill asked for (killGraceSec,
  // killSent) and whether the framework still hears of it (forgotten).
  struct Record {
    std::string containerId;
    std::string frameworkId;
    FrameworkInfo framework;
    TaskInfo task;
    std::string sandbox;
    TaskStatus latest;
    bool recovered = false;  // adopted from an earlier agent run
    Stage stage = Stage::kQueued;
    pid_t executorPid = 0;
    pid_t taskPid = 0;
    // Its executor's proof of identity (executor_identity.hpp); empty for a
    // container recovered from an agent that gave none.
    std::string secret;
    bool registered = false;  // its executor's link is up
    std::optional<ImageRootfs> queuedRootfs;  // while kQueued
    std::string imageId;  // held until the container ends
    bool terminalSeen = false;
    bool forgotten = false;
    std::optional<double> killGraceSec;  // set once a kill was requested
    bool killSent = false;
    TaskReason deathReason = TaskReason::EXECUTOR_TERMINATED;
    TimePoint lastSeen{};
    double started = 0;
    std::optional<EventLoop::TimerId> timer;            // registration timeout or kill escalation
    std::optional<ResourceStatistics> usage;            // last sample; reset when terminated
    std::optional<ContainerLimitation> diskLimitation;  // set when killed for its disk use
  };

  // Starts the container now or queues it behind Options::maxStarting.
  void startContainer(Record& record, std::optional<ImageRootfs> rootfs);
  void launchContainer(Record& record, std::optional<ImageRootfs> rootfs);
  // Moves the record to `stage`, taking or giving back a starting slot.
  // Returns whether it gave one back (the caller then runs startQueued()).
  bool setStage(Record& record, Stage stage);
  // A record that holds a starting slot gives it back (the task is RUNNING
  // or ended) and queued launches start.
  void doneStarting(Record& record);
  void startQueued();
  void provisionImage(Record& record);
  void onProvisioned(const std::string& containerId, Result<images::Image> image);
  void failLaunch(Record& record, TaskState state, TaskReason reason, const std::string& message);
  void releaseImage(Record& record);
  void recoverImage(Record& record);
  // fromStartSocket: a frame from the executor's start socket (only its
  // status updates count; they are acknowledged when the executor resends
  // them on its link).
  // Messages over the link count only from the identity that carries the
  // container's secret; others are refused as `forged`.
  void onExecutorMessage(const std::string& peer, std::string_view protocol,
                         std::string_view payload, bool fromStartSocket = false);
  void onRegister(Record& record, schema::RegisterExecutor::Reader message);
  void onExecutorUpdate(Record& record, schema::TaskStatus::Reader message, bool acknowledge);
  void onContainerTerminated(const std::string& containerId, int waitStatus);
  void sendKill(Record& record);
  void destroy(Record& record);
  void report(Record& record, TaskState state, TaskReason reason, std::string message);
  // Replaces a FAILED status's reason and message with the container's limitation.
  void applyLimitation(const Record& record, TaskStatus& status) const;
  void accept(Record& record, TaskStatus status);
  void sendToExecutor(const Record& record, const std::string& frame);
  void setTimer(Record& record, Duration delay, std::function<void(Record&)> action);
  void maybeForget(std::string containerId);  // by value: callers pass index entries it erases
  void recoverOne(const RecoveredContainer& recovered);
  // The task's terminal update from the executor's exit.ckpt, else TASK_FAILED.
  void reportExecutorGone(Record& record, TaskReason reason, const std::string& message);
  const std::string& runtimeDir() const {
    return options_.runtimeDir.empty() ? options_.workDir : options_.runtimeDir;
  }
  void checkpointContainer(const Record& record);
  void checkpointStream(const Record& record);
  void sendReconnects();
  void reject(const char* reason, const std::string& detail);
  // Measures the sandboxes with a disk limit on a thread of its own (one
  // round at a time); onDiskUsage() gets each result on the loop.
  void checkDisk();
  void onDiskUsage(const std::string& containerId, uint64_t bytes, uint64_t limitBytes);
  double diskLimitMb(const Record& record) const;
  Record* find(const std::string& frameworkId, const std::string& taskId);

  EventLoop& loop_;
  ServerTransport& executors_;
  Containerizer& containerizer_;
  StatusUpdateManager& updates_;
  AgentCounters& counters_;
  // Executor-socket peers turned away for frames that unpack past the limit.
  PeerStrikes strikes_;
  const Options options_;
  std::function<void()> onChange_;
  std::map<std::string, Record> records_;  // by container ID
  StartSockets startSockets_;
  std::map<std::pair<std::string, std::string>, std::string> byTask_;  // (fw, task) -> container
  std::optional<EventLoop::TimerId> reconnectTimer_;
  std::optional<EventLoop::TimerId> diskTimer_;
  bool diskCheckRunning_ = false;
  std::thread diskThread_;  // the last round's walker; joined before the next and at the end
  // Sandboxes of forgotten tasks (Options::sandboxGcDelay); null when kept.
  std::unique_ptr<SandboxGc> sandboxGc_;
  std::string usageCursor_;             // refreshUsage() resumes after this container ID
  size_t starting_ = 0;                 // records in Stage::kStarting
  std::deque<std::string> startQueue_;  // container IDs; stale entries skipped
  // Shared with image callbacks: false once the supervisor is gone.
  LifetimeGuard lifetime_;
};

}  // namespace agora::agent
