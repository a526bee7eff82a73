#pragma once
// Starts, tracks and destroys containers. A container is one executor process
// (and everything it starts) running one task. The agent talks only to this
// interface; PosixContainerizer is the process-based implementation, and
// isolation (cgroups, namespaces) plugs into it through Isolator.
//
// Thread: every method runs on the agent's loop thread; the termination
// handler is called there too.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor/launch_spec.hpp"
#include "agent/resource_statistics.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

struct ContainerConfig {
  std::string containerId;
  std::string frameworkId;
  TaskInfo task;
  std::string sandbox;  // absolute; created by launch()
  // The task's image, pulled and held by the agent (the containerizer
  // chooses the overlay dirs). Needs namespaces.
  std::optional<ImageRootfs> rootfs = std::nullopt;
  // The agent's start socket for the executor (agent/start_sockets.hpp), or
  // -1. The caller keeps it and closes it once launch() returned.
  int startFd = -1;
  // The executor's secret (executor_identity.hpp), for its LaunchSpec.
  std::string executorSecret = {};
};

// A resource limit the container hit (e.g. its memory limit): it overrides
// the reason and message of the task's FAILED update.
struct ContainerLimitation {
  TaskReason reason = TaskReason::NONE;
  std::string message;
};

class Containerizer {
 public:
  // waitStatus is the executor's, as from waitpid().
  using TerminationHandler = std::function<void(const std::string& containerId, int waitStatus)>;

  virtual ~Containerizer() = default;

  // Called once per container after its executor exited and the container's
  // remaining processes were killed and its isolation cleaned up.
  virtual void setTerminationHandler(TerminationHandler handler) = 0;

  // Creates the sandbox and starts the executor; returns its pid. On error
  // nothing is left running and no termination is reported.
  virtual Result<pid_t> launch(const ContainerConfig& config) = 0;

  // Kills every process of the container at once (SIGKILL), including ones
  // that left the executor's session when an isolator tracks them (cgroups). The termination
  // is reported through the handler when the executor has been reaped.
  virtual Status destroy(const std::string& containerId) = 0;

  // Adopts a container started by an earlier run of the agent (recovery).
  // True when its executor `executorPid` still runs with `executorStartTime`
  // (field 22 of /proc/PID/stat, so a reused pid is not mistaken for it): it
  // is tracked again and its termination reported through the handler, with
  // waitStatus -1 (it is not our child, so its status is unknown). False
  // when the executor is gone: what is left of the container is killed and
  // its isolation cleaned up, and no termination is reported.
  virtual Result<bool> recover(const ContainerConfig& /*config*/, pid_t /*executorPid*/,
                               uint64_t /*executorStartTime*/) {
    return false;
  }

  // IDs of the containers not yet reported terminated.
  virtual std::vector<std::string> containers() const = 0;

  virtual Result<ResourceStatistics> usage(const std::string& containerId) const = 0;

  // The limit the container hit, if any. Valid for live containers and
  // during the termination handler of the container.
  virtual std::optional<ContainerLimitation> limitation(const std::string& containerId) const = 0;
};

}  // namespace agora::agent
