#include "agent/executor/posix_task_runner.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "agent/executor/namespace_task_runner.hpp"
#include "agent/executor/process_launcher.hpp"
#include "agent/executor/secret_files.hpp"
#include "agent/executor/volume_mounts.hpp"

namespace agora::agent {

namespace {

// The home directory of the user we run as, `fallback` when it has none.
std::string ourHome(const std::string& fallback) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr ||
      pw.pw_dir == nullptr || pw.pw_dir[0] == '\0') {
    return fallback;
  }
  return pw.pw_dir;
}

}  // namespace

std::vector<std::string> taskEnvironment(const LaunchSpec& spec,
                                         const std::vector<std::string>& base,
                                         const std::string& sandbox) {
  std::map<std::string, std::string> vars;
  for (const auto& kv : base) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.task.command.environment) vars[k] = v;
  for (const TaskSecret& secret : spec.task.secrets) {
    if (!secret.env.empty()) vars[secret.env] = secret.value;
  }
  if (hasFileSecrets(spec.task.secrets)) {
    vars["AGORA_SECRETS"] = sandbox + "/" + kSandboxSecretsDir;
  }
  vars["AGORA_TASK_ID"] = spec.task.taskId;
  vars["AGORA_FRAMEWORK_ID"] = spec.frameworkId;
  vars["AGORA_AGENT_ID"] = spec.task.agentId;
  vars["AGORA_CONTAINER_ID"] = spec.containerId;
  vars["AGORA_SANDBOX"] = sandbox;
  vars["MESOS_TASK_ID"] = spec.task.taskId;
  vars["MESOS_FRAMEWORK_ID"] = spec.frameworkId;
  vars["MESOS_AGENT_ID"] = spec.task.agentId;
  vars["MESOS_SANDBOX"] = sandbox;
  vars["MESOS_DIRECTORY"] = sandbox;
  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [k, v] : vars) env.push_back(k + "=" + v);
  return env;
}

std::vector<std::string> hostTaskBaseEnvironment(const std::string& home) {
  return {std::string("PATH=") + kDefaultTaskPath, "HOME=" + home};
}

Result<ProcessOptions> taskProcessOptions(const LaunchSpec& spec) {
  const CommandInfo& command = spec.task.command;
  if (command.value.empty()) return makeError(ErrorCode::kInvalidArgument, "the command is empty");
  ProcessOptions options;
  if (command.shell) {
    options.argv = {"/bin/sh", "-c", command.value};
  } else {
    options.argv = command.arguments;
    if (options.argv.empty()) options.argv.push_back(command.value);
    options.argv[0] = command.value;
  }
  options.cwd = spec.sandbox;
  options.stdoutPath = spec.sandbox + "/stdout";
  options.stderrPath = spec.sandbox + "/stderr";
  options.newProcessGroup = true;
  if (command.user.empty()) {
    options.env =
        taskEnvironment(spec, hostTaskBaseEnvironment(ourHome(spec.sandbox)), spec.sandbox);
    return options;
  }
  auto user = resolveUser(command.user);
  if (!user) return makeError(user.error());
  options.env = taskEnvironment(
      spec, hostTaskBaseEnvironment(user->home.empty() ? spec.sandbox : user->home), spec.sandbox);
  if (geteuid() != 0) {
    if (user->uid != geteuid()) {
      return makeError(ErrorCode::kPermissionDenied,
                       "cannot run as user '" + command.user + "': the executor is not root");
    }
    return options;
  }
  if (Status s = giveSandboxTo(spec, *user); !s) return makeError(s.error());
  options.user = std::move(*user);
  return options;
}

Status giveSandboxTo(const LaunchSpec& spec, const UserIds& user) {
  for (const std::string& path :
       {spec.sandbox, spec.sandbox + "/stdout", spec.sandbox + "/stderr"}) {
    if (path != spec.sandbox && access(path.c_str(), F_OK) != 0) {
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    }
    if (chown(path.c_str(), user.uid, user.gid) != 0) {
      return makeError(errnoError("chown " + path + " to " + user.name, errno));
    }
  }
  return {};
}

Result<pid_t> PosixTaskRunner::start(const LaunchSpec& spec, ExitHandler onExit) {
  if (!spec.task.container.image.empty()) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "image " + spec.task.container.image +
                         " needs the namespaces isolation, which this agent does not use");
  }
  ContainerInfo container = spec.task.container;
  container.volumes.clear();  // made as links in the sandbox below
  if (!container.isDefault()) {
    if (auto flags = namespaceFlags(container); !flags) return makeError(flags.error());
    std::string asked = std::string("network mode ") + networkModeName(container.networkMode);
    if (!container.hostname.empty()) asked += ", hostname " + container.hostname;
    if (container.readOnlyRootfs) asked += ", read-only rootfs";
    if (!container.capAdd.empty() || !container.capDrop.empty()) asked += ", capability changes";
    if (container.seccompUnconfined) asked += ", seccomp unconfined";
    if (container.privileged) asked += ", privileged";
    return makeError(ErrorCode::kFailedPrecondition,
                     asked + ": needs the namespaces isolation, which this agent does not use");
  }
  auto options = taskProcessOptions(spec);
  if (!options) return makeError(options.error());
  std::optional<MountOwner> owner;
  if (options->user) owner = MountOwner{options->user->uid, options->user->gid, false};
  if (Status s = linkSandboxMounts(spec.mounts, spec.sandbox, owner); !s) {
    return makeError(s.error());
  }
  if (Status s = writeSecretFiles(spec.sandbox, spec.task.secrets, owner ? owner->uid : geteuid(),
                                  owner ? owner->gid : getegid());
      !s) {
    return makeError(s.error());
  }
  auto pid = launchProcess(*options);
  if (!pid) return makeError(pid.error());
  command_ = std::move(*options);
  reaper_.watch(*pid, std::move(onExit));
  return *pid;
}

void PosixTaskRunner::signalGroup(pid_t pgid, int signal) {
  if (pgid > 0) killpg(pgid, signal);
}

}  // namespace agora::agent
