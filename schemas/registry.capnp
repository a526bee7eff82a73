# The master's registry: what must survive a master restart (master/registry/).
# Each stored record is one unpacked RegistryRecord message, keyed by
# (kind, key) in the store, with a CRC-32C of its bytes stored next to it.
#
# Evolution: add fields (new ordinals) or union members only; never renumber
# or change a field's type. An older master that reads a record whose union
# member it does not know reports the record as unknown and refuses to start
# rather than dropping it. `formatVersion` (stored in the store's meta table)
# changes only for an incompatible layout.
@0xb3f1c2d4e5a60705;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

using Common = import "common.capnp";

const registryFormatVersion :UInt32 = 1;

struct RegistryRecord {
  union {
    agent @0 :RegisteredAgent;          # key: agent ID
    framework @1 :RegisteredFramework;  # key: framework ID
    weight @2 :RoleWeight;              # key: role
    quota @3 :RoleQuota;                # key: role
    reservation @4 :Reservation;        # key: agent ID (its dynamic reservations)
    maintenance @5 :MaintenanceWindow;  # key: hostname (reserved for maintenance schedules)
    task @6 :CompletedTask;             # key: "<framework ID length>/<framework ID>/<task ID>"
  }
}

enum AgentRegistryState {
  admitted @0;      # registered; expected to re-register after a master restart
  unreachable @1;   # missed its pings or did not re-register in time
  gone @2;          # removed; if it comes back it is told to shut down
}

struct RegisteredAgent {
  agentId @0 :Text;
  hostname @1 :Text;
  httpUrl @2 :Text;                 # the agent's HTTP endpoint
  resources @3 :List(Common.Resource);
  attributes @4 :List(Common.Attribute);
  state @5 :AgentRegistryState;
  registeredTime @6 :Float64;       # wall seconds of its first admission
  unreachableTime @7 :Float64;      # wall seconds it became unreachable; 0 otherwise
  # Wall seconds it was removed (state gone); 0 otherwise. Gone records are
  # pruned past --registry-max-agent-age, oldest first past
  # --registry-max-agent-count; a pruned agent that returns is not recognised.
  goneTime @8 :Float64;
  # The CurveZMQ principal ("agent:NAME") whose key first registered it;
  # empty on a master without credentials. Another key never speaks for it.
  principal @9 :Text;
}

struct RegisteredFramework {
  info @0 :Common.FrameworkInfo;    # info.id, roles and failoverTimeoutSec included
  registeredTime @1 :Float64;       # wall seconds of its first SUBSCRIBE
  # Absolute wall-clock deadline (seconds since the epoch) by which a
  # disconnected framework's scheduler must re-subscribe; 0 while connected.
  # Kept as an absolute time so the timeout keeps counting across restarts.
  failoverDeadline @2 :Float64;
  # Wall seconds it was torn down or failed over past its deadline; 0 while
  # live. A removed framework is a tombstone: its ID cannot subscribe again and
  # agents reporting its tasks are told to shut it down.
  removedTime @3 :Float64;
  # The authenticated principal (CurveZMQ key) that first subscribed it;
  # empty without CURVE. Only that principal may subscribe with its ID.
  principal @4 :Text;
}

struct RoleWeight {
  role @0 :Text;
  weight @1 :Float64;
}

struct RoleQuota {
  role @0 :Text;
  hasGuarantee @1 :Bool;
  guarantee @2 :List(Common.Resource);
  hasLimit @3 :Bool;
  limit @4 :List(Common.Resource);
}

# The dynamic reservations on one agent: every resource carries its role,
# type dynamic and principal. Written before a RESERVE or UNRESERVE is
# answered; an agent without any has no record. `role` is unused (each
# resource names its own).
struct Reservation {
  agentId @0 :Text;
  role @1 :Text;
  resources @2 :List(Common.Resource);   # without disk info: a volume's disk is here as
                                         # plain reserved disk when dynamically reserved
  # The agent's persistent volumes (each a reserved disk with disk.persistence),
  # static or dynamic reservation. Written before a CREATE or DESTROY is
  # answered. Records written before volumes existed have none.
  volumes @3 :List(Common.Resource);
  # Volumes destroyed whose data the agent has not confirmed deleted
  # (master_agent.capnp VolumesDestroyed); sent to it again after each of
  # its registrations. Written with the DESTROY, erased on confirmation.
  destroyedVolumes @4 :List(Common.Resource);
}

# A terminal task, kept so operators still see what ran after a master
# restart (live tasks are rebuilt from agents instead). Written in batches a
# short while after the task completes, erased when the master's bounds evict
# it (the last N per framework, the frameworks with the most recent
# completions, a total): the registry holds what the master shows.
struct CompletedTask {
  frameworkId @0 :Text;
  taskId @1 :Text;
  name @2 :Text;
  agentId @3 :Text;
  role @4 :Text;                            # of the offer it was launched from
  resources @5 :List(Common.Resource);
  sandbox @6 :Text;                         # its sandbox directory on the agent
  latest @7 :Common.TaskStatus;             # the terminal status, exit code included
  # State changes, oldest first (state, reason, message, timestamp set; the
  # first one is TASK_STAGING at launch). Bounded: middle entries of a long
  # history are dropped.
  statuses @8 :List(Common.TaskStatus);
}

# A maintenance window for a host (not yet written).
struct MaintenanceWindow {
  hostname @0 :Text;
  startTime @1 :Float64;
  durationSec @2 :Float64;
}

# The registry in ZooKeeper (highly available masters, master/registry/zk_registry.hpp).
# Layout under the masters' election path PATH:
#   PATH/registry                        data: RegistryMeta
#   PATH/registry/<kind dir>/<key>       data: RegistryZnode, one per record
# with kind dirs agents, frameworks, weights, quotas, reservations, maintenance, tasks,
# and keys escaped so any string is a valid znode name (bytes outside
# [A-Za-z0-9_.-] and a leading '.' become %XX). Corrupt or unreadable records
# are moved aside to PATH/registry-bad-<unix seconds>/<kind dir>/<key>
# only when the operator asks for a fresh start.
struct RegistryMeta {
  formatVersion @0 :UInt32;         # registryFormatVersion of the master that created it
}

# One record's znode (packed). crc32c covers kind, NUL, key, NUL, record,
# exactly as the SQLite store's crc column.
struct RegistryZnode {
  crc32c @0 :UInt32;
  record @1 :Data;                  # one unpacked RegistryRecord
}
