#pragma once
// Which fault, if any, explains a vanished launch: a task its framework
// launched whose last word from the master is TASK_UNKNOWN, that the master
// does not know and no agent runs. The master does not persist tasks (they
// are rebuilt from the agents), so Mesos accepts this outcome for a launch in
// flight when a fault cut it off; for any other launch it means a launch was
// dropped or a task forgotten. A launch is explained only when:
//
//  - leader loss: the leading master was SIGKILLed or stepped down no more
//    than kInFlightMs after the launch, or after it but before the
//    framework's next subscription. A master that got the ACCEPT but died
//    before its runTask reached the agent (runTask queued in its socket dies
//    with it) leaves no trace: its successor rebuilds tasks from the agents.
//    An ACCEPT sent after the leader died (the framework still held its
//    offers) reaches a dead master, or a restarted one that is not the
//    leader or does not know those offers and the framework's connection.
//    Once the framework subscribed again, it holds only the new leader's
//    offers: a later launch is not explained by that death.
//  - leader loss while the launch's agent was away: the agent was killed or
//    cut off no later than kInFlightMs after the launch, and the leader died
//    after the launch but before the agent was back (kInFlightMs after its
//    restart or heal, to re-register or get the link's queued bytes). A
//    runTask to a dead agent is dropped with its connection, one to a cut
//    agent waits in the master's socket: no agent ever had the task, and
//    the master that knew it (STAGING, or UNREACHABLE if it noticed) died
//    before the agent's re-registration made it report the task lost.
//  - framework kill: the framework itself was SIGKILLed no more than
//    kInFlightMs after the launch. It journals the launch before sending the
//    ACCEPT, which may not have left the process; an answer the master sent
//    to the dead framework (e.g. TASK_DROPPED for an offer rescinded
//    meanwhile) is not kept for reconciliation either.
//
// Not explanations: an agent restart, an executor kill or a partition. The
// master then still knows the task and reports its end itself (TASK_GONE
// when the agent re-registers without it, UNREACHABLE, ...), and the agent
// reports a launch it received; a vanished launch there is a bug.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/chaos/fault_record.hpp"

namespace agora::chaos {

// Bound on how long an ACCEPT or runTask takes from the moment its launch is
// journaled until the master has forwarded it and the agent has received
// it, on a loaded two-vCPU machine (transit is well under a millisecond
// idle; the event loops and the journal's fsync add the rest).
constexpr int64_t kInFlightMs = 2000;

struct VanishedExplanation {
  const FaultRecord* fault = nullptr;
  std::string cause;       // "leader_loss", "leader_loss_agent_away" or "framework_kill"
  int64_t offsetMs = 0;    // launch time minus the fault's time
};

struct VanishedLaunch {
  std::string framework;  // "keeper" or "batcher"
  int64_t launchedAtMs = -1;
  std::string agent;      // the name of the agent it was launched on ("agent2"); "" unknown
  std::vector<int64_t> subscribedAtMs;  // the framework's subscriptions, sorted
};

// The fault among `faults` explaining `launch`; nullopt when none does.
std::optional<VanishedExplanation> explainVanishedLaunch(const std::vector<FaultRecord>& faults,
                                                         const VanishedLaunch& launch);

// The faults within `aroundMs` of `atMs`, described with times relative to
// `originMs`: "SIGKILL agent1 at t=12.3s; cut agent0 at t=14.0s".
std::string faultsAround(const std::vector<FaultRecord>& faults, int64_t atMs, int64_t aroundMs,
                         int64_t originMs);

// "t=12.345s" relative to `originMs`; "t=?" for an unknown time (-1).
std::string relativeTime(int64_t atMs, int64_t originMs);

}  // namespace agora::chaos
