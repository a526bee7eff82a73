#pragma once
// The framework behind `agora run`: waits for an offer that fits one task,
// launches it, follows it to a terminal state and stops the driver. If no
// offer fits within the timeout it gives up with a reason a person can act
// on. All methods run on the driver's loop thread.

#include <functional>
#include <optional>
#include <string>

#include "frameworks/sdk/scheduler_driver.hpp"

namespace agora::cli {

struct RunOutcome {
  enum class Kind { kPending, kTaskEnded, kNoOffer, kAborted, kInterrupted, kDetached };
  Kind kind = Kind::kPending;
  TaskStatus status;        // kTaskEnded: the terminal update
  std::string message;      // otherwise: why, for a person
  int interruptSignal = 0;  // the signal that asked for a kill, if any
};

// FINISHED -> 0; FAILED -> its exit code (1 if none); KILLED -> 128 + the
// interrupting signal (143 when killed by someone else); other terminal states
// -> 1; refused by the master (aborted) -> 1; no offer -> kExitRunFailed;
// interrupted before launch -> 128+sig; detached (left running) -> 0.
int exitCodeOf(const RunOutcome& outcome);

// How close an offer comes to `wanted`: the smallest share of each wanted
// scalar it provides (1 = fits those scalars).
double offerScore(const Resources& offered, const Resources& wanted);

class RunScheduler final : public sdk::Scheduler {
 public:
  // Called once the task is launched (with the offer it used) and once it is terminal.
  std::function<void(const Offer&)> onLaunched;
  std::function<void(const TaskStatus&)> onTerminal;

  RunScheduler(TaskInfo task, Duration offerTimeout, std::string masterEndpoint);

  // What the task needs from an offer besides its resources, set before the
  // driver starts: one port per name (added to its resources and given to it
  // as $PORT_NAME), and the persistent volume `volumeId` (its resources added).
  void requirePorts(std::vector<std::string> names) { portNames_ = std::move(names); }
  void requireVolume(std::string volumeId) { volumeId_ = std::move(volumeId); }
  // Once the task runs, stop without tearing the framework down (the task
  // keeps running until killed) and end with kDetached.
  void detachOnceRunning() { detach_ = true; }

  // Arms the offer timeout. Call on the loop thread when the driver starts.
  void armTimeout(sdk::SchedulerDriver& driver);
  // Ctrl-C: kills the launched task (the outcome follows its KILLED update);
  // before launch, or on a second call, gives up at once.
  void interrupt(sdk::SchedulerDriver& driver, int signal);

  void offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) override;
  void update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;
  void error(sdk::SchedulerDriver& driver, const std::string& message) override;
  void disconnected(sdk::SchedulerDriver& driver) override;
  void reconnected(sdk::SchedulerDriver& driver) override;
  void subscribed(sdk::SchedulerDriver& driver, const std::string& frameworkId) override;

  const RunOutcome& outcome() const { return outcome_; }
  const TaskInfo& task() const { return task_; }
  // Why no offer fitted (what was asked, what the best offer had).
  std::string explainNoOffer() const;
  // The offer that came closest to fitting, if any was seen.
  const std::optional<Offer>& bestOffer() const { return bestOffer_; }

 private:
  void finish(sdk::SchedulerDriver& driver, RunOutcome outcome);
  // task_ completed for `offer` (ports chosen, volume added); nullopt when
  // the offer cannot take it.
  std::optional<TaskInfo> fit(const Offer& offer);

  TaskInfo task_;
  Duration offerTimeout_;
  std::string masterEndpoint_;
  bool subscribed_ = false;
  bool launched_ = false;
  int offersSeen_ = 0;
  std::optional<Offer> bestOffer_;
  double bestScore_ = -1;
  int interruptSignal_ = 0;
  RunOutcome outcome_;
  std::vector<std::string> portNames_;
  std::string volumeId_;
  bool volumeSeen_ = false;  // some offer held volumeId_
  bool detach_ = false;
};

}  // namespace agora::cli
