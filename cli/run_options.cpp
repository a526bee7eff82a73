#include "cli/run_options.hpp"

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "cli/arguments.hpp"
#include "common/capabilities.hpp"
#include "common/duration.hpp"

namespace agora::cli {

namespace {

const char* kUsage =
    "Usage: agora run [options] -- CMD [ARGS...]\n"
    "       agora run --image REF [options] [-- CMD [ARGS...]]\n\n"
    "Runs CMD as one task on the cluster, streams its stdout and stderr here, and exits\n"
    "with its exit code: 0 when FINISHED, the command's code when FAILED (1 if unknown),\n"
    "130/143 when KILLED (by Ctrl-C here / otherwise), 1 for other failures (LOST, ERROR...),\n"
    "1 when the master refused it, 125 when it could not run at all (no master, or no\n"
    "offer fit within --timeout).\n"
    "One CMD word runs through /bin/sh -c ('echo $HOME'); several run as an argv.\n"
    "--network none, --hostname and --image need an agent with the namespaces isolation.\n"
    "--image REF (oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG],\n"
    "docker://HOST[:PORT]/NAME[:TAG]) runs the task in that image's filesystem as Docker\n"
    "does: CMD ARGS replace the image's Cmd after its Entrypoint; without CMD both run.\n"
    "The sandbox is at /mnt/agora/sandbox inside.\n"
    "--tmpfs and --volume (but for a sandbox SOURCE at a\n"
    "relative CONTAINER path) need an agent with the namespaces isolation; a host SOURCE\n"
    "must lie under the agent's --allowed-host-paths.\n"
    "--read-only, --cap-add and --cap-drop need the namespaces isolation too.\n"
    "Ctrl-C kills the task and waits for it to end; a second Ctrl-C stops waiting.";

// "0.1", not boost's "0.10000000000000001".
std::string formatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Appends --volume and --tmpfs (in that order) and checks them together.
Status parseVolumes(const po::variables_map& vm, std::vector<Volume>& volumes) {
  for (const char* flag : {"volume", "tmpfs"}) {
    if (!vm.count(flag)) continue;
    for (const auto& value : vm[flag].as<std::vector<std::string>>()) {
      auto volume = std::string(flag) == "volume" ? parseVolumeFlag(value) : parseTmpfsFlag(value);
      if (!volume) return makeError(volume.error());
      volumes.push_back(std::move(*volume));
    }
  }
  return validateVolumes(volumes);
}

std::vector<std::string> splitColons(const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = value.find(':', start)) != std::string::npos; start = colon + 1) {
    parts.push_back(value.substr(start, colon - start));
  }
  parts.push_back(value.substr(start));
  return parts;
}

// --disk, --port, --volume-id.
Status parseNeeds(const po::variables_map& vm, RunOptions& out) {
  if (!(out.diskMb >= 0) || !std::isfinite(out.diskMb)) {
    return makeError(ErrorCode::kInvalidArgument, "--disk must be a number of MB, 0 or more");
  }
  std::set<std::string> variables;
  for (const std::string& name : out.portNames) {
    if (name.empty() || name.size() > 64 ||
        name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
            std::string::npos) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--port '" + name + "': NAME must be letters, digits and _");
    }
    if (!variables.insert(portVariable(name)).second) {
      return makeError(ErrorCode::kInvalidArgument, "--port '" + name + "' is given twice");
    }
  }
  if (vm.count("volume-id")) {
    std::string value = vm["volume-id"].as<std::string>();
    out.volumeId = value.substr(0, value.find(':'));
    if (Status s = validatePersistenceId(out.volumeId); !s) {
      return makeError(s.error().withContext("--volume-id '" + value + "'"));
    }
    if (value.find(':') != std::string::npos) out.volumePath = value.substr(value.find(':') + 1);
  }
  return {};
}

}  // namespace

Result<Volume> parseVolumeFlag(const std::string& value) {
  auto parts = splitColons(value);
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "--volume '" + value + "': " + why);
  };
  if (parts.size() < 2 || parts.size() > 3) return bad("expected SOURCE:CONTAINER[:ro]");
  bool readOnly = false;
  if (parts.size() == 3) {
    if (parts[2] != "ro" && parts[2] != "rw") return bad("the mode must be ro or rw");
    readOnly = parts[2] == "ro";
  }
  Volume volume = !parts[0].empty() && parts[0][0] == '/'
                      ? Volume::hostPath(parts[0], parts[1], readOnly)
                      : Volume::sandboxPath(parts[0], parts[1], readOnly);
  if (Status s = validateVolume(volume); !s) return bad(s.error().message);
  return volume;
}

Result<Volume> parseTmpfsFlag(const std::string& value) {
  auto parts = splitColons(value);
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "--tmpfs '" + value + "': " + why);
  };
  if (parts.size() > 2) return bad("expected CONTAINER[:SIZE_MB]");
  uint64_t sizeMb = kDefaultTmpfsMb;
  if (parts.size() == 2) {
    const std::string& size = parts[1];
    if (size.empty() || size.size() > 8 || size.find_first_not_of("0123456789") != std::string::npos) {
      return bad("SIZE_MB must be a whole number of MB");
    }
    sizeMb = std::stoull(size);
  }
  Volume volume = Volume::tmpfs(parts[0], sizeMb);
  if (Status s = validateVolume(volume); !s) return bad(s.error().message);
  return volume;
}

Result<RunOptions> parseRunOptions(const std::vector<std::string>& args, GlobalOptions& global) {
  auto [flags, command] = splitAtDoubleDash(args);
  RunOptions out;
  po::options_description options("Options");
  options.add_options()("cpus", po::value<double>(&out.cpus)->default_value(out.cpus, formatNumber(out.cpus)),
                        "CPUs for the task")(
      "mem", po::value<double>(&out.memMb)->default_value(out.memMb, formatNumber(out.memMb)), "memory for the task, MB")(
      "name", po::value<std::string>(&out.name)->default_value(out.name), "task name")(
      "role", po::value<std::string>(&out.role), "role to subscribe with")(
      "user", po::value<std::string>(&out.user),
      "the user the task runs as (default: yours); the master's ACLs (run_tasks) decide, "
      "and root needs a grant")(
      "constraint", po::value<std::vector<std::string>>()->composing(),
      "only agents whose attributes satisfy it (repeatable): ATTR=V, ATTR!=V, ATTR~REGEX, "
      "ATTR!~REGEX, ATTR, !ATTR")(
      "curve-key", po::value<std::string>(&out.curveKey),
      "the framework's CurveZMQ key pair (agora keygen), for a master with --credentials")(
      "master-public-key", po::value<std::string>(&out.masterPublicKey),
      "with --curve-key: the master's public key file")(
      "timeout",
      po::value<DurationFlag>()->default_value(DurationFlag{out.timeout},
                                               formatDuration(out.timeout)),
      "how long to wait for an offer that fits (e.g. 30s, 2m)")(
      "env", po::value<std::vector<std::string>>()->composing(),
      "K=V environment variable for the task (repeatable)")(
      "network", po::value<std::string>()->default_value("host"),
      "host, or none for a network namespace with only loopback")(
      "hostname", po::value<std::string>(&out.container.hostname),
      "the task's hostname (default: its container ID)")(
      "image", po::value<std::string>(&out.container.image),
      "the task's root filesystem: a skopeo-style image reference")(
      "volume", po::value<std::vector<std::string>>()->composing(),
      "SOURCE:CONTAINER[:ro] (repeatable): an absolute SOURCE is a host path, a relative one "
      "a directory in the sandbox; an absolute CONTAINER path must exist, a relative one is "
      "in the sandbox")(
      "tmpfs", po::value<std::vector<std::string>>()->composing(),
      "CONTAINER[:SIZE_MB] (repeatable): a fresh tmpfs, 64 MB unless given")(
      "read-only", po::bool_switch(&out.container.readOnlyRootfs),
      "read-only root filesystem (the sandbox, /tmp and /dev stay writable)")(
      "cap-add", po::value<std::vector<std::string>>(&out.container.capAdd)->composing(),
      "add a capability to the default set, e.g. NET_ADMIN or ALL (repeatable)")(
      "cap-drop", po::value<std::vector<std::string>>(&out.container.capDrop)->composing(),
      "drop a capability from the default set, e.g. CHOWN or ALL (repeatable)")(
      "disk", po::value<double>(&out.diskMb)->default_value(0, "0"),
      "disk for the task's sandbox, MB (0: none asked for)")(
      "port", po::value<std::vector<std::string>>(&out.portNames)->composing(),
      "NAME: one port from the offer, given to the task as $PORT_NAME (upper-cased; "
      "repeatable)")(
      "volume-id", po::value<std::string>(),
      "ID[:PATH]: mount the persistent volume ID (`agora volume list`) at the path it was "
      "created with (PATH, when given, must be that path); the task runs on its agent, in its "
      "role")(
      "detach", po::bool_switch(&out.detach),
      "exit once the task runs and leave it running (`agora logs -f ID` follows it, "
      "`agora kill ID` ends it)")(
      "cmd", po::value<std::vector<std::string>>(), "the command (after --)");
  po::positional_options_description positional;
  positional.add("cmd", -1);
  auto parsed = parseArgs(kUsage, flags, options, global, &positional, /*withScheduler=*/true);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) {
    out.help = true;
    return out;
  }
  out.timeout = parsed->vm["timeout"].as<DurationFlag>().value;
  if (parsed->vm.count("cmd")) {
    auto words = parsed->vm["cmd"].as<std::vector<std::string>>();
    command.insert(command.begin(), words.begin(), words.end());
  }
  out.command = std::move(command);
  if (out.container.image.empty() && (out.command.empty() || out.command[0].empty())) {
    return makeError(ErrorCode::kInvalidArgument,
                     "run needs a command: agora run -- CMD [ARGS...] (or --image REF)");
  }
  if (!out.command.empty() && out.command[0].empty()) {
    return makeError(ErrorCode::kInvalidArgument, "run: the command is empty");
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
  if (parsed->vm.count("constraint")) {
    for (const auto& text : parsed->vm["constraint"].as<std::vector<std::string>>()) {
      auto constraint = parseAttributeConstraint(text);
      if (!constraint) return makeError(constraint.error().withContext("--constraint"));
      out.constraints.push_back(std::move(*constraint));
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
  if (Status s = parseVolumes(parsed->vm, out.container.volumes); !s) return makeError(s.error());
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
  if (Status s = parseNeeds(parsed->vm, out); !s) return makeError(s.error());
  if (!(out.timeout > Duration::zero())) {
    return makeError(ErrorCode::kInvalidArgument, "--timeout must be positive");
  }
  return out;
}

Result<TaskInfo> buildTask(const RunOptions& options, const std::string& taskId) {
  TaskInfo task;
  task.taskId = taskId;
  task.name = options.name;
  if (auto st = task.resources.setScalar("cpus", options.cpus); !st) return makeError(st.error());
  if (auto st = task.resources.setScalar("mem", options.memMb); !st) return makeError(st.error());
  if (options.diskMb > 0) {
    if (auto st = task.resources.setScalar("disk", options.diskMb); !st) {
      return makeError(st.error());
    }
  }
  // One rule with or without an image: one word is a shell command line.
  if (options.command.size() == 1) {
    task.command.shell = true;
    task.command.value = options.command[0];
  } else if (!options.container.image.empty()) {
    // Docker's rule: the words replace the image's Cmd (mergeCommand).
    task.command.shell = false;
    task.command.arguments = options.command;
  } else {
    task.command.shell = false;
    task.command.value = options.command[0];
    task.command.arguments = options.command;
  }
  task.command.environment = options.env;
  task.command.user = options.user;
  task.container = options.container;
  task.command.environment.emplace_back("AGORA_TASK_ID", taskId);
  return task;
}

}  // namespace agora::cli
