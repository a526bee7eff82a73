#include "cli/run_options.hpp"

#include <cmath>
#include <sstream>

#include "cli/arguments.hpp"
#include "common/capabilities.hpp"

namespace agora::cli {

namespace {

const char* kUsage =
    "Usage: agora run [options] -- CMD [ARGS...]\n\n"
    "Runs CMD as one task on the cluster, streams its stdout and stderr here, and exits\n"
    "with its exit code: 0 when FINISHED, the command's code when FAILED (1 if unknown),\n"
    "130/143 when KILLED (by Ctrl-C here / otherwise), 1 for other failures (LOST, ERROR...),\n"
    "125 when it could not run at all (no master, or no offer fit within --timeout).\n"
    "One CMD word runs through /bin/sh -c ('echo $HOME'); several run as an argv.\n"
    "--network none, --hostname, --read-only, --cap-add and --cap-drop need an agent\n"
    "with the namespaces isolation.\n"
    "Ctrl-C kills the task and waits for it to end; a second Ctrl-C stops waiting.";

// "0.1", not boost's "0.10000000000000001".
std::string formatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

Result<RunOptions> parseRunOptions(const std::vector<std::string>& args, GlobalOptions& global) {
  auto [flags, command] = splitAtDoubleDash(args);
  RunOptions out;
  po::options_description options("Options");
  options.add_options()("cpus", po::value<double>(&out.cpus)->default_value(out.cpus, formatNumber(out.cpus)),
                        "CPUs for the task")(
      "mem", po::value<double>(&out.memMb)->default_value(out.memMb, formatNumber(out.memMb)), "memory for the task, MB")(
      "name", po::value<std::string>(&out.name)->default_value(out.name), "task name")(
      "role", po::value<std::string>(&out.role), "role to subscribe with")(
      "timeout", po::value<double>(&out.timeoutSec)->default_value(out.timeoutSec, formatNumber(out.timeoutSec)),
      "seconds to wait for an offer that fits")(
      "env", po::value<std::vector<std::string>>()->composing(),
      "K=V environment variable for the task (repeatable)")(
      "network", po::value<std::string>()->default_value("host"),
      "host, or none for a network namespace with only loopback")(
      "hostname", po::value<std::string>(&out.container.hostname),
      "the task's hostname (default: its container ID)")(
      "read-only", po::bool_switch(&out.container.readOnlyRootfs),
      "read-only root filesystem (the sandbox, /tmp and /dev stay writable)")(
      "cap-add", po::value<std::vector<std::string>>(&out.container.capAdd)->composing(),
      "add a capability to the default set, e.g. NET_ADMIN or ALL (repeatable)")(
      "cap-drop", po::value<std::vector<std::string>>(&out.container.capDrop)->composing(),
      "drop a capability from the default set, e.g. CHOWN or ALL (repeatable)")(
      "cmd", po::value<std::vector<std::string>>(), "the command (after --)");
  po::positional_options_description positional;
  positional.add("cmd", -1);
  auto parsed = parseArgs(kUsage, flags, options, global, &positional, /*withScheduler=*/true);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) {
    out.help = true;
    return out;
  }
  if (parsed->vm.count("cmd")) {
    auto words = parsed->vm["cmd"].as<std::vector<std::string>>();
    command.insert(command.begin(), words.begin(), words.end());
  }
  out.command = std::move(command);
  if (out.command.empty() || out.command[0].empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "run needs a command: agora run -- CMD [ARGS...]");
  }
  if (parsed->vm.count("env")) {
    for (const auto& kv : parsed->vm["env"].as<std::vector<std::string>>()) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return makeError(ErrorCode::kInvalidArgument, "--env '" + kv + "' is not K=V");
      }
      out.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  std::string network = parsed->vm["network"].as<std::string>();
  if (network != "host" && network != "none") {
    return makeError(ErrorCode::kInvalidArgument, "--network '" + network + "' is not host or none");
  }
  out.container.networkMode = *parseNetworkMode(network);
  if (parsed->vm.count("hostname")) {
    if (Status s = validateHostname(out.container.hostname); !s) {
      return makeError(s.error().withContext("--hostname"));
    }
  }
  for (const auto& [flag, names] : {std::pair{"--cap-add", &out.container.capAdd},
                                     std::pair{"--cap-drop", &out.container.capDrop}}) {
    for (const auto& name : *names) {
      if (name == kAllCapabilities) continue;
      if (auto cap = parseCapability(name); !cap) return makeError(cap.error().withContext(flag));
    }
  }
  if (Status s = validateContainerSecurity(out.container); !s) return makeError(s.error());
  if (!(out.cpus > 0) || !(out.memMb > 0)) {
    return makeError(ErrorCode::kInvalidArgument, "--cpus and --mem must be positive");
  }
  if (!(out.timeoutSec > 0) || !std::isfinite(out.timeoutSec)) {
    return makeError(ErrorCode::kInvalidArgument, "--timeout must be a positive number of seconds");
  }
  return out;
}

Result<TaskInfo> buildTask(const RunOptions& options, const std::string& taskId) {
  TaskInfo task;
  task.taskId = taskId;
  task.name = options.name;
  if (auto st = task.resources.setScalar("cpus", options.cpus); !st) return makeError(st.error());
  if (auto st = task.resources.setScalar("mem", options.memMb); !st) return makeError(st.error());
  if (options.command.size() == 1) {
    task.command.shell = true;
    task.command.value = options.command[0];
  } else {
    task.command.shell = false;
    task.command.value = options.command[0];
    task.command.arguments = options.command;
  }
  task.command.environment = options.env;
  task.container = options.container;
  task.command.environment.emplace_back("AGORA_TASK_ID", taskId);
  return task;
}

}  // namespace agora::cli
