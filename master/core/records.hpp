#pragma once
// The master's records of agents and frameworks: plain data, each map of
// them owned by one component (agents/agents.hpp, frameworks/frameworks.hpp)
// and read by the others through the directories (core/directory.hpp). Their
// offers and tasks are not here: the offer book (offers/) and the task table
// (tasks/) own those, indexed by agent and framework. Loop thread only.

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/model.hpp"
#include "common/resources.hpp"

namespace agora::master {

// kRecovering: known from the registry, not yet re-registered with this master.
enum class AgentStatus { kRegistered, kUnreachable, kRecovering };
const char* agentStatusName(AgentStatus status);  // "REGISTERED", "UNREACHABLE", "RECOVERING"

struct Agent {
  std::string id;
  std::string peer;  // transport identity the agent talks from
  std::string hostname;
  std::string url;  // the agent's HTTP API
  // The authenticated key (CurveZMQ principal) that first registered it,
  // persisted; empty without credentials. No other key speaks for it.
  std::string principal;
  Resources total;  // as the agent reports it (static reservations included)
  // Dynamic reservations on it (each resource reserved, dynamic): the
  // registry's copy is authoritative; the allocator's view of the agent is
  // `total` with these carved out of its unreserved resources.
  Resources dynamic;
  // Its persistent volumes (registry's copy authoritative), static or
  // dynamic reservation; a dynamic one's disk is also in `dynamic` as
  // plain reserved disk. The allocator sees each in place of that disk.
  Resources volumes;
  // Volumes destroyed whose data the agent has not confirmed deleted
  // (registry's copy authoritative): sent to it after each registration.
  // A volume with one of their IDs cannot be created meanwhile, so a late
  // deletion never hits a new volume's data.
  Resources destroyedVolumes;
  KeyValues attributes;
  AgentStatus status = AgentStatus::kRegistered;
  double registeredTime = 0;  // wall seconds
  int missedPongs = 0;
  // False from processing a re-registration until it is answered (after the
  // registry write). The agent drops launches that reach it before that
  // answer, so none may be sent meanwhile.
  bool answered = true;
  // The re-registration last processed, from `peer` (ReregisterAgent.attempt
  // and .attemptSeq): its retries are not reconciled again, older ones (from
  // any peer) are dropped. Cleared when its answer could not be made durable.
  std::string attempt;
  uint64_t attemptSeq = 0;
  TimePoint attemptSeqAt;  // master's clock when attemptSeq was processed
  // New for each (re-)registration processed (AgentRegistered.session);
  // stamped on every RunTask.
  std::string session;
  // Wall seconds it became unreachable (persisted, so the removal deadline
  // survives a master restart); 0 while not unreachable.
  double unreachableTime = 0;
};

struct Framework {
  FrameworkInfo info;  // info.id is set
  std::string peer;
  bool connected = false;
  // Connected and not torn down; only active frameworks get offers.
  bool active = false;
  TimePoint lastHeard{};
  double registeredTime = 0;
  std::optional<EventLoop::TimerId> failoverTimer;
  // While disconnected: the wall time (seconds) by which its scheduler must
  // re-subscribe; persisted, so it keeps counting across master restarts.
  // During a re-subscription window: the window's end plus its timeout.
  double failoverDeadline = 0;
  // Non-zero while this master waits for a scheduler it has not seen fail
  // (after its start): the wall time the re-subscription window closes. Its
  // failover timeout only starts then, and the registry keeps it as
  // connected meanwhile, so a further master restart grants a new window.
  double resubscribeWindowEnd = 0;
  // The authenticated principal (CurveZMQ key) that first subscribed it,
  // persisted; empty without CURVE (or while known only from an agent).
  std::string principal;

  bool partitionAware() const { return info.hasCapability("PARTITION_AWARE"); }
};

// The same resources before and after a reservation change.
struct ReservationChange {
  Resources from;
  Resources to;
};

}  // namespace agora::master
