#pragma once
// The agents component: registration and re-registration (with the tasks
// and frameworks an agent reports), liveness (pings), unreachable agents and
// their removal, the remembered gone agents, and each agent's reservations
// and persistent volumes as the registry holds them. The one owner of agent
// records; publishes agent_changed and reservation_changed. Loop thread only.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.hpp"
#include "common/rate_limit.hpp"
#include "master/core/context.hpp"
#include "master/frameworks/frameworks.hpp"
#include "master/offers/offer_book.hpp"
#include "master/registry/records.hpp"
#include "master/tasks/tasks.hpp"

namespace agora::master {

struct AgentOptions {
  Duration pingInterval = std::chrono::seconds(2);
  int maxMissedPings = 5;
  // Agents recovered from the registry that have not re-registered this long
  // after the start are marked unreachable.
  Duration reregisterTimeout = std::chrono::minutes(10);
  // An agent unreachable this long is removed (its tasks GONE); checked at
  // each ping interval.
  Duration unreachableTimeout = std::chrono::minutes(10);
  // Removed agents remembered (in the registry): entries older than this are
  // pruned, and past the count the oldest go first.
  Duration registryMaxAgentAge = std::chrono::hours(14 * 24);
  size_t registryMaxAgentCount = 100 * 1024;
  // New agent registrations per authenticated principal (all agents without
  // CURVE share ""): each is a registry write kept until the agent is gone.
  RateLimit registrationRate{200, 5000};
};

class Agents : public AgentDirectory {
 public:
  // REQUIRES: frameworks, offers and tasks outlive it.
  Agents(MasterContext& context, AgentOptions options, Frameworks& frameworks, OfferBook& offers,
         Tasks& tasks)
      : ctx_(context),
        options_(options),
        frameworks_(frameworks),
        offers_(offers),
        tasks_(tasks),
        registrationLimiter_(options.registrationRate) {}
  ~Agents() override;
  Agents(const Agents&) = delete;
  Agents& operator=(const Agents&) = delete;

  const Agent* findAgent(const std::string& id) const override;
  bool isGone(const std::string& id) const override { return gone_.count(id) > 0; }
  const std::map<std::string, Agent>& all() const { return agents_; }
  // Removed agents with the wall time of their removal.
  const std::map<std::string, double>& gone() const { return gone_; }
  // The agent that talks from `peer`, or null.
  const Agent* byPeer(const std::string& peer) const;

  // agent_registration.cpp
  // `principal`: the transport's authenticated sender (empty without CURVE).
  void onRegister(const std::string& peer, const std::string& principal,
                  schema::RegisterAgent::Reader message);
  void onReregister(const std::string& peer, const std::string& principal,
                    schema::ReregisterAgent::Reader message);

  // agent_liveness.cpp
  void onPong(const std::string& peer);
  // Ping timer: removes agents unreachable past the timeout, marks those
  // that missed too many pings unreachable, pings the rest.
  void pingAgents();

  // agent_reservations.cpp: the registry's copy of reservations and volumes
  // is authoritative; operations change them through here.
  // Applies a reservation change to the agent's dynamic reservations and volumes.
  void applyChange(const std::string& agentId, const ReservationChange& change);
  // Queues the agent's reservations and volumes to the registry and publishes them.
  void persistReservations(const std::string& agentId, std::function<void(Status)> done = {});
  // When `changes` destroyed a volume: tells the agent to delete its data.
  void sendVolumeDestroys(const std::string& agentId, const std::vector<ReservationChange>& changes);
  void onVolumesDestroyed(const Agent& agent, schema::VolumesDestroyed::Reader message);

  // agent_records.cpp: rebuilds agents (awaiting re-registration) from the
  // registry, with their reservations and volumes.
  void recover(const RegistryContents& contents);

 private:
  Agent* findMutable(const std::string& id);
  void admit(Agent agent);
  void sendRegistered(const Agent& agent, bool reregistered);
  void publish(const Agent& agent, events::AgentChanged::Kind kind, const std::string& reason = "");
  void ping(const Agent& agent);

  // agent_liveness.cpp
  // Whether the agent's current connection still answers: it answered one of
  // the last two pings and is still connected (pinged again to keep it so).
  bool connectionAnswers(const Agent& agent);
  void markUnreachable(Agent& agent, const std::string& why);
  void removeUnreachable();
  // REQUIRES: the agent is unreachable. Invalidates `agent`.
  void remove(Agent& agent, const std::string& why);
  // Forgets gone agents past registryMaxAgentAge or registryMaxAgentCount.
  void pruneGone();
  // A removed agent came back: tells it to kill its tasks and register anew.
  void refuseGone(const std::string& peer, const std::string& agentId);
  // Agents recovered from the registry that did not re-register in time.
  void expireRecovering();

  // agent_records.cpp
  AgentRecord recordOf(const Agent& agent) const;
  void persist(const Agent& agent, std::function<void(Status)> done = {});
  // Skips the write when the record is unchanged since last queued.
  void persistRecord(const AgentRecord& record, std::function<void(Status)> done = {});

  // agent_reservations.cpp
  // The agent's total as the allocator sees it: agent.total with its dynamic
  // reservations and volumes applied. Reservations that no longer fit (the
  // agent came back smaller) are dropped (and from the registry), logged.
  Resources fitReservations(Agent& agent);
  Resources fitVolumes(Agent& agent, Resources total);
  void persistReservations(const Agent& agent, std::function<void(Status)> done = {});
  // Tells a registered agent to delete the data of agent.destroyedVolumes
  // (all of them: repeats are harmless, and one lost earlier is retried).
  void sendDestroyedVolumes(const Agent& agent);

  MasterContext& ctx_;
  AgentOptions options_;
  Frameworks& frameworks_;
  OfferBook& offers_;
  Tasks& tasks_;
  std::map<std::string, Agent> agents_;            // by agent ID
  std::map<std::string, std::string> peers_;       // transport peer -> agent ID
  // Removed agents (unreachable past the timeout; persisted as gone) with the
  // wall time of their removal: one that comes back is told to shut down and
  // register anew. Bounded (pruneGone).
  std::map<std::string, double> gone_;
  // Peers whose registration waits for the registry.
  std::set<std::string> pendingPeers_;
  RateLimiter registrationLimiter_;
  // Agent ID -> its record as last queued to the registry (skips rewriting
  // an unchanged record when an agent re-registers).
  std::map<std::string, std::string> persisted_;
  uint64_t nextNumber_ = 1;
  std::vector<EventLoop::TimerId> timers_;
  LifetimeGuard guard_;
};

}  // namespace agora::master
