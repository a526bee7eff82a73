#include "cli/run_scheduler.hpp"

#include <algorithm>
#include <iostream>

#include "cli/global_options.hpp"
#include "cli/run_options.hpp"
#include "common/duration.hpp"
#include "frameworks/kit/offer_match.hpp"

namespace agora::cli {

namespace {

// Refuse non-fitting offers briefly, so changed resources come back soon.
constexpr double kRefuseUnfitSeconds = 1;
// Once launched, offers are of no use to us.
constexpr double kRefuseAfterLaunchSeconds = 3600;

}  // namespace

int exitCodeOf(const RunOutcome& outcome) {
  switch (outcome.kind) {
    case RunOutcome::Kind::kTaskEnded:
      switch (outcome.status.state) {
        case TaskState::FINISHED:
          return 0;
        case TaskState::FAILED:
          return outcome.status.exitCode.value_or(0) != 0 ? *outcome.status.exitCode : 1;
        case TaskState::KILLED:
          return outcome.interruptSignal != 0 ? 128 + outcome.interruptSignal : 143;
        default:
          return 1;
      }
    case RunOutcome::Kind::kInterrupted:
      return 128 + outcome.interruptSignal;
    case RunOutcome::Kind::kDetached:
      return 0;
    case RunOutcome::Kind::kAborted:
      // The master refused the framework or task: an error like any other
      // refused request, not "could not run" (no master, no offer).
      return kExitError;
    case RunOutcome::Kind::kPending:
    case RunOutcome::Kind::kNoOffer:
      return kExitRunFailed;
  }
  return kExitRunFailed;
}

double offerScore(const Resources& offered, const Resources& wanted) {
  double score = 1;
  for (const auto& name : wanted.scalarNames()) {
    score = std::min(score, offered.scalar(name) / wanted.scalar(name));
  }
  return score;
}

RunScheduler::RunScheduler(TaskInfo task, Duration offerTimeout, std::string masterEndpoint)
    : task_(std::move(task)),
      offerTimeout_(offerTimeout),
      masterEndpoint_(std::move(masterEndpoint)) {}

void RunScheduler::armTimeout(sdk::SchedulerDriver& driver) {
  driver.loop().addTimer(offerTimeout_, [this, &driver] {
    if (launched_ || outcome_.kind != RunOutcome::Kind::kPending) return;
    finish(driver, RunOutcome{RunOutcome::Kind::kNoOffer, {}, explainNoOffer(), 0});
  });
}

std::string RunScheduler::explainNoOffer() const {
  std::string within = " within " + secondsText(toSeconds(offerTimeout_)) + "s";
  if (!subscribed_) {
    return "the master at " + masterEndpoint_ + " did not answer" + within +
           " — is `agora dev` running? (set --scheduler-endpoint / AGORA_SCHEDULER_ENDPOINT)";
  }
  if (offersSeen_ == 0) {
    return "no offers received" + within +
           " — is an agent registered with free resources? (`agora agents`)";
  }
  if (!volumeId_.empty() && !volumeSeen_) {
    return "no offer held persistent volume '" + volumeId_ + "'" + within +
           " — does it exist in the task's role (`agora volume list`), and is no other task "
           "using it?";
  }
  std::string out = "no offer fits " + task_.resources.toString() + within;
  if (bestOffer_) {
    out += "; largest offer seen: " + bestOffer_->resources.toString() + " on agent " +
           bestOffer_->agentId;
    if (!bestOffer_->hostname.empty()) out += " (" + bestOffer_->hostname + ")";
  }
  return out + " — ask for less (--cpus, --mem) or free resources (`agora agents`)";
}

void RunScheduler::subscribed(sdk::SchedulerDriver&, const std::string&) { subscribed_ = true; }

void RunScheduler::offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) {
  std::vector<std::string> unused;
  for (const Offer& offer : offers) {
    offersSeen_++;
    std::optional<TaskInfo> fitted;
    if (!launched_ && outcome_.kind == RunOutcome::Kind::kPending) fitted = fit(offer);
    if (fitted) {
      launched_ = true;
      task_ = std::move(*fitted);
      task_.agentId = offer.agentId;
      driver.launch(offer.id, {task_});
      driver.suppress();
      if (onLaunched) onLaunched(offer);
      continue;
    }
    double score = offerScore(offer.resources, task_.resources);
    if (score > bestScore_) {
      bestScore_ = score;
      bestOffer_ = offer;
    }
    unused.push_back(offer.id);
  }
  if (!unused.empty()) {
    driver.decline(unused, launched_ ? kRefuseAfterLaunchSeconds : kRefuseUnfitSeconds);
  }
}

std::optional<TaskInfo> RunScheduler::fit(const Offer& offer) {
  TaskInfo task = task_;
  Resources volume;
  if (!volumeId_.empty()) {
    bool found = false;
    for (const PersistentVolume& offered : offer.resources.volumeList()) {
      if (offered.disk.id != volumeId_) continue;
      volume = offered.resources;
      found = volumeSeen_ = true;
      break;
    }
    if (!found) return std::nullopt;
  }
  if (!portNames_.empty()) {
    // Ports of the offer in the same reservation as the rest: unreserved.
    auto ports = kit::takeNamedPorts(offer.resources, portNames_);
    if (!ports) return std::nullopt;
    task.resources += ports->resources;
    for (const auto& variable : ports->environment) task.command.environment.push_back(variable);
  }
  // The role's reservation first (it already counts toward its quota).
  auto fitted = kit::fitToOffer(offer.resources, task.resources);
  if (!fitted) return std::nullopt;
  task.resources = std::move(*fitted) + volume;
  if (!offer.resources.contains(task.resources)) return std::nullopt;
  return task;
}

void RunScheduler::update(sdk::SchedulerDriver& driver, const TaskStatus& status) {
  if (status.taskId != task_.taskId || outcome_.kind != RunOutcome::Kind::kPending) return;
  if (detach_ && status.state == TaskState::RUNNING) {
    return finish(driver, RunOutcome{RunOutcome::Kind::kDetached, status, "", 0});
  }
  if (!isTerminal(status.state)) return;
  if (onTerminal) onTerminal(status);
  finish(driver, RunOutcome{RunOutcome::Kind::kTaskEnded, status, "", interruptSignal_});
}

void RunScheduler::error(sdk::SchedulerDriver&, const std::string& message) {
  if (outcome_.kind != RunOutcome::Kind::kPending) return;
  // The driver has already stopped itself.
  outcome_ = RunOutcome{RunOutcome::Kind::kAborted, {}, "the master refused us: " + message, 0};
}

void RunScheduler::disconnected(sdk::SchedulerDriver&) {
  std::cerr << "agora: lost contact with the master at " << masterEndpoint_ << "; reconnecting"
            << std::endl;
}

void RunScheduler::reconnected(sdk::SchedulerDriver& driver) {
  std::cerr << "agora: reconnected to the master" << std::endl;
  // The task may have ended while we were away.
  if (launched_) driver.reconcile({{task_.taskId, task_.agentId}});
}

void RunScheduler::interrupt(sdk::SchedulerDriver& driver, int signal) {
  if (outcome_.kind != RunOutcome::Kind::kPending) return;
  if (launched_ && interruptSignal_ == 0) {
    interruptSignal_ = signal;
    std::cerr << "agora: killing task " << task_.taskId << " (interrupt again to stop waiting)"
              << std::endl;
    driver.kill(task_.taskId, task_.agentId);
    return;
  }
  finish(driver, RunOutcome{RunOutcome::Kind::kInterrupted,
                            {},
                            launched_ ? "stopped waiting for task " + task_.taskId + " to end"
                                      : "interrupted before the task was launched",
                            signal});
}

void RunScheduler::finish(sdk::SchedulerDriver& driver, RunOutcome outcome) {
  outcome_ = std::move(outcome);
  // Tear the framework down: nothing of ours should outlive this command,
  // but a task it was asked to leave running.
  driver.stop(/*failover=*/outcome_.kind == RunOutcome::Kind::kDetached);
}

}  // namespace agora::cli
