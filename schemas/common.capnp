# Types shared by every Agora protocol.
@0xb3f1c2d4e5a60701;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

# Wire protocol version carried in every envelope. A receiver rejects an
# envelope whose version it does not know.
const protocolVersion :UInt32 = 1;

struct Range {
  begin @0 :UInt64;
  end @1 :UInt64;   # inclusive
}

# Who may use a reserved resource and how the reservation was made.
enum ReservationType {
  static @0;    # from the agent's --resources flag; only the agent's flags change it
  dynamic @1;   # made by RESERVE (offer operation or operator API); UNRESERVE undoes it
}

# One named resource: a scalar (cpus, mem, disk, gpus) or a set of ranges (ports).
# `role` empty or "*": unreserved, offered to every role. Otherwise reserved
# for that role: offered only to frameworks subscribed in the role or one of
# its descendants ("eng" -> "eng", "eng/web"), and counted in the role's quota
# consumption whether in use or not. Resources differing only in their
# reservation are distinct (never merged or subtracted from each other).
# A reserved `disk` scalar whose disk.persistence.id is set is a persistent
# volume: distinct from every other resource (by its whole DiskInfo), never
# split (contained only whole), created by CREATE and returned to plain
# reserved disk by DESTROY (PROTOCOL.md, "Persistent volumes").
struct Resource {
  name @0 :Text;
  union {
    scalar @1 :Float64;
    ranges @2 :List(Range);
  }
  role @3 :Text;
  reservationType @4 :ReservationType;   # meaningful only when reserved
  principal @5 :Text;                     # dynamic: who reserved it (may be empty)
  disk @6 :DiskInfo;                      # unset or empty persistence.id: plain disk
  # @7..@9 kept for further disk information.
}

struct DiskInfo {
  persistence @0 :Persistence;
  # Where a task that has the volume in its resources sees it: relative in
  # its sandbox, absolute in its container's root (same rules as
  # Volume.containerPath).
  containerPath @1 :Text;
  mode @2 :VolumeMode;
}

struct Persistence {
  id @0 :Text;          # unique on its agent: [A-Za-z0-9_.-], at most 128, not . or ..
  principal @1 :Text;   # who created it (may be empty)
}

struct Attribute {
  name @0 :Text;
  value @1 :Text;
}

struct EnvVar {
  name @0 :Text;
  value @1 :Text;
}

# What to run. With shell=true, `value` runs through /bin/sh -c; otherwise
# `value` is the executable and `arguments` its argv (argv[0] included).
struct CommandInfo {
  shell @0 :Bool = true;
  value @1 :Text;
  arguments @2 :List(Text);
  environment @3 :List(EnvVar);
  user @4 :Text;                 # empty: the agent's user
}

# How the task's container is isolated beyond cgroups. Honoured by agents
# that create namespaces (--isolation with `namespaces`); an agent that cannot
# honour a request fails the task with REASON_CONTAINER_LAUNCH_FAILED rather
# than run it differently.
enum NetworkMode {
  host @0;      # the host's network namespace
  none @1;      # an own network namespace with only `lo`
  bridge @2;    # an own namespace wired to an agent bridge (not supported yet)
}

struct ContainerInfo {
  networkMode @0 :NetworkMode;
  hostname @1 :Text;              # empty: the container ID
  userNamespace @2 :Bool;         # root inside, an unprivileged uid on the host
  image @3 :Text;                 # skopeo-style reference (oci:DIR[:TAG], oci-archive:FILE,
                                  # docker-archive:FILE, docker://HOST/NAME[:TAG]);
                                  # empty: the host's filesystem
  volumes @4 :List(Volume);       # mounted in list order, parents before their children
  # Security of a namespaced container (agent/executor/security_policy.hpp).
  # By default its command runs with Docker's default capability set,
  # no_new_privs and the default seccomp profile, and the kernel's sensitive
  # /proc and /sys paths are masked or read-only.
  readOnlyRootfs @5 :Bool;        # "/" read-only; the sandbox, /tmp and /dev stay writable
  capAdd @6 :List(Text);          # added to the default set ("SYS_ADMIN", "CAP_NET_ADMIN", "ALL")
  capDrop @7 :List(Text);         # removed from it; "ALL" starts from none (capAdd still added)
  seccompUnconfined @8 :Bool;     # no seccomp profile (capabilities still apply)
  privileged @9 :Bool;            # every capability, no seccomp, no masked paths, no
                                  # no_new_privs; capAdd/capDrop must be empty
}

enum VolumeMode {
  rw @0;
  ro @1;                          # read-only bind or tmpfs; writes fail with EROFS
}

# A path the task sees in its container, backed by a host directory, a fresh
# tmpfs or a part of the task's own sandbox. Every volume is mounted nosuid
# and nodev, in the container's own mount namespace only (agents need the
# namespaces isolation, except for a read-write sandboxPath volume at a
# relative containerPath, which becomes a symlink in the sandbox).
#
# Paths never hold a `..` component or a NUL; the master rejects such a task
# with TASK_ERROR / REASON_TASK_INVALID, as it does duplicate container paths
# and a tmpfs size of 0 or above 1 TiB.
struct Volume {
  # Absolute: inside the container's root (the host's `/` for a container
  # without an image, where the path must already exist; the image's root
  # otherwise, where missing directories are created). Relative: inside the
  # task's sandbox, where missing directories (or the file a file bind
  # needs) are created, owned by the task's user. Never the root or the
  # sandbox itself.
  containerPath @0 :Text;
  mode @1 :VolumeMode;
  source :union {
    # An absolute host path (file or directory), bound into the container.
    # The agent resolves it (symlinks and all) and refuses it unless the
    # result lies under one of its --allowed-host-paths.
    hostPath @2 :Text;
    # A fresh tmpfs of this size, owned by the task's user, gone with the
    # container. Its pages count against the task's memory.
    tmpfs @3 :TmpfsVolume;
    # A relative path inside the sandbox (created as a directory owned by
    # the task's user when missing), bound at containerPath: scratch space
    # that outlives nothing but the sandbox (like an emptyDir), or a part of
    # it seen elsewhere (like a subPath).
    sandboxPath @4 :Text;
  }
}

struct TmpfsVolume {
  sizeMb @0 :UInt64;              # 1 .. 1048576
}

# A check the task's executor runs beside it, in the task's namespaces
# (agent/executor/task_checks.hpp). A health check's verdict is reported as
# TaskStatus.healthy, a readiness check's as TaskStatus.ready, each in a
# TASK_RUNNING update when it changes.
enum CheckKind {
  none @0;
  http @1;        # GET `path` on 127.0.0.1:`port`: 2xx and 3xx pass
  tcp @2;         # a connection to 127.0.0.1:`port` is accepted
  command @3;     # `command` exits 0 (run as the task's own command runs)
}

struct CheckInfo {
  kind @0 :CheckKind;
  port @1 :UInt32;                # http, tcp: 1-65535, in the task's network namespace
  path @2 :Text;                  # http: starts with '/'; empty: "/"
  command @3 :CommandInfo;        # command: its value/arguments and extra environment
  delaySec @4 :Float64;           # before the first probe
  intervalSec @5 :Float64 = 10;   # between the ends of two probes
  timeoutSec @6 :Float64 = 20;    # a probe still running then fails (and is killed)
  gracePeriodSec @7 :Float64;     # failures before the first pass within this time are not counted
  maxFailures @8 :UInt32 = 3;     # consecutive failures for a negative verdict
}

struct TaskInfo {
  taskId @0 :Text;
  name @1 :Text;
  agentId @2 :Text;
  resources @3 :List(Resource);
  command @4 :CommandInfo;
  killGracePeriodSec @5 :Float64 = 3.0;
  labels @6 :List(Attribute);
  container @7 :ContainerInfo;
  healthCheck @8 :CheckInfo;      # kind none: no health check
  readinessCheck @9 :CheckInfo;   # kind none: no readiness check
  # Values the framework gives the task without showing them: no API, event
  # or log of the master or agent renders a value (only the name and where
  # it goes), and the agent's files API does not serve the secrets directory.
  secrets @10 :List(Secret);
}

# A secret value for one task: in the command's environment (env) or in a
# file (file, relative to the sandbox's .secrets directory, which
# $AGORA_SECRETS names; mode 0400, owned by the task's user).
struct Secret {
  name @0 :Text;                  # what the framework calls it, for messages
  value @1 :Data;
  env @2 :Text;                   # exactly one of env and file
  file @3 :Text;
}

enum TaskState {
  staging @0;
  starting @1;
  running @2;
  killing @3;
  finished @4;
  failed @5;
  killed @6;
  error @7;
  lost @8;
  dropped @9;
  unreachable @10;
  gone @11;
  goneByOperator @12;
  unknown @13;
}

enum TaskReason {
  none @0;
  commandExited @1;               # the command exited (see exitCode / message)
  executorTerminated @2;          # the executor died before reporting a terminal state
  executorRegistrationTimeout @3;
  containerLaunchFailed @4;
  containerLimitationMemory @5;
  containerLimitationDisk @6;
  taskKilledDuringLaunch @7;
  taskInvalid @8;                 # rejected by validation (message says why)
  taskUnknown @9;                 # reconciliation of a task the master does not know
  invalidOffers @10;              # the offer was unknown, rescinded or already used
  resourcesUnknown @11;
  agentRemoved @12;
  agentUnknown @13;
  agentDisconnected @14;
  agentUnreachable @15;
  agentRestarted @16;
  frameworkRemoved @17;
  masterDisconnected @18;
  reconciliation @19;
  killedByUser @20;
  gcError @21;
  healthCheckUpdated @22;         # TASK_RUNNING with a new health verdict
  readinessCheckUpdated @23;      # TASK_RUNNING with a new readiness verdict
}

enum StatusSource {
  master @0;
  agent @1;
  executor @2;
}

struct TaskStatus {
  taskId @0 :Text;
  state @1 :TaskState;
  reason @2 :TaskReason;
  message @3 :Text;
  agentId @4 :Text;
  frameworkId @5 :Text;
  source @6 :StatusSource;
  hasExitCode @7 :Bool;
  exitCode @8 :Int32;             # valid when hasExitCode; 128+N when killed by signal N
  uuid @9 :Data;                  # empty for unreliable (master generated) updates
  timestamp @10 :Float64;         # seconds since the Unix epoch
  containerId @11 :Text;
  healthy @12 :Bool;              # valid when healthChecked: the health check's latest verdict
  healthChecked @13 :Bool;        # the task has a health check and it has a verdict
  ready @14 :Bool;                # valid when readinessChecked
  readinessChecked @15 :Bool;
}

struct FrameworkInfo {
  id @0 :Text;                    # empty on first subscription; set to fail over
  name @1 :Text;
  user @2 :Text;
  roles @3 :List(Text);
  failoverTimeoutSec @4 :Float64;
  checkpoint @5 :Bool;
  capabilities @6 :List(Text);    # e.g. "PARTITION_AWARE"
  hostname @7 :Text;
  # Offers reach this framework only from agents whose attributes satisfy
  # every constraint (in each of its roles).
  offerConstraints @8 :List(AttributeConstraint);
  # The framework's own HTTP API/UI: an absolute http:// or https:// URL of at
  # most 1024 bytes, or empty for none (Mesos's webui_url). The master
  # refuses a SUBSCRIBE with any other; a re-subscription may change it.
  webuiUrl @9 :Text;
}

enum ConstraintPredicate {
  exists @0;        # the agent has the attribute
  notExists @1;
  equals @2;        # the attribute is present with exactly `value`
  notEquals @3;     # absent, or present with another value
  matches @4;       # present and `value` (an RE2 regex) matches all of it
  notMatches @5;    # absent, or present and not matched
}

struct AttributeConstraint {
  attribute @0 :Text;
  predicate @1 :ConstraintPredicate;
  value @2 :Text;                 # unused by exists / notExists
}

struct Offer {
  id @0 :Text;
  frameworkId @1 :Text;
  agentId @2 :Text;
  hostname @3 :Text;
  resources @4 :List(Resource);
  attributes @5 :List(Attribute);
  agentUrl @6 :Text;              # the agent's HTTP API (files, containers)
  role @7 :Text;                  # the role the resources are allocated to (one of the framework's)
}

# master -> agent or scheduler: this master is a standby (high availability,
# --zk) and does not serve it; the client should talk to the leader instead.
# Sent in answer to any frame a standby receives, while a leader is known.
struct NotLeader {
  leaderId @0 :Text;
  leaderEndpoint @1 :Text;        # the leader's ZeroMQ endpoint, "tcp://10.0.0.1:5055"
}
