#include "frameworks/service/deployment.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/duration.hpp"

namespace agora::service {

using Outcome = Deployment::Outcome;

const char* outcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kRunning:
      return "running";
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kRolledBack:
      return "rolled_back";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kSuperseded:
      return "superseded";
  }
  return "unknown";
}

int64_t healthyFloor(const AppSpec& target) {
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(target.instances) * target.upgrade.minHealth - 1e-9));
}

int64_t liveCeiling(const AppSpec& target) { return target.instances + target.upgrade.maxSurge; }

namespace {

// Ends the deployment because the new version does not work: rolled back,
// or failed when it may not roll back (a rollback itself, a first
// deployment, auto_rollback off).
void giveUp(Deployment& d, const AppSpec& target, const std::string& why, double now) {
  bool canRollBack = !d.rollback && d.from > 0 && target.upgrade.autoRollback;
  d.outcome = canRollBack ? Outcome::kRolledBack : Outcome::kFailed;
  d.status = why;
  d.ended = now;
}

// Kills up to `wanted` of `candidates`: every one that is not OK first, then
// the newest OK ones while `ok` stays at or above `floor` (`ok` counts down).
// Selects without sorting them all: a deployment steps at every update.
void killLeastUseful(std::vector<const Instance*>& candidates, int64_t wanted, int64_t floor,
                     int64_t& ok, std::vector<std::string>& kill) {
  auto okBegin = std::stable_partition(candidates.begin(), candidates.end(),
                                       [](const Instance* i) { return !i->ok; });
  for (auto it = candidates.begin(); it != okBegin && wanted > 0; ++it, --wanted) {
    kill.push_back((*it)->taskId);
  }
  int64_t room = std::min(wanted, ok - floor);
  int64_t okCount = candidates.end() - okBegin;
  if (room <= 0 || okCount == 0) return;
  room = std::min(room, okCount);
  auto newest = [](const Instance* a, const Instance* b) { return a->startedAt > b->startedAt; };
  std::nth_element(okBegin, okBegin + (room - 1), candidates.end(), newest);
  for (auto it = okBegin; it != okBegin + room; ++it) kill.push_back((*it)->taskId);
  ok -= room;
}

std::string count(int64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

void InstanceCounts::add(const Instance& i) {
  if (!i.live) {
    ++dying;
    oldDying += !i.current;
  } else if (i.current) {
    ++newLive;
    newOk += i.ok;
  } else {
    ++oldLive;
    oldOk += i.ok;
  }
}

int launchesNow(const Deployment& d, const AppSpec& target, const InstanceCounts& c) {
  if (!d.running()) return 0;
  const int64_t n = target.instances;
  if (d.canary && !d.promoted) {
    int64_t canaries = std::min<int64_t>(target.canary ? target.canary->instances : 1, n);
    return c.newOk >= canaries ? 0 : static_cast<int>(std::max<int64_t>(0, canaries - c.newLive));
  }
  // Within the ceiling: what is being killed still counts.
  int64_t room = liveCeiling(target) - (c.newLive + c.oldLive + c.dying);
  return static_cast<int>(std::max<int64_t>(0, std::min(n - c.newLive, room)));
}

DeploymentStep advance(Deployment& d, const AppSpec& target, const std::vector<Instance>& instances,
                       double now) {
  DeploymentStep step;
  if (!d.running()) return step;
  const int64_t n = target.instances;
  InstanceCounts counts;
  std::vector<const Instance*> olds, news;
  for (const Instance& i : instances) {
    counts.add(i);
    if (i.live) (i.current ? news : olds).push_back(&i);
  }
  const int64_t newLive = counts.newLive, newOk = counts.newOk, oldLive = counts.oldLive,
                oldOk = counts.oldOk, oldDying = counts.oldDying;
  if (newOk > d.bestOk) {
    d.bestOk = newOk;
    d.lastProgress = now;
  }
  const Upgrade& upgrade = target.upgrade;
  auto stop = [&](const std::string& why) {
    giveUp(d, target, why, now);
    return step;
  };
  if (d.failures > upgrade.maxFailures) {
    return stop(count(d.failures, "new instance") + " failed (at most " +
                std::to_string(upgrade.maxFailures) + " may): " + d.lastFailure);
  }
  // Canaries first, beside every old instance.
  if (d.canary && !d.promoted) {
    int64_t canaries = std::min<int64_t>(target.canary ? target.canary->instances : 1, n);
    if (newOk >= canaries) {
      if (d.canaryOkSince == 0) d.canaryOkSince = now;
      d.lastProgress = now;  // waiting for a promotion is not stalling
      const Canary* c = target.canary ? &*target.canary : nullptr;
      double okFor = now - d.canaryOkSince;
      if (c != nullptr && c->autoPromoteAfter && okFor >= toSeconds(*c->autoPromoteAfter)) {
        d.promoted = true;
      } else if (c != nullptr && okFor >= toSeconds(c->promoteDeadline)) {
        return stop("canaries not promoted within " + formatDuration(c->promoteDeadline));
      } else {
        d.status = count(canaries, "canary") + " healthy; waiting for promotion";
        if (c != nullptr && c->autoPromoteAfter) {
          d.status += " (automatic after " + formatDuration(*c->autoPromoteAfter) + ")";
        }
        return step;
      }
    } else {
      d.canaryOkSince = 0;
      if (now - d.lastProgress >= toSeconds(upgrade.progressDeadline)) {
        return stop("no canary became healthy for " + formatDuration(upgrade.progressDeadline) +
                    " (" + std::to_string(newOk) + " of " + std::to_string(canaries) + ")");
      }
      step.launch = launchesNow(d, target, counts);
      d.status =
          "canaries: " + std::to_string(newOk) + " of " + std::to_string(canaries) + " healthy";
      return step;
    }
  }
  if (now - d.lastProgress >= toSeconds(upgrade.progressDeadline) && newOk < n) {
    return stop("no progress for " + formatDuration(upgrade.progressDeadline) + " (" +
                std::to_string(newOk) + " of " + std::to_string(n) + " new instances healthy)");
  }
  // Old instances: those serving nobody, then the newest OK ones while the
  // floor allows. New ones beyond the target (scaled down meanwhile) the
  // same way.
  const int64_t floor = healthyFloor(target);
  int64_t ok = newOk + oldOk;
  killLeastUseful(olds, static_cast<int64_t>(olds.size()), floor, ok, step.kill);
  if (newLive > n) killLeastUseful(news, newLive - n, floor, ok, step.kill);
  step.launch = launchesNow(d, target, counts);
  if (newOk >= n && newLive == n && oldLive == 0 && oldDying == 0) {
    d.outcome = Outcome::kSucceeded;
    d.status = std::to_string(n) + " of " + std::to_string(n) + " instances healthy";
    d.ended = now;
    return step;
  }
  d.status = "rolling: " + std::to_string(newOk) + " of " + std::to_string(n) + " new healthy, " +
             count(oldLive + oldDying, "old instance") + " left";
  return step;
}

void recordFailure(Deployment& deployment, const std::string& message) {
  ++deployment.failures;
  deployment.lastFailure = message;
}

Status promote(Deployment& deployment) {
  if (!deployment.running() || !deployment.canary || deployment.promoted) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "deployment " + std::to_string(deployment.id) + " has no canaries to promote");
  }
  deployment.promoted = true;
  return {};
}

nlohmann::json deploymentJson(const Deployment& d) {
  nlohmann::json out = {{"id", d.id},
                        {"app", d.app},
                        {"from_version", d.from},
                        {"to_version", d.to},
                        {"rollback", d.rollback},
                        {"canary", d.canary},
                        {"promoted", d.promoted},
                        {"outcome", outcomeName(d.outcome)},
                        {"status", d.status},
                        {"failures", d.failures},
                        {"last_failure", d.lastFailure},
                        {"best_healthy", d.bestOk},
                        {"started", d.started},
                        {"last_progress", d.lastProgress},
                        {"canary_healthy_since", d.canaryOkSince},
                        {"ended", d.ended}};
  return out;
}

std::string encodeDeployment(const Deployment& d) {
  return deploymentJson(d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Deployment> decodeDeployment(const std::string& text) {
  nlohmann::json in = nlohmann::json::parse(text, nullptr, false);
  if (!in.is_object()) return makeError(ErrorCode::kProtocol, "deployment: not a JSON object");
  Deployment d;
  try {
    d.id = in.at("id").get<uint64_t>();
    d.app = in.at("app").get<std::string>();
    d.from = in.at("from_version").get<int64_t>();
    d.to = in.at("to_version").get<int64_t>();
    d.rollback = in.at("rollback").get<bool>();
    d.canary = in.at("canary").get<bool>();
    d.promoted = in.at("promoted").get<bool>();
    std::string outcome = in.at("outcome").get<std::string>();
    bool known = false;
    for (Outcome o : {Outcome::kRunning, Outcome::kSucceeded, Outcome::kRolledBack,
                      Outcome::kFailed, Outcome::kSuperseded}) {
      if (outcome == outcomeName(o)) d.outcome = o, known = true;
    }
    if (!known) return makeError(ErrorCode::kProtocol, "deployment: unknown outcome " + outcome);
    d.status = in.at("status").get<std::string>();
    d.failures = in.at("failures").get<int64_t>();
    d.lastFailure = in.at("last_failure").get<std::string>();
    d.bestOk = in.at("best_healthy").get<int64_t>();
    d.started = in.at("started").get<double>();
    d.lastProgress = in.at("last_progress").get<double>();
    d.canaryOkSince = in.at("canary_healthy_since").get<double>();
    d.ended = in.at("ended").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return makeError(ErrorCode::kProtocol, std::string("deployment: ") + e.what());
  }
  return d;
}

}  // namespace agora::service
