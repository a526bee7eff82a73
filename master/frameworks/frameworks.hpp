#pragma once
// The frameworks component: subscription and failover of schedulers, their
// liveness (heartbeats), failover timeouts and re-subscription windows
// across master restarts, teardown and removal. The one owner of framework
// records; publishes framework_changed. Loop thread only.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.hpp"
#include "common/rate_limit.hpp"
#include "master/core/context.hpp"
#include "master/offers/offer_book.hpp"
#include "master/registry/records.hpp"
#include "master/tasks/tasks.hpp"

namespace agora::master {

struct FrameworkOptions {
  Duration heartbeatInterval = std::chrono::seconds(5);
  // Frameworks whose schedulers were connected when the last master stopped,
  // and those first learnt of from re-registering agents, get this long to
  // re-subscribe before their own failover timeout starts.
  Duration resubscribeTimeout = std::chrono::minutes(10);
  // Per authenticated principal (all unauthenticated schedulers share ""):
  // at most this many live frameworks (0: no limit), and SUBSCRIBE calls at
  // most at this rate; each new framework is a registry write kept until
  // its failover timeout, so a flood must stop before the registry.
  size_t maxFrameworksPerPrincipal = 100;
  RateLimit subscribeRate{20, 100};
};

class Frameworks : public FrameworkDirectory {
 public:
  // REQUIRES: offers and tasks outlive it.
  Frameworks(MasterContext& context, FrameworkOptions options, OfferBook& offers, Tasks& tasks)
      : ctx_(context),
        options_(options),
        offers_(offers),
        tasks_(tasks),
        subscribeLimiter_(options.subscribeRate) {}
  ~Frameworks() override;
  Frameworks(const Frameworks&) = delete;
  Frameworks& operator=(const Frameworks&) = delete;

  const Framework* findFramework(const std::string& id) const override;
  const std::map<std::string, Framework>& all() const { return frameworks_; }
  // Torn down or failed over past their timeout: their IDs are never reused.
  const std::set<std::string>& removed() const { return removed_; }
  bool wasRemoved(const std::string& id) const { return removed_.count(id) > 0; }

  // `principal`: the transport's authenticated sender (empty without
  // CURVE). A framework ID belongs to the principal that first subscribed
  // it: SUBSCRIBE with it from another principal is refused
  // (framework_principal_mismatch), as are subscriptions past the
  // principal's limits (framework_limit).
  void onSubscribe(const std::string& peer, const std::string& principal,
                   schema::Call::Reader call);
  // The subscribed framework a call of `type` from `peer` comes from, its
  // liveness refreshed; null (refused, counted, and the scheduler told when it
  // can act on it) for an unknown, removed, disconnected or replaced one.
  const Framework* caller(const std::string& peer, const std::string& frameworkId,
                          const char* type);
  // A framework known only from an agent's re-registration (this master has
  // not seen its scheduler): disconnected until the scheduler subscribes.
  void recoverFromAgent(const FrameworkInfo& info);
  // Removes the framework: its offers, its tasks (KILLED; its agents are told
  // to shut it down) and its allocation; its ID is never reused.
  void remove(const std::string& frameworkId, const std::string& why);
  // An operator's teardown: `authorize(principal)` first (its error is
  // returned as is), then the scheduler is told and the framework removed.
  // kNotFound for an unknown framework, kFailedPrecondition for a removed one.
  Status teardown(const std::string& frameworkId, const std::string& why,
                  const PrincipalCheck& authorize);
  // Heartbeat timer: disconnects schedulers silent for 3 intervals,
  // heartbeats the others.
  void checkSchedulers();
  // Rebuilds frameworks (disconnected, with their failover deadlines) from
  // the registry (framework_failover.cpp). Returns how many were connected
  // when the last master stopped.
  size_t recover(const std::map<std::string, FrameworkRecord>& records);

 private:
  Framework* findMutable(const std::string& id);
  // The rest of SUBSCRIBE once the framework's record is durable.
  void admit(const std::string& peer, const FrameworkRecord& record);
  size_t liveFrameworksOf(const std::string& principal) const;
  // Hands the framework's offer constraints to the allocator (none: lifts them).
  void constrainOffers(const FrameworkInfo& info);
  void publish(const Framework& framework, events::FrameworkChanged::Kind kind,
               const std::string& reason = "");

  // framework_failover.cpp
  void disconnect(Framework& framework, const std::string& why);
  // Removes the framework at framework.failoverDeadline (wall seconds).
  void startFailoverTimer(Framework& framework);
  // A framework this master has not seen fail (recovered from the registry
  // as connected, or from an agent): it is kept as connected in the registry
  // until `windowEnd` (wall seconds); then, unless its scheduler
  // re-subscribed, its own failover timeout runs.
  void awaitResubscription(Framework& framework, double windowEnd);
  void closeResubscribeWindow(const std::string& frameworkId);
  void persist(const Framework& framework, double removedTime = 0);

  MasterContext& ctx_;
  FrameworkOptions options_;
  OfferBook& offers_;
  Tasks& tasks_;
  std::map<std::string, Framework> frameworks_;  // by framework ID
  std::set<std::string> removed_;
  // Peers whose subscription waits for the registry.
  std::set<std::string> pendingSubscribes_;
  RateLimiter subscribeLimiter_;
  uint64_t nextNumber_ = 1;
  LifetimeGuard guard_;
};

}  // namespace agora::master
