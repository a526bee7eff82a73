#pragma once
// What the agent keeps on disk to survive its own restart (format:
// schemas/checkpoint.capnp; files: agent/paths.hpp; each file written
// atomically with a checksum by common/checkpoint_file.hpp).
//
// Write order that makes recovery sound:
//   - container.ckpt before the executor starts (pid 0), again with the
//     executor's pid and start time once it runs;
//   - updates.ckpt rewritten (whole stream) after every accepted update and
//     before the executor's ack, and after every acknowledgement from the master;
//   - the container's checkpoint files removed once it terminated and every
//     update of its task was acknowledged.
// recover() refuses (an error naming the file and what is wrong) when any
// checkpoint is corrupt or truncated: state is never dropped silently.
//
// Durability: the agent checkpoint (ID and boot ID) is flushed to disk
// (Durability::kHostCrash). Container, update-stream and task-exit files
// describe state that cannot outlive the boot, so they are written with
// Durability::kProcessCrash (no fsync on the launch path): they survive a
// kill -9 of the agent or executor through the page cache, and after a host
// crash the boot ID differs and recover() does not read them.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/checkpoint_file.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

struct AgentIdentity {
  std::string agentId;
  std::string bootId;
  std::string hostname;
  std::string resources;  // the --resources flag as given
};

struct ContainerState {
  std::string containerId;
  FrameworkInfo framework;
  TaskInfo task;
  std::string sandbox;
  pid_t executorPid = 0;
  uint64_t executorStartTime = 0;
  double launchedAt = 0;
  std::string executorSecret;  // LaunchSpec.secret; empty: launched without one
};

struct UpdateStreamState {
  std::string frameworkId;
  std::string taskId;
  std::vector<TaskStatus> pending;  // oldest (in flight) first
  std::vector<std::string> seenUuids;
  bool terminal = false;
  std::optional<TaskStatus> latest;
};

struct RecoveredContainer {
  ContainerState container;
  std::optional<UpdateStreamState> stream;
  std::optional<TaskStatus> exit;  // recorded by the executor when its task ended
};

struct RecoveredState {
  std::optional<AgentIdentity> agent;
  std::vector<RecoveredContainer> containers;  // ordered by container ID
};

namespace checkpoints {

// The agent checkpoint lives in the work dir, the containers' in the runtime
// dir (agent/paths.hpp; the two may be the same).
Status writeAgent(const std::string& workDir, const AgentIdentity& identity);
Status writeContainer(const std::string& runtimeDir, const ContainerState& container);
Status writeStream(const std::string& runtimeDir, const std::string& containerId,
                   const UpdateStreamState& stream);
// Removes the container's checkpoint files and launch.bin, and its runtime
// directory once empty (its sandbox stays).
Status removeContainer(const std::string& runtimeDir, const std::string& containerId);
// Removes every checkpoint (a fresh start).
Status removeAll(const std::string& workDir, const std::string& runtimeDir);

inline constexpr Durability kPerBoot = Durability::kProcessCrash;

// Reads every checkpoint. Containers without a container.ckpt (finished ones)
// are not listed. When `bootId` is given and differs from the checkpointed
// one, only the agent checkpoint is read. An empty runtimeDir is the work dir.
Result<RecoveredState> recover(const std::string& workDir, const std::string& bootId = "",
                               const std::string& runtimeDir = "");

// The containers whose container.ckpt reads back intact, skipping damaged
// ones: for killing what an earlier run left when starting fresh.
std::vector<ContainerState> readableContainers(const std::string& runtimeDir);

// The first line of `path` (e.g. /proc/sys/kernel/random/boot_id).
Result<std::string> readBootId(const std::string& path);

}  // namespace checkpoints
}  // namespace agora::agent
