# Executor <-> agent protocol. Each agora-executor connects a DEALER socket
# to the agent's ROUTER at ipc://WORK_DIR/executor/executor.sock (a directory
# only root can enter) and sends frames tagged "agora.executor.v1". Its
# routing identity is "CONTAINER_ID:SECRET", the secret being the one in its
# LaunchSpec: the agent refuses (and counts as `forged`) any message whose
# identity does not carry its container's secret, so that no other process
# can speak for a container or take over its executor's link.
@0xb3f1c2d4e5a60704;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

using Common = import "common.capnp";

struct ExecutorEnvelope {
  version @0 :UInt32;
  union {
    register @1 :RegisterExecutor;
    registered @2 :Void;
    statusUpdate @3 :Common.TaskStatus;
    ack @4 :Data;                 # agent -> executor: update uuid checkpointed
    kill @5 :KillContainer;
    shutdown @6 :Void;            # agent -> executor: kill and exit
    heartbeat @7 :Void;           # executor -> agent, periodically
    reconnect @8 :Void;           # agent -> executor: the agent restarted and recovered this
                                  # container; register again and resend unacked updates now
  }
}

# executor -> agent: on start (twice: before and after the task is started)
# and in answer to every `reconnect`. A restarted agent sends `reconnect` to
# each container it recovered, repeating it every 100 ms until that
# executor registers (the DEALER reconnects on its own; the ROUTER drops
# frames to an identity that has not reconnected yet), and also answers a
# heartbeat or update from a recovered, not yet registered executor with
# `reconnect`.
struct RegisterExecutor {
  containerId @0 :Text;
  taskId @1 :Text;
  frameworkId @2 :Text;
  pid @3 :Int32;                  # the task's main process, 0 before launch
  secret @4 :Text;                # LaunchSpec.secret
}

struct KillContainer {
  gracePeriodSec @0 :Float64;
}

# On-disk launch description the agent writes before starting the executor
# (WORK_DIR/containers/ID/launch.bin, packed).
struct LaunchSpec {
  containerId @0 :Text;
  frameworkId @1 :Text;
  task @2 :Common.TaskInfo;
  sandbox @3 :Text;
  agentEndpoint @4 :Text;
  namespaces @5 :Bool;            # run the task in its own pid/mount/uts/ipc namespaces
  rootfs @6 :ImageRootfs;         # set (reference non-empty) when the task names an image
  mounts @7 :List(Mount);         # made in the task's mount namespace, in order
  seccomp @8 :SeccompProgram;     # the task's seccomp profile as the agent compiled it
  # Random (32 hex digits), per container: the executor proves with it that
  # it is this container's (see the protocol's header). The file is root's
  # only (mode 0600 in a 0700 directory), out of the tasks' reach.
  secret @9 :Text;
}

# A seccomp profile (agent/executor/seccomp_profile.hpp) compiled once per
# capability set by the agent, so that no executor compiles it on the
# launch's critical path. The executor uses it only when `capabilities` is
# the set it computes for the task itself; otherwise, or when `program` is
# empty, it compiles the profile on its own.
struct SeccompProgram {
  capabilities @0 :UInt64;        # the capability set the profile was compiled for
  program @1 :Data;               # struct sock_filter[] (8 bytes each), host byte order
}

# The root filesystem of a container started from an image: the agent pulled
# and holds the image; init mounts the overlay in the container's mount
# namespace and pivots into it.
struct ImageRootfs {
  reference @0 :Text;             # as the task named it
  imageId @1 :Text;               # config digest; re-acquired by the agent on recovery
  layerDirs @2 :List(Text);       # unpacked layers, bottom to top
  upperDir @3 :Text;              # per container, under its container dir; removed at its end
  workDir @4 :Text;               # overlay work dir, same filesystem as upperDir
  mountPoint @5 :Text;            # where init mounts the overlay (its own mount namespace)
  argv @6 :List(Text);            # the image config merged with the task's command
  env @7 :List(Text);             # "K=V": the image's, overridden by the task's
  workingDir @8 :Text;            # in the container; empty: the sandbox
  user @9 :Text;                  # "NAME|UID[:GROUP|GID]" from the image's /etc files; empty: root
  # Non-empty: the writable layer is in memory. Init mounts a tmpfs here (in
  # the container's mount namespace only, so it goes with it) and makes
  # upperDir and workDir in it; its pages count against the container's
  # memory limit.
  memoryLayerDir @10 :Text;
  memoryLayerBytes @11 :UInt64;   # the tmpfs's size; 0: bounded by the memory limit only
}

# One mount(2) the executor makes inside the container before the task
# starts, resolved by the agent (volumes, and any later source of mounts
# such as agent-managed persistent volumes). The executor only checks paths
# inside the sandbox (never following a symlink there) and creates missing
# targets; the agent has vetted every host path.
struct Mount {
  # For a bind (empty type): an absolute host path, or a path relative to
  # the sandbox (created as a directory when missing). Otherwise the
  # filesystem's source name ("tmpfs").
  source @0 :Text;
  # Absolute: inside the container's root. Relative: inside the sandbox.
  target @1 :Text;
  type @2 :Text;                  # empty: a bind mount; else e.g. "tmpfs"
  # Linux MS_* flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, ...). A
  # bind is made first and then remounted with these flags.
  flags @3 :UInt64;
  options @4 :Text;               # the filesystem's data, e.g. "size=64m,mode=0755"
  description @5 :Text;           # what it is for messages: "volume /data (host path /srv/data)"
}

# Agent <-> executor fork server (agora-executor --fork-server): one server
# per agent, on a SOCK_SEQPACKET socket pair, one packed message per
# datagram. The server starts each executor as a copy of itself that is a
# child of the agent (clone with CLONE_PARENT), so no executor pays exec,
# dynamic linking and static initialisation.
struct ForkRequest {
  launchFile @0 :Text;            # the container's launch.bin
  cwd @1 :Text;                   # the sandbox
  outputPath @2 :Text;            # the executor's stdout and stderr, appended to
  joinFiles @3 :List(Text);       # cgroup files the child writes "0" into, in order
}

struct ForkReply {
  union {
    ready @0 :Void;               # once, when the server is up
    started @1 :Int32;            # the executor's pid: it runs
    childFailed @2 :ForkChildFailure;
    refused @3 :Text;             # not started (a bad request, clone failed)
  }
}

# The child failed a step before running the executor and exited with 127;
# it is the agent's child all the same, which reaps it.
struct ForkChildFailure {
  pid @0 :Int32;
  step @1 :Int32;                 # agent/executor/process_launcher.hpp ChildStep
  err @2 :Int32;                  # errno
  detail @3 :Int32;
}
