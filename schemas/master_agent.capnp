# Master <-> agent protocol. Agents connect a DEALER socket to the master's
# ROUTER (`--listen`) and send frames tagged with the protocol name
# "agora.agent.v1". Every frame is one packed AgentEnvelope.
@0xb3f1c2d4e5a60702;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::schema");

using Common = import "common.capnp";

struct AgentEnvelope {
  version @0 :UInt32;
  union {
    registerAgent @1 :RegisterAgent;
    reregisterAgent @2 :ReregisterAgent;
    agentRegistered @3 :AgentRegistered;
    runTask @4 :RunTask;
    killTask @5 :KillTask;
    statusUpdate @6 :StatusUpdate;
    statusUpdateAck @7 :StatusUpdateAck;
    ping @8 :Ping;
    pong @9 :Pong;
    shutdownFramework @10 :ShutdownFramework;
    shutdownAgent @11 :ShutdownAgent;
    notLeader @12 :Common.NotLeader;   # from a standby master: see Common.NotLeader
    destroyVolumes @13 :DestroyVolumes;
    volumesDestroyed @14 :VolumesDestroyed;
  }
}

# agent -> master: first contact of an agent without an agent ID.
struct RegisterAgent {
  hostname @0 :Text;
  resources @1 :List(Common.Resource);
  attributes @2 :List(Common.Attribute);
  httpUrl @3 :Text;               # e.g. http://127.0.0.1:5051
}

# agent -> master: an agent that already has an ID (master restart or failover,
# or the agent lost contact). Carries everything the master needs to rebuild
# its view of the agent's tasks.
struct ReregisterAgent {
  agentId @0 :Text;
  hostname @1 :Text;
  resources @2 :List(Common.Resource);
  attributes @3 :List(Common.Attribute);
  httpUrl @4 :Text;
  tasks @5 :List(AgentTask);
  frameworks @6 :List(Common.FrameworkInfo);
  # Random per re-registration; its retries repeat it. The master answers a
  # retry of the attempt it already answered without re-reading its task
  # list, which may predate launches sent after that answer.
  attempt @7 :Data;
  # Orders the re-registrations of one agent across its processes on one
  # host boot: CLOCK_MONOTONIC nanoseconds when the attempt began (at least
  # one more than the process's previous attempt); retries repeat it. A
  # master drops one older than the newest it processed for that agent,
  # from any peer: its task list is stale (e.g. queued by a killed process
  # whose TCP socket delivers it once a cut link is back). An equal one from
  # the same peer is a retry of that attempt. 0: not sent; `attempt` alone
  # identifies retries.
  attemptSeq @8 :UInt64;
}

struct AgentTask {
  frameworkId @0 :Text;
  task @1 :Common.TaskInfo;
  latest @2 :Common.TaskStatus;
  sandbox @3 :Text;
}

# master -> agent: answer to RegisterAgent / ReregisterAgent.
struct AgentRegistered {
  agentId @0 :Text;
  pingIntervalSec @1 :Float64;    # the master pings at this interval
  reregistered @2 :Bool;
  # Random per (re-)registration the master processed; repeated when it
  # answers a retry of the same one. Every RunTask carries the session it
  # was sent under.
  session @3 :Data;
  # The ReregisterAgent.attemptSeq this answers (0 for a RegisterAgent). An
  # agent that started a newer attempt since ignores it: the launches sent
  # under this session may be missing from the newer attempt's task list.
  attemptSeq @4 :UInt64;
}

# master -> agent: launch a task the framework accepted on an offer.
struct RunTask {
  framework @0 :Common.FrameworkInfo;
  task @1 :Common.TaskInfo;
  # The agent's session when the master sent it (AgentRegistered.session).
  # An agent in another session drops it: it was sent before a
  # re-registration whose task list lacked it, so the master has reported
  # the task lost. (A launch held up on a dead connection can arrive after
  # the answer that came over a new one.) Empty: not checked.
  session @2 :Data;
}

# master -> agent: kill a task (SIGTERM, SIGKILL after its grace period).
struct KillTask {
  frameworkId @0 :Text;
  taskId @1 :Text;
  gracePeriodSec @2 :Float64;     # < 0: use the task's own grace period
}

# agent -> master: a task's status changed. Reliable: the agent resends it
# (same uuid) until a StatusUpdateAck for that uuid arrives.
struct StatusUpdate {
  frameworkId @0 :Text;
  status @1 :Common.TaskStatus;
  sandbox @2 :Text;               # absolute path of the task's sandbox on the agent
}

# master -> agent: the framework acknowledged the update with this uuid.
struct StatusUpdateAck {
  agentId @0 :Text;
  frameworkId @1 :Text;
  taskId @2 :Text;
  uuid @3 :Data;
}

# master -> agent, periodically. The agent answers with Pong; a master that
# misses enough pongs marks the agent unreachable. An agent that hears no ping
# for several intervals re-registers.
struct Ping {
  agentId @0 :Text;
  known @1 :Bool;                 # false: the master does not know this agent; re-register
}

struct Pong {
  agentId @0 :Text;
}

# master -> agent: a framework was torn down; kill its tasks and forget it.
struct ShutdownFramework {
  frameworkId @0 :Text;
}

# master -> agent: the agent was removed (e.g. it came back after its tasks
# were declared GONE); it must kill its tasks and register anew.
struct ShutdownAgent {
  message @0 :Text;
  # The agent ID this is about; an agent whose ID differs (it already
  # registered anew) ignores it. Empty: whatever ID the agent has.
  agentId @1 :Text;
}

# master -> agent: persistent volumes were destroyed (DESTROY, durable in the
# registry): delete their data. The agent deletes each volume's directory
# once no container of its own uses it (at once, or when the last such
# container terminates) and confirms with VolumesDestroyed. Reliable: the
# master keeps every destroyed volume the agent has not confirmed (in the
# registry) and sends them again after each AgentRegistered, so an agent
# that was down or cut off when the DESTROY was made still deletes the data.
# Idempotent: a volume whose directory is already gone is confirmed at once.
struct DestroyVolumes {
  agentId @0 :Text;
  volumes @1 :List(Common.Resource);   # each a volume as in the registry
}

# agent -> master: the data of these volumes (from DestroyVolumes) is
# deleted. A volume whose deletion failed is not listed (logged by the
# agent; the master sends it again at the next registration).
struct VolumesDestroyed {
  agentId @0 :Text;
  volumes @1 :List(Common.Resource);
}
