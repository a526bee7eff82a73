#pragma once
// The command executor: one per container. Runs the task from its LaunchSpec,
// reports TASK_STARTING, TASK_RUNNING and a terminal state to the agent
// reliably (each update sent at once; the unacknowledged ones resent in order
// after a tick, then after 2, 4... up to 16 ticks until acked: the agent
// drops duplicates), kills the task
// on request (SIGTERM to its process group, SIGKILL after the grace period),
// heartbeats (Options::heartbeatInterval), and finishes once its terminal
// update is acknowledged.
// It runs the task's health and readiness checks (task_checks.hpp) while the
// task runs and reports each change of verdict in a TASK_RUNNING update
// (reason HEALTH_CHECK_UPDATED / READINESS_CHECK_UPDATED); every later
// update, the terminal one too, carries the latest verdicts. Checks stop
// when the task is being killed or has exited.
// It outlives an agent restart: the task keeps running, updates queue up, and
// when the restarted agent sends `reconnect` the executor registers again and
// resends its unacknowledged updates at once (resync()).
//
// Thread: everything runs on the loop thread.

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "agent/executor/launch_spec.hpp"
#include "agent/executor/task_checks.hpp"
#include "agent/executor/task_runner.hpp"
#include "common/event_loop.hpp"
#include "common/model.hpp"
#include "common/transport.hpp"

namespace agora::agent {

class Executor {
 public:
  struct Options {
    // Resends and the agent timeout are checked every tick while updates
    // are unacknowledged; an executor with nothing pending only heartbeats
    // (an agent with 1,000 containers hears 200 heartbeats a second, not
    // 1,000). The agent's TaskSupervisor::Options::executorSilence allows
    // three missed heartbeats.
    Duration tickInterval = seconds(1);       // resend period while updates are pending
    Duration heartbeatInterval = seconds(5);
    Duration agentTimeout = seconds(600);  // give up on an unacked terminal update
    // Where the terminal update is recorded (task_exit.hpp) before it is sent;
    // empty: not recorded.
    std::string exitFile;
    // Makes the prober for the task's checks once it started as `taskPid`;
    // unset: tasks with checks fail at start.
    std::function<std::unique_ptr<Prober>(pid_t taskPid)> prober;
  };
  // exitCode 0: terminal update acknowledged; 1: gave up waiting for the agent.
  using DoneHandler = std::function<void(int exitCode)>;

  // REQUIRES: loop, transport and runner outlive the executor.
  Executor(EventLoop& loop, ClientTransport& agent, TaskRunner& runner, LaunchSpec spec,
           Options options, DoneHandler onDone);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Registers with the agent and starts the task.
  void start();
  // Registers again and resends every unacknowledged update at once: when the
  // restarted agent asks (`reconnect`), or once the real link replaced the
  // start socket (start_link.hpp).
  void resync();

  pid_t taskPid() const { return taskPid_; }
  size_t pendingUpdates() const { return pending_.size(); }
  uint64_t rejectedMessages() const { return rejected_; }
  std::optional<bool> healthy() const { return healthy_; }
  std::optional<bool> ready() const { return ready_; }

 private:
  void onMessage(std::string_view protocol, std::string_view payload);
  void sendRegister();
  TaskStatus makeStatus(TaskState state, TaskReason reason, std::string message,
                        std::optional<int> exitCode = std::nullopt);
  void enqueue(TaskState state, TaskReason reason, std::string message);
  void push(TaskStatus status);
  void send(const TaskStatus& status);
  void resendAll();
  void onAck(std::string_view uuid);
  void onTick();
  void sendHeartbeat();
  // The tick runs only while updates wait for their acknowledgement.
  void armTick();
  void disarmTick();
  void onTaskExited(int waitStatus);
  void kill(double gracePeriodSec);
  void escalate();
  void startChecks();
  void stopChecks();
  void onVerdict(bool health, bool verdict, const std::string& message);

  EventLoop& loop_;
  ClientTransport& agent_;
  TaskRunner& runner_;
  const LaunchSpec spec_;
  const Options options_;
  DoneHandler onDone_;

  pid_t taskPid_ = 0;
  bool taskExited_ = false;
  bool killing_ = false;
  bool done_ = false;
  TimePoint killDeadline_{};
  std::optional<EventLoop::TimerId> escalation_;
  std::optional<EventLoop::TimerId> tick_;
  EventLoop::TimerId heartbeat_ = 0;
  std::deque<TaskStatus> pending_;  // unacknowledged, oldest first
  TimePoint oldestSentAt_{};
  static constexpr int kMaxResendBackoff = 16;  // ticks
  Duration resendAfter_{};
  TimePoint lastAgentContact_{};
  uint64_t rejected_ = 0;
  std::optional<bool> healthy_;
  std::optional<bool> ready_;
  std::unique_ptr<Prober> prober_;  // before the checks, which use it
  std::unique_ptr<TaskCheck> healthCheck_;
  std::unique_ptr<TaskCheck> readinessCheck_;
};

}  // namespace agora::agent
