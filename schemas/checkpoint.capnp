# What the agent and its executors keep on disk to survive an agent restart.
# Each struct is the packed payload of one checksummed file
# (common/checkpoint_file.hpp: header with magic, version, length, CRC32C),
# replaced atomically (temp file, fsync, rename, fsync of the directory).
#
# Layout under the agent's work dir:
#   meta/agent.ckpt                          AgentCheckpoint
#   containers/<containerId>/container.ckpt  ContainerCheckpoint (agent, at launch)
#   containers/<containerId>/updates.ckpt    UpdateStreamCheckpoint (agent, rewritten
#                                            on every accepted update and acknowledgement)
#   containers/<containerId>/exit.ckpt       TaskExit (executor, when its task exits)
# A container's container.ckpt and updates.ckpt are removed once the
# container terminated and every update of its task was acknowledged.
@0xb3f1c2d4e5a60705;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

using Common = import "common.capnp";

# The agent's identity. Written when the master assigns the agent ID.
struct AgentCheckpoint {
  agentId @0 :Text;
  bootId @1 :Text;                # /proc/sys/kernel/random/boot_id at write time
  hostname @2 :Text;
  resources @3 :Text;             # the --resources flag as given
}

# One container, written before its executor is started (executorPid 0),
# and again once the executor runs.
struct ContainerCheckpoint {
  containerId @0 :Text;
  framework @1 :Common.FrameworkInfo;
  task @2 :Common.TaskInfo;
  sandbox @3 :Text;
  executorPid @4 :Int32;
  executorStartTime @5 :UInt64;   # field 22 of /proc/PID/stat: detects pid reuse
  launchedAt @6 :Float64;         # wall-clock seconds
  executorSecret @7 :Text;        # LaunchSpec.secret; empty for containers launched without one
}

# One task's reliable status update stream (agent/status_update_manager.hpp).
# The whole stream is rewritten on each change, so one file per task stays
# small (a few updates) and needs no compaction.
struct UpdateStreamCheckpoint {
  frameworkId @0 :Text;
  taskId @1 :Text;
  pending @2 :List(Common.TaskStatus);   # unacknowledged, oldest (in flight) first
  seenUuids @3 :List(Data);              # every uuid accepted on the stream, for dedupe
  terminal @4 :Bool;                     # a terminal update was accepted
  latest @5 :Common.TaskStatus;          # latest accepted status (has a state even when acked)
}

# Written by the executor as soon as its task exited, before it reports the
# terminal update, so an agent that was down learns how the task ended even
# if the executor died too.
struct TaskExit {
  status @0 :Common.TaskStatus;   # the terminal update, with the uuid the executor sends it under
}
