#include "cli/run_command.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/output_streamer.hpp"
#include "cli/role_explain.hpp"
#include "cli/run_endpoint.hpp"
#include "cli/run_explain.hpp"
#include "cli/run_options.hpp"
#include "cli/run_scheduler.hpp"
#include "common/client_config.hpp"
#include "common/duration.hpp"
#include "common/transport.hpp"

namespace agora::cli {

namespace {

std::string currentUser() {
  const char* user = getenv("USER");
  return user != nullptr && *user != '\0' ? user : "root";
}

void reportFailure(const RunOutcome& outcome) {
  if (outcome.kind != RunOutcome::Kind::kTaskEnded) {
    if (!outcome.message.empty()) std::cerr << "agora: " << outcome.message << std::endl;
    return;
  }
  const TaskStatus& s = outcome.status;
  if (s.state == TaskState::FINISHED) return;
  std::cerr << "agora: task " << s.taskId << " " << taskStateName(s.state) << " ("
            << taskReasonName(s.reason) << ")";
  if (!s.message.empty()) std::cerr << ": " << s.message;
  std::cerr << std::endl;
}

// The no-offer message for a task in a role, with what the master's roles
// view says about that role (quota limits, offers). Without the view (master
// unreachable over HTTP) the generic message stands.
std::string explainRoleNoOffer(const std::string& generic, const RunOptions& options,
                               const TaskInfo& task, const RunScheduler& scheduler,
                               const GlobalOptions& global) {
  auto roles = MasterClient(global.master).getJson("/api/v1/roles");
  if (!roles) return generic + " (role " + options.role + ": " + roles.error().message + ")";
  std::optional<Resources> largest;
  if (scheduler.bestOffer()) largest = scheduler.bestOffer()->resources;
  RoleExplanation why = explainRole(*roles, options.role, task.resources, largest);
  // Without any offer the generic message says what to check first.
  if (!why.quotaBlocks && !largest) return generic + "; " + why.text;
  std::ostringstream out;
  out << "no offer fits " << task.resources.toString() << " within " << formatDuration(options.timeout)
      << ": " << why.text;
  if (why.quotaBlocks) {
    out << " — ask for less or raise the limit (`agora quota set " << options.role
        << " --limit ...`)";
  } else {
    out << " — ask for less (--cpus, --mem) or free resources (`agora roles`, `agora agents`)";
  }
  return out.str();
}

// Why no offer fitted, in the terms of what was asked: a constraint no agent
// meets (constrained frameworks are offered only matching agents), the
// role's quota and offers, or the scheduler's own account.
std::string explainNoOffer(const std::string& generic, const RunOptions& options,
                           const TaskInfo& task, const RunScheduler& scheduler,
                           const GlobalOptions& global) {
  if (!scheduler.bestOffer() && !options.constraints.empty()) {
    if (auto agents = MasterClient(global.master).getJson("/api/v1/agents")) {
      if (auto why = explainConstraints(*agents, options.constraints)) {
        return *why + " — check --constraint against `agora agents`";
      }
    }
  }
  if (!options.role.empty()) return explainRoleNoOffer(generic, options, task, scheduler, global);
  return generic;
}

// --volume-id: the volume's role (the framework subscribes in it) and path,
// from the master's agents view. Errors name the volume.
Status resolveVolume(RunOptions& options, const GlobalOptions& global) {
  auto agents = MasterClient(global.master).getJson("/api/v1/agents");
  if (!agents) return makeError(agents.error().withContext("--volume-id"));
  for (const auto& agent : (*agents)["agents"]) {
    if (!agent.is_object() || !agent.contains("volumes")) continue;
    for (const auto& v : agent["volumes"]) {
      if (!v.is_object() || v.value("id", "") != options.volumeId) continue;
      std::string role = v.value("role", ""), path = v.value("container_path", "");
      if (!options.volumePath.empty() && options.volumePath != path) {
        return makeError(ErrorCode::kInvalidArgument,
                         "--volume-id: volume '" + options.volumeId + "' mounts at '" + path +
                             "' (set when it was created), not '" + options.volumePath + "'");
      }
      if (options.role.empty()) options.role = role;
      if (options.role != role) {
        return makeError(ErrorCode::kInvalidArgument,
                         "--volume-id: volume '" + options.volumeId + "' belongs to role '" +
                             role + "', not --role '" + options.role + "'");
      }
      return {};
    }
  }
  return makeError(ErrorCode::kNotFound, "--volume-id: no agent has a volume '" +
                                             options.volumeId + "' (`agora volume list`)");
}

}  // namespace

int runCommand(const std::vector<std::string>& args, GlobalOptions global) {
  auto options = parseRunOptions(args, global);
  if (!options) return fail(options.error());
  std::optional<CurveClientKeys> curve;
  if (options->curveKey.empty() && options->masterPublicKey.empty()) {
    options->curveKey = global.curveKey;  // from the client configuration
    options->masterPublicKey = global.masterPublicKey;
  }
  auto curveKeys = loadCurveClientKeys(options->curveKey, options->masterPublicKey);
  if (!curveKeys) return fail(curveKeys.error());
  curve = *curveKeys;
  if (options->help) return 0;
  if (!options->volumeId.empty()) {
    if (Status s = resolveVolume(*options, global); !s) return fail(s.error());
  }
  std::string taskId = "run-" + hexEncode(randomUuidBytes().substr(0, 6));
  auto task = buildTask(*options, taskId);
  if (!task) return fail(task.error());

  // Signals are read from a signalfd on the driver's loop; block them in every
  // thread (threads inherit the mask) before any is created.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int signalFd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signalFd < 0) return fail(errnoError("signalfd", errno));

  auto found = findSchedulerEndpoint(global);
  if (!found) {
    close(signalFd);
    std::cerr << "agora: " << found.error().message << std::endl;
    return kExitRunFailed;
  }
  std::string endpoint = *found;
  RunScheduler scheduler(*task, options->timeout, endpoint);
  scheduler.requirePorts(options->portNames);
  if (!options->volumeId.empty()) scheduler.requireVolume(options->volumeId);
  if (options->detach) scheduler.detachOnceRunning();
  OutputStreamer streamer(MasterClient(global.master), taskId);
  scheduler.onLaunched = [&](const Offer& offer) {
    std::cerr << "agora: launched task " << taskId << " on agent " << offer.agentId
              << (offer.hostname.empty() ? "" : " (" + offer.hostname + ")") << std::endl;
    streamer.launched(offer.agentUrl);
  };
  scheduler.onTerminal = [&](const TaskStatus&) { streamer.finish(); };

  sdk::DriverOptions driverOptions;
  driverOptions.masterEndpoint = endpoint;
  driverOptions.framework.name = "agora-run";
  driverOptions.framework.user = currentUser();
  if (!options->role.empty()) driverOptions.framework.roles = {options->role};
  driverOptions.framework.offerConstraints = options->constraints;
  // A detached task outlives this command with its framework; `agora kill` ends it.
  if (options->detach) driverOptions.framework.failoverTimeoutSec = kDetachFailoverTimeoutSec;
  driverOptions.curve = curve;
  auto driver = sdk::SchedulerDriver::create(scheduler, driverOptions);
  if (!driver) {
    close(signalFd);
    std::cerr << "agora: " << driver.error().message << std::endl;
    return kExitRunFailed;
  }
  sdk::SchedulerDriver& d = **driver;
  d.loop().post([&] {
    scheduler.armTimeout(d);
    d.loop().addFd(signalFd, [&] {
      signalfd_siginfo info;
      while (read(signalFd, &info, sizeof(info)) == sizeof(info)) {
        scheduler.interrupt(d, static_cast<int>(info.ssi_signo));
      }
    });
  });
  Status status = d.run();
  d.loop().removeFd(signalFd);  // the loop thread has exited
  close(signalFd);
  streamer.finish();
  streamer.join();

  const RunOutcome& outcome = scheduler.outcome();
  if (outcome.kind == RunOutcome::Kind::kDetached) {
    std::cerr << "agora: task " << taskId << " is running, detached (framework "
              << d.frameworkId() << ")\n"
              << "  follow it: agora logs -f " << taskId << "\n"
              << "  end it:    agora kill " << taskId << std::endl;
    return 0;
  }
  if (!status && outcome.kind == RunOutcome::Kind::kPending) {
    std::cerr << "agora: " << status.error().message << std::endl;
    return kExitRunFailed;
  }
  if (outcome.kind == RunOutcome::Kind::kNoOffer) {
    RunOutcome explained = outcome;
    explained.message = explainNoOffer(outcome.message, *options, *task, scheduler, global);
    reportFailure(explained);
    return exitCodeOf(explained);
  }
  reportFailure(outcome);
  return exitCodeOf(outcome);
}

}  // namespace agora::cli
