#pragma once
// The offer book: every outstanding offer, indexed by agent and framework,
// with its timeout. It turns the allocator's allocations into offers, takes
// them back when they are accepted, declined, rescinded or time out, and
// returns unused resources to the allocator. The one owner of outstanding
// offers; publishes offer_sent and offer_removed. Loop thread only.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.hpp"
#include "master/core/context.hpp"

namespace agora::master {

struct OfferRecord {
  Offer offer;
  TimePoint created{};
};

struct OfferOptions {
  // An offer not answered (accepted or declined) within this long is
  // rescinded and its resources re-offered; 0: offers never time out.
  Duration timeout{};
};

class OfferBook {
 public:
  // A timed-out offer's resources are filtered for its holder for
  // min(timeout, this) so the next pass offers them to someone else first.
  static constexpr double kTimedOutRefuseSeconds = 5;

  OfferBook(MasterContext& context, OfferOptions options) : ctx_(context), options_(options) {}
  ~OfferBook();
  OfferBook(const OfferBook&) = delete;
  OfferBook& operator=(const OfferBook&) = delete;

  // An allocation pass: offers what the allocator allocates to active
  // frameworks, one OFFERS event per framework.
  void allocate();

  const OfferRecord* find(const std::string& offerId) const;
  const std::map<std::string, OfferRecord>& all() const { return offers_; }
  // Outstanding offers on an agent / to a framework (a copy: safe to walk
  // while removing).
  std::set<std::string> onAgent(const std::string& agentId) const;
  std::set<std::string> ofFramework(const std::string& frameworkId) const;
  // The resources of every outstanding offer on the agent.
  Resources offeredOnAgent(const std::string& agentId) const;

  // Forgets an outstanding offer without returning its resources to the
  // allocator (they are used). `why` names the end in offer_removed
  // ("accepted", ...). REQUIRES: the offer exists.
  Offer take(const std::string& offerId, const char* why, bool rescinded = false);
  // Forgets an outstanding offer, if it exists, and returns its resources to
  // the allocator (filtered for refuseSeconds). Sends RESCIND to its
  // framework when `notify`.
  void remove(const std::string& offerId, bool notify, double refuseSeconds, const char* why);
  // remove() with a RESCIND, counted under `reason` (a snake_case token, see
  // MasterMetrics::kRescindReasons).
  void rescind(const std::string& offerId, const char* reason, double refuseSeconds = 0);
  void rescindAllOnAgent(const std::string& agentId, const char* reason);
  void rescindAllOfFramework(const std::string& frameworkId, const char* reason);
  // Without a RESCIND (the framework is gone or disconnected).
  void removeAllOfFramework(const std::string& frameworkId, const char* why);
  // The framework's DECLINE: its own offers among `offerIds` are removed and
  // their resources filtered for `refuseSeconds`; others are ignored.
  void decline(const std::string& frameworkId, const std::vector<std::string>& offerIds,
               double refuseSeconds);

 private:
  void index(const Offer& offer);
  void unindex(const Offer& offer);
  void armTimeout(const std::string& offerId);
  void timedOut(const std::string& offerId);

  MasterContext& ctx_;
  OfferOptions options_;
  std::map<std::string, OfferRecord> offers_;  // by offer ID
  std::map<std::string, std::set<std::string>> byAgent_;
  std::map<std::string, std::set<std::string>> byFramework_;
  std::map<std::string, EventLoop::TimerId> timers_;  // by offer ID (offer timeout)
  uint64_t nextNumber_ = 1;
  uint64_t filtersExpiredSeen_ = 0;  // AllocatorStats::filtersExpired at the last pass
  LifetimeGuard guard_;
};

}  // namespace agora::master
