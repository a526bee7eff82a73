#pragma once
// Deployments: how an app goes from one version to another without dropping
// below its healthy floor, and how it comes back when the new version does
// not work. Pure logic on the instances' current state (unit- and
// property-tested); the ServiceFramework feeds it and carries out its steps.
//
// An instance is OK when it runs, its health check (if any) passed and its
// readiness check (if any) passed. With N = the target's instances:
//
//   floor  = ceil(N x min_health): OK instances (old and new) never drop
//            below it through a kill of ours;
//   ceiling = N + max_surge: live instances (starting, running, being
//            killed) never exceed it through a launch of ours.
//
// Each step kills old instances that are not OK (they serve nobody), then
// OK old ones while the OK count stays at or above the floor, and launches
// new ones up to N within the ceiling. It succeeds when N new instances are
// OK and no old one is left. With a canary, `canary.instances` new
// instances start first beside all the old ones (above the ceiling if the
// old ones fill it: canaries are extra); once they are OK the
// deployment waits for a promotion (by hand, or `auto_promote_after` of
// them staying OK), then rolls.
//
// It never hangs: it is rolled back when more than `max_failures` new
// instances failed (exit, launch failure, failed health check), when no
// new instance became OK for `progress_deadline`, or when canaries stayed
// unpromoted for `promote_deadline`. A rollback is a deployment back to the
// previous version that does not roll back itself (it fails instead); a
// first deployment (no previous version) fails. Applying another version
// supersedes a running deployment: the next one starts from whatever runs.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "frameworks/service/app_spec.hpp"

namespace agora::service {

struct Instance {
  std::string taskId;
  bool current = false;  // runs the deployment's target (its launch-relevant spec)
  bool live = true;      // starting or running, not being killed
  bool ok = false;       // running, healthy and ready
  double startedAt = 0;  // when it was launched (wall s): newest are killed first
};

struct Deployment {
  enum class Outcome { kRunning, kSucceeded, kRolledBack, kFailed, kSuperseded };

  uint64_t id = 0;  // per framework, increasing
  std::string app;
  int64_t from = 0;       // the version replaced; 0 for a new app
  int64_t to = 0;         // the target version
  bool rollback = false;  // going back after a failed deployment (or by hand)
  bool canary = false;    // starts with canaries
  bool promoted = false;  // the canaries were promoted (or there are none)
  Outcome outcome = Outcome::kRunning;
  std::string status;        // what it does or waits for, or why it ended
  int64_t failures = 0;      // new instances that failed
  std::string lastFailure;   // the latest failure's message
  int64_t bestOk = 0;        // the most new instances OK at once
  double started = 0;        // wall seconds
  double lastProgress = 0;   // when bestOk last grew (or a wait began)
  double canaryOkSince = 0;  // when all canaries became OK; 0 while they are not
  double ended = 0;

  bool running() const { return outcome == Outcome::kRunning; }
};

const char* outcomeName(Deployment::Outcome outcome);  // "running", "succeeded", ...

// What to do now.
struct DeploymentStep {
  int launch = 0;                 // new instances to start
  std::vector<std::string> kill;  // instances to kill
};

// What advance() and launchesNow() count of the instances.
struct InstanceCounts {
  int64_t newLive = 0, newOk = 0, oldLive = 0, oldOk = 0;
  int64_t dying = 0, oldDying = 0;  // being killed (all, and of them old ones)
  int64_t running = 0;              // live and TASK_RUNNING (what add() is not told)
  void add(const Instance& i);
};

// The launches the deployment's current phase wants given the counts (what
// advance() would say, without advancing it): for a framework asked often.
int launchesNow(const Deployment& deployment, const AppSpec& target, const InstanceCounts& counts);

// Floor and ceiling for `target` (see above).
int64_t healthyFloor(const AppSpec& target);
int64_t liveCeiling(const AppSpec& target);

// Advances `deployment` at wall time `now` given the app's instances, and
// says what to do. Ends it (outcome, ended, status) when it succeeded or
// must be rolled back. Instances being killed are passed with live=false:
// they count against the ceiling until they are gone.
DeploymentStep advance(Deployment& deployment, const AppSpec& target,
                       const std::vector<Instance>& instances, double now);

// A new instance failed: counted (it may end the deployment at the next
// advance()).
void recordFailure(Deployment& deployment, const std::string& message);

// Promotes the canaries; kFailedPrecondition when there are none waiting.
Status promote(Deployment& deployment);

// Persistence: JSON.
std::string encodeDeployment(const Deployment& deployment);
Result<Deployment> decodeDeployment(const std::string& text);
nlohmann::json deploymentJson(const Deployment& deployment);

}  // namespace agora::service
