#pragma once
// Containers as plain processes: the executor runs in its own session, and
// the container is every process of that session. Destroying a container
// SIGKILLs the session, then asks every isolator to kill what it tracks:
// processes that leave the session (setsid) escape the former and are
// caught by the cgroups isolator. Usage is measured over the session and
// refined by isolators; limitations come from isolators.
//
// Thread: the agent's loop thread.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "agent/containerizer.hpp"
#include "agent/dir_remover.hpp"
#include "agent/executor_fork_server.hpp"
#include "agent/executor/child_reaper.hpp"
#include "agent/executor/seccomp_profile.hpp"
#include "agent/isolator.hpp"
#include "agent/proc_stat.hpp"
#include "agent/volumes.hpp"

namespace agora::agent {

inline constexpr const char* kWritableLayerLabel = "agora.rootfs.writable_layer";

// "memory" -> true, "disk" -> false (the agent's --writable-layer and the
// task label kWritableLayerLabel); kInvalidArgument naming `what` otherwise.
Result<bool> parseWritableLayer(const std::string& value, const std::string& what);

class PosixContainerizer final : public Containerizer {
 public:
  struct Options {
    std::string workDir;        // absolute
    std::string executorPath;   // the agora-executor binary
    std::string agentEndpoint;  // where executors connect
    bool namespaces = false;    // executors start tasks in their own namespaces
    HostPathPolicy hostPaths = {};  // where host-path volumes may lie
    std::string runtimeDir = {};    // per-boot state (agent/paths.hpp); empty: workDir
    // Start executors through an executor fork server (executor_fork_server.hpp)
    // rather than exec'ing each; falls back to exec when it cannot be used.
    bool forkServer = true;
    // An image container's writable layer in memory (a tmpfs only its mount
    // namespace sees; ImageRootfs::memoryLayerDir) instead of on disk. A
    // task chooses with the label kWritableLayerLabel (disk or memory).
    bool memoryWritableLayer = false;
  };

  // REQUIRES: reaper outlives the containerizer.
  PosixContainerizer(ChildReaper& reaper, Options options,
                     std::vector<std::unique_ptr<Isolator>> isolators = {});
  // Leaves running containers alone: executors outlive the agent.
  ~PosixContainerizer() override;

  void setTerminationHandler(TerminationHandler handler) override {
    onTerminated_ = std::move(handler);
  }
  Result<pid_t> launch(const ContainerConfig& config) override;
  Result<bool> recover(const ContainerConfig& config, pid_t executorPid,
                       uint64_t executorStartTime) override;
  Status destroy(const std::string& containerId) override;
  std::vector<std::string> containers() const override;
  // Seccomp profiles compiled for launch specs so far (one per capability set).
  uint64_t seccompCompilations() const { return seccomp_.compilations(); }
  Result<ResourceStatistics> usage(const std::string& containerId) const override;
  // Null when executors are exec'd (Options::forkServer off).
  const ExecutorForkServer* forkServer() const { return forkServer_.get(); }
  std::optional<ContainerLimitation> limitation(const std::string& containerId) const override;

 private:
  // Options::memoryWritableLayer, or the task's label.
  Result<bool> memoryWritableLayer(const TaskInfo& task) const;
  const std::string& runtimeDir() const {
    return options_.runtimeDir.empty() ? options_.workDir : options_.runtimeDir;
  }
  struct Container {
    pid_t pid = 0;
  };

  Result<pid_t> start(const ContainerConfig& config);
  // The task's seccomp profile from the cache, for its launch spec; nullopt
  // when it runs without one or the profile cannot be built here (the
  // executor then reports why).
  std::optional<SeccompProgram> seccompFor(const TaskInfo& task);
  // Logs the capabilities this agent cannot hand its containers.
  static void warnOfUngrantableCapabilities();
  void onExecutorExited(const std::string& containerId, int waitStatus);
  void cleanup(const std::string& containerId);
  bool isolatorsHoldAllProcesses() const;
  // Kills what is left of a container: its isolators' processes and, when
  // they do not hold every process, the executor's session.
  void killLeftovers(pid_t executorPid, const std::string& containerId);
  void killIsolated(const std::string& containerId);

  // One /proc scan serves every container's usage() for a short while, so
  // sampling N containers costs one scan, not N.
  const std::map<pid_t, std::vector<ProcStat>>& sessions() const;

  ChildReaper& reaper_;
  const Options options_;
  mutable std::map<pid_t, std::vector<ProcStat>> sessions_;
  mutable std::chrono::steady_clock::time_point sessionsAt_{};
  std::vector<std::unique_ptr<Isolator>> isolators_;
  SeccompProfileCache seccomp_;
  std::unique_ptr<ExecutorForkServer> forkServer_;
  // Writable layers of ended containers go away off the loop.
  DirRemover remover_;
  TerminationHandler onTerminated_;
  std::map<std::string, Container> containers_;
  // The container whose termination handler is running, with its limitation
  // taken before cleanup (limitation() answers from it).
  std::optional<std::pair<std::string, std::optional<ContainerLimitation>>> terminating_;
  bool mountPointLayerReady_ = false;  // made once per agent run
};

// SIGKILLs every process in session `sid`, repeating while new ones appear
// (a few passes; forks racing the scan are why cgroups exist).
void killSession(pid_t sid);

}  // namespace agora::agent
