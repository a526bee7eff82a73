#include "agent/posix_containerizer.hpp"

#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "agent/executor/fork_server.hpp"
#include "agent/executor/launch_spec.hpp"
#include "agent/executor/process_launcher.hpp"
#include "agent/executor/rootfs_setup.hpp"
#include "agent/executor/security_policy.hpp"
#include "agent/paths.hpp"
#include "agent/persistent_volumes.hpp"
#include "agent/proc_stat.hpp"

namespace agora::agent {

// An exec'd executor and a fork server's copy find the start socket at the same number.
static_assert(kStartFd == kPassedFd);

void killSession(pid_t sid) {
  if (sid <= 1) return;
  for (int pass = 0; pass < 5; ++pass) {
    auto members = sessionMembers(sid);
    if (members.empty()) return;
    for (const ProcStat& p : members) kill(p.pid, SIGKILL);
  }
}

PosixContainerizer::PosixContainerizer(ChildReaper& reaper, Options options,
                                       std::vector<std::unique_ptr<Isolator>> isolators)
    : reaper_(reaper),
      options_(std::move(options)),
      isolators_(std::move(isolators)),
      remover_(paths::trashDir(options_.workDir)) {
  if (options_.forkServer) {
    forkServer_ = std::make_unique<ExecutorForkServer>(reaper_, options_.executorPath);
  }
  if (options_.namespaces) warnOfUngrantableCapabilities();
}

void PosixContainerizer::warnOfUngrantableCapabilities() {
  auto last = kernelLastCapability();
  auto grantable = grantableCapabilities();
  if (!last || !grantable) return;
  auto all = resolveCapabilities({kAllCapabilities}, {}, *last);
  if (!all || (*all & ~*grantable) == 0) return;
  LOG(WARNING) << "this agent cannot grant " << capabilityNames(*all & ~*grantable)
               << " (not in its capability bounding set): privileged tasks and cap_add ALL get "
                  "the rest, and a task naming one of these in cap_add fails to launch";
}

PosixContainerizer::~PosixContainerizer() {
  for (const auto& [id, container] : containers_) reaper_.unwatch(container.pid);
}

Result<pid_t> PosixContainerizer::launch(const ContainerConfig& config) {
  if (containers_.count(config.containerId)) {
    return makeError(ErrorCode::kAlreadyExists,
                     "container '" + config.containerId + "' already exists");
  }
  auto pid = start(config);
  if (!pid) {
    cleanup(config.containerId);
    return makeError(
        pid.error().withContext("failed to launch container '" + config.containerId + "'"));
  }
  containers_[config.containerId] = Container{*pid};
  reaper_.watch(*pid,
                [this, id = config.containerId](int status) { onExecutorExited(id, status); });
  LOG(INFO) << "container " << config.containerId << " for task " << config.task.taskId
            << " started; executor pid " << *pid;
  return *pid;
}

Result<bool> parseWritableLayer(const std::string& value, const std::string& what) {
  if (value == "memory" || value == "disk") return value == "memory";
  return makeError(ErrorCode::kInvalidArgument, what + "='" + value + "': expected disk or memory");
}

Result<bool> PosixContainerizer::memoryWritableLayer(const TaskInfo& task) const {
  const std::string* value = findValue(task.labels, kWritableLayerLabel);
  if (value == nullptr) return options_.memoryWritableLayer;
  return parseWritableLayer(*value, std::string("label ") + kWritableLayerLabel);
}

Result<pid_t> PosixContainerizer::start(const ContainerConfig& config) {
  if (Status s = paths::makeDirs(config.sandbox); !s) return makeError(s.error());
  std::string dir = paths::containerDir(runtimeDir(), config.containerId);
  if (Status s = paths::makeDirs(dir, 0700); !s) return makeError(s.error());
  std::string launchFile = paths::launchFile(runtimeDir(), config.containerId);
  auto persistent = persistentVolumeMounts(config.task, options_.workDir, options_.namespaces);
  if (!persistent) return makeError(persistent.error());
  auto mounts = resolveVolumes(config.task.container.volumes,
                               VolumeContext{options_.hostPaths, options_.namespaces, config.sandbox},
                               std::move(*persistent));
  if (!mounts) return makeError(mounts.error());
  LaunchSpec spec{config.containerId,     config.frameworkId,  config.task,  config.sandbox,
                  options_.agentEndpoint, options_.namespaces, config.rootfs, std::move(*mounts)};
  spec.secret = config.executorSecret;
  if (spec.rootfs) {
    if (!options_.namespaces) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "image " + spec.rootfs->reference +
                           " needs the namespaces isolation, which this agent does not use");
    }
    // The writable layer on disk, or in a tmpfs init mounts; the mount point
    // (and hostname file) per boot.
    auto inMemory = memoryWritableLayer(config.task);
    if (!inMemory) return makeError(inMemory.error());
    std::string layer = paths::rootfsDir(options_.workDir, config.containerId);
    if (*inMemory) {
      layer = paths::rootfsDir(runtimeDir(), config.containerId) + "/layer";
      spec.rootfs->memoryLayerDir = layer;
      double diskMb = config.task.resources.scalar("disk");
      if (diskMb > 0) spec.rootfs->memoryLayerBytes = static_cast<uint64_t>(diskMb * 1024 * 1024);
    }
    spec.rootfs->upperDir = layer + "/upper";
    spec.rootfs->workDir = layer + "/work";
    spec.rootfs->mountPoint = paths::rootfsDir(runtimeDir(), config.containerId) + "/merged";
    if (!mountPointLayerReady_) {
      if (Status s = makeMountPointLayer(paths::mountPointLayer(options_.workDir)); !s) {
        return makeError(s.error());
      }
      mountPointLayerReady_ = true;
    }
    spec.rootfs->layerDirs.push_back(paths::mountPointLayer(options_.workDir));  // topmost
  }
  spec.seccomp = seccompFor(config.task);
  if (Status s = writeLaunchSpec(launchFile, spec); !s) return makeError(s.error());
  for (auto& isolator : isolators_) {
    if (Status s = isolator->prepare(config); !s) {
      return makeError(s.error().withContext(isolator->name() + " isolator: prepare"));
    }
  }
  ProcessOptions process;
  process.argv = {options_.executorPath, "--launch-file", launchFile};
  process.env = currentEnvironment();
  process.cwd = config.sandbox;
  process.stdoutPath = config.sandbox + "/executor.log";
  process.stderrPath = process.stdoutPath;
  process.newSession = true;
  if (config.startFd >= 0) {
    process.passFd = config.startFd;  // as kPassedFd (exec) or kStartFd (fork server): 3
    process.argv.insert(process.argv.end(), {"--start-fd", std::to_string(kPassedFd)});
  }
  std::vector<Isolator*> attaching;
  for (auto& isolator : isolators_) {
    auto files = isolator->joinFiles(config.containerId);
    if (files.empty()) attaching.push_back(isolator.get());
    process.joinFiles.insert(process.joinFiles.end(), files.begin(), files.end());
  }
  if (!attaching.empty()) {
    process.beforeExec = [&](pid_t pid) -> Status {
      for (Isolator* isolator : attaching) {
        if (Status s = isolator->isolate(config.containerId, pid); !s) {
          return makeError(s.error().withContext(isolator->name() + " isolator: isolate"));
        }
      }
      return {};
    };
  }
  if (forkServer_ && attaching.empty()) {
    auto pid = forkServer_->launch(launchFile, process);
    if (pid || pid.error().code != ErrorCode::kUnavailable) return pid;
  }
  return launchProcess(process);
}

std::optional<SeccompProgram> PosixContainerizer::seccompFor(const TaskInfo& task) {
  // Only namespaced containers are confined by a SecurityPolicy.
  if (!options_.namespaces || !usesSeccomp(task.container)) return std::nullopt;
  auto caps = containerCapabilities(task.container);
  if (!caps) return std::nullopt;
  auto program = seccomp_.get(*caps);
  if (!program) {
    LOG(WARNING) << "cannot compile the seccomp profile: " << program.error().message;
    return std::nullopt;
  }
  return SeccompProgram{*caps, **program};
}

Result<bool> PosixContainerizer::recover(const ContainerConfig& config, pid_t executorPid,
                                         uint64_t executorStartTime) {
  const std::string& id = config.containerId;
  if (containers_.count(id)) {
    return makeError(ErrorCode::kAlreadyExists, "container '" + id + "' already exists");
  }
  bool alive = false;
  if (executorPid > 0) {
    Status watched = reaper_.watchForeign(
        executorPid, [this, id](int status) { onExecutorExited(id, status); });
    if (watched) {
      // Checked after the pidfd pinned the process: a match cannot be a later reuse.
      auto stat = readProcStat(executorPid);
      alive = stat && stat->startTime == executorStartTime && stat->state != 'Z';
      if (!alive) reaper_.unwatch(executorPid);
    }
  }
  if (!alive) {
    // The executor's session outlives it; it is still the container's while
    // the pid is free or names the executor's zombie (not a new process).
    auto stat = executorPid > 0 ? readProcStat(executorPid) : std::nullopt;
    if (executorPid > 0 && (!stat || stat->startTime == executorStartTime)) {
      killSession(executorPid);
    }
    cleanup(id);
    LOG(INFO) << "container " << id << " of task " << config.task.taskId
              << " did not survive: its executor is gone";
    return false;
  }
  for (auto& isolator : isolators_) {
    if (Status s = isolator->recover(config); !s) {
      LOG(WARNING) << isolator->name() << " isolator: recovering container " << id << ": "
                   << s.error().message;
    }
  }
  containers_[id] = Container{executorPid};
  LOG(INFO) << "recovered container " << id << " of task " << config.task.taskId
            << "; executor pid " << executorPid;
  return true;
}

Status PosixContainerizer::destroy(const std::string& containerId) {
  auto it = containers_.find(containerId);
  if (it == containers_.end()) {
    return makeError(ErrorCode::kNotFound, "unknown container '" + containerId + "'");
  }
  LOG(INFO) << "destroying container " << containerId;
  killLeftovers(it->second.pid, containerId);
  reaper_.poll();  // the executor is likely gone already: report it now
  return {};
}

std::vector<std::string> PosixContainerizer::containers() const {
  std::vector<std::string> ids;
  for (const auto& [id, container] : containers_) ids.push_back(id);
  return ids;
}

Result<ResourceStatistics> PosixContainerizer::usage(const std::string& containerId) const {
  auto it = containers_.find(containerId);
  if (it == containers_.end()) {
    return makeError(ErrorCode::kNotFound, "unknown container '" + containerId + "'");
  }
  static const double kTicks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  ResourceStatistics stats;
  if (!isolatorsHoldAllProcesses()) {
    static const std::vector<ProcStat> kNone;
    auto members = sessions().find(it->second.pid);
    for (const ProcStat& p : members == sessions().end() ? kNone : members->second) {
      stats.cpusUserSec += static_cast<double>(p.utimeTicks) / kTicks;
      stats.cpusSystemSec += static_cast<double>(p.stimeTicks) / kTicks;
      stats.memRssBytes += static_cast<uint64_t>(std::max<long long>(p.rssPages, 0)) * kPage;
      stats.processes++;
    }
  }
  for (const auto& isolator : isolators_) isolator->usage(containerId, stats);
  return stats;
}

const std::map<pid_t, std::vector<ProcStat>>& PosixContainerizer::sessions() const {
  auto now = std::chrono::steady_clock::now();
  if (now - sessionsAt_ > std::chrono::milliseconds(200)) {
    sessions_ = processesBySession();
    // From the scan's end: a scan slower than the period (thousands of
    // processes) must not make every caller scan again.
    sessionsAt_ = std::chrono::steady_clock::now();
  }
  return sessions_;
}

std::optional<ContainerLimitation> PosixContainerizer::limitation(
    const std::string& containerId) const {
  if (terminating_ && terminating_->first == containerId) return terminating_->second;
  if (!containers_.count(containerId)) return std::nullopt;
  for (const auto& isolator : isolators_) {
    if (auto found = isolator->limitation(containerId)) return found;
  }
  return std::nullopt;
}

bool PosixContainerizer::isolatorsHoldAllProcesses() const {
  return std::any_of(isolators_.begin(), isolators_.end(),
                     [](const auto& isolator) { return isolator->holdsAllProcesses(); });
}

void PosixContainerizer::killLeftovers(pid_t executorPid, const std::string& containerId) {
  // Scanning /proc costs O(host processes) per call: only without an
  // isolator that holds (and kills) every process of the container.
  if (!isolatorsHoldAllProcesses()) killSession(executorPid);
  killIsolated(containerId);
}

void PosixContainerizer::killIsolated(const std::string& containerId) {
  for (auto& isolator : isolators_) {
    if (Status s = isolator->kill(containerId); !s) {
      LOG(ERROR) << isolator->name() << " isolator: kill of container " << containerId
                 << " failed: " << s.error().message;
    }
  }
}

void PosixContainerizer::onExecutorExited(const std::string& containerId, int waitStatus) {
  auto it = containers_.find(containerId);
  if (it == containers_.end()) return;
  // The session outlives its leader: kill what the executor left behind.
  killLeftovers(it->second.pid, containerId);
  std::optional<ContainerLimitation> limit = limitation(containerId);
  cleanup(containerId);
  containers_.erase(it);
  LOG(INFO) << "container " << containerId << " terminated"
            << (limit ? " (" + limit->message + ")" : "");
  terminating_.emplace(containerId, std::move(limit));
  if (onTerminated_) onTerminated_(containerId, waitStatus);
  terminating_.reset();
}

void PosixContainerizer::cleanup(const std::string& containerId) {
  for (auto it = isolators_.rbegin(); it != isolators_.rend(); ++it) {
    if (Status s = (*it)->cleanup(containerId); !s) {
      LOG(ERROR) << (*it)->name() << " isolator: cleanup of container " << containerId
                 << " failed: " << s.error().message;
    }
  }
  // The overlay was mounted only in the container's mount namespace, gone
  // with its init: what is left is the writable layer on disk (removed in
  // the background: it may be large) and the mount point on the runtime dir.
  remover_.discard(paths::rootfsDir(options_.workDir, containerId));
  if (runtimeDir() != options_.workDir) {
    std::error_code ec;
    std::filesystem::remove_all(paths::rootfsDir(runtimeDir(), containerId), ec);
    if (ec) {
      LOG(ERROR) << "cannot remove the rootfs mount point of container " << containerId << ": "
                 << ec.message();
    }
  }
  if (runtimeDir() != options_.workDir) {
    rmdir(paths::containerDir(options_.workDir, containerId).c_str());  // only if empty
  }
}

}  // namespace agora::agent
