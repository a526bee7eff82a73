#include "master/offers/offer_book.hpp"

#include <glog/logging.h>

#include <algorithm>

namespace agora::master {

OfferBook::~OfferBook() {
  for (const auto& [offerId, id] : timers_) ctx_.loop.cancelTimer(id);
}

void OfferBook::allocate() {
  Allocator& allocator = ctx_.allocator;
  std::vector<Allocation> allocations = allocator.allocate();
  if (allocator.stats().filtersExpired != filtersExpiredSeen_) {
    filtersExpiredSeen_ = allocator.stats().filtersExpired;
    ctx_.markChanged();  // the roles view lists live filters
  }
  std::map<std::string, std::vector<Offer>> byFramework;
  for (Allocation& allocation : allocations) {
    const Agent* agent = ctx_.agents().findAgent(allocation.agentId);
    const Framework* framework = ctx_.frameworks().findFramework(allocation.frameworkId);
    if (agent == nullptr || framework == nullptr || !framework->active) {
      // The allocator and the master disagree; give the resources back.
      LOG(ERROR) << "allocator offered " << allocation.resources.toString() << " on agent "
                 << allocation.agentId << " to framework " << allocation.frameworkId
                 << " which cannot take offers";
      allocator.recover(allocation.frameworkId, allocation.role, allocation.agentId,
                        allocation.resources, 0);
      continue;
    }
    Offer offer;
    offer.id = ctx_.masterId + "-O" + std::to_string(nextNumber_++);
    offer.frameworkId = framework->info.id;
    offer.agentId = agent->id;
    offer.hostname = agent->hostname;
    offer.resources = std::move(allocation.resources);
    offer.attributes = agent->attributes;
    offer.agentUrl = agent->url;
    offer.role = std::move(allocation.role);
    index(offer);
    offers_[offer.id] = OfferRecord{offer, ctx_.clock().now()};
    armTimeout(offer.id);
    if (ctx_.bus.active()) {
      ctx_.bus.publish(events::OfferSent{offer.id, offer.frameworkId, offer.agentId, offer.role,
                                         offer.resources});
    }
    byFramework[framework->info.id].push_back(std::move(offer));
  }
  for (const auto& [frameworkId, offers] : byFramework) {
    const Framework& framework = *ctx_.frameworks().findFramework(frameworkId);
    ctx_.outbox.toScheduler(framework.peer, "offers", [&](schema::Event::Builder event) {
      auto list = event.initOffers(static_cast<unsigned>(offers.size()));
      for (unsigned i = 0; i < offers.size(); ++i) toCapnp(offers[i], list[i]);
    });
    ctx_.metrics.offersSent(offers.size());
    ctx_.markChanged();
  }
}

const OfferRecord* OfferBook::find(const std::string& offerId) const {
  auto it = offers_.find(offerId);
  return it == offers_.end() ? nullptr : &it->second;
}

std::set<std::string> OfferBook::onAgent(const std::string& agentId) const {
  auto it = byAgent_.find(agentId);
  return it == byAgent_.end() ? std::set<std::string>{} : it->second;
}

std::set<std::string> OfferBook::ofFramework(const std::string& frameworkId) const {
  auto it = byFramework_.find(frameworkId);
  return it == byFramework_.end() ? std::set<std::string>{} : it->second;
}

Resources OfferBook::offeredOnAgent(const std::string& agentId) const {
  Resources offered;
  if (auto it = byAgent_.find(agentId); it != byAgent_.end()) {
    for (const std::string& offerId : it->second) offered += offers_.at(offerId).offer.resources;
  }
  return offered;
}

void OfferBook::index(const Offer& offer) {
  byAgent_[offer.agentId].insert(offer.id);
  byFramework_[offer.frameworkId].insert(offer.id);
}

void OfferBook::unindex(const Offer& offer) {
  auto drop = [&](std::map<std::string, std::set<std::string>>& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(offer.id);
    if (it->second.empty()) index.erase(it);
  };
  drop(byAgent_, offer.agentId);
  drop(byFramework_, offer.frameworkId);
}

Offer OfferBook::take(const std::string& offerId, const char* why, bool rescinded) {
  auto it = offers_.find(offerId);
  CHECK(it != offers_.end()) << "unknown offer " << offerId;
  Offer offer = std::move(it->second.offer);
  offers_.erase(it);
  if (auto timer = timers_.find(offerId); timer != timers_.end()) {
    ctx_.loop.cancelTimer(timer->second);
    timers_.erase(timer);
  }
  unindex(offer);
  ctx_.markChanged();
  if (ctx_.bus.active()) {
    ctx_.bus.publish(
        events::OfferRemoved{offerId, offer.frameworkId, offer.agentId, why, rescinded});
  }
  return offer;
}

void OfferBook::remove(const std::string& offerId, bool notify, double refuseSeconds,
                       const char* why) {
  if (!offers_.count(offerId)) return;
  Offer offer = take(offerId, why, notify);
  ctx_.allocator.recover(offer.frameworkId, offer.role, offer.agentId, offer.resources,
                         refuseSeconds);
  const Framework* framework = ctx_.frameworks().findFramework(offer.frameworkId);
  if (notify && framework != nullptr && framework->connected) {
    ctx_.outbox.toScheduler(framework->peer, "rescind",
                            [&](schema::Event::Builder event) { event.setRescind(offerId); });
  }
  ctx_.scheduleAllocation();
}

void OfferBook::rescind(const std::string& offerId, const char* reason, double refuseSeconds) {
  if (!offers_.count(offerId)) return;
  ctx_.metrics.offersRescinded(reason);
  remove(offerId, true, refuseSeconds, reason);
}

void OfferBook::rescindAllOnAgent(const std::string& agentId, const char* reason) {
  for (const std::string& offerId : onAgent(agentId)) rescind(offerId, reason);
}

void OfferBook::rescindAllOfFramework(const std::string& frameworkId, const char* reason) {
  for (const std::string& offerId : ofFramework(frameworkId)) rescind(offerId, reason);
}

void OfferBook::removeAllOfFramework(const std::string& frameworkId, const char* why) {
  for (const std::string& offerId : ofFramework(frameworkId)) remove(offerId, false, 0, why);
}

void OfferBook::decline(const std::string& frameworkId, const std::vector<std::string>& offerIds,
                        double refuseSeconds) {
  for (const std::string& offerId : offerIds) {
    auto it = offers_.find(offerId);
    if (it == offers_.end() || it->second.offer.frameworkId != frameworkId) {
      VLOG(1) << "framework " << frameworkId << " declined unknown offer " << offerId;
      continue;
    }
    remove(offerId, false, refuseSeconds, "declined");
    ctx_.metrics.offersDeclined();
  }
}

void OfferBook::armTimeout(const std::string& offerId) {
  if (options_.timeout <= Duration::zero()) return;
  timers_[offerId] = ctx_.loop.addTimer(options_.timeout,
                                        guard_.wrap([this, offerId] { timedOut(offerId); }));
}

void OfferBook::timedOut(const std::string& offerId) {
  timers_.erase(offerId);  // fired: nothing to cancel
  auto it = offers_.find(offerId);
  if (it == offers_.end()) return;
  VLOG(1) << "offer " << offerId << " to framework " << it->second.offer.frameworkId
          << " timed out after " << toSeconds(options_.timeout) << "s; rescinding";
  rescind(offerId, "timeout", std::min(toSeconds(options_.timeout), kTimedOutRefuseSeconds));
}

}  // namespace agora::master
