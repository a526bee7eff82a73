#include "master/master.hpp"

#include <glog/logging.h>

#include <cstdio>

#include "common/codec.hpp"
#include "common/model.hpp"
#include "master/allocator/hierarchical_allocator.hpp"

namespace agora::master {

namespace {

std::string randomMasterId() { return hexEncode(randomUuidBytes().substr(0, 4)); }

std::unique_ptr<Sorter> sorterNamed(const std::string& name);

std::unique_ptr<Allocator> makeAllocator(const Clock& clock, const MasterOptions& options) {
  auto allocator = std::make_unique<HierarchicalAllocator>(clock, sorterNamed(options.allocatorSorter));
  if (!options.minAllocatable.empty()) allocator->setMinAllocatable(options.minAllocatable);
  return allocator;
}

std::unique_ptr<Sorter> sorterNamed(const std::string& name) {
  std::unique_ptr<Sorter> sorter = makeSorter(name);
  if (sorter != nullptr) return sorter;
  LOG(ERROR) << "unknown allocator sorter '" << name << "'; using drf";
  return makeSorter("drf");
}

}  // namespace

Master::Master(EventLoop& loop, ServerTransport& transport, MasterOptions options, Metrics& metrics)
    : Master(loop, transport, std::move(options), nullptr, &metrics) {}

Master::Master(EventLoop& loop, ServerTransport& transport, MasterOptions options)
    : Master(loop, transport, std::move(options), std::make_unique<Metrics>(), nullptr) {}

Master::Master(EventLoop& loop, ServerTransport& transport, MasterOptions options,
               std::unique_ptr<Metrics> owned, Metrics* borrowed)
    : loop_(loop),
      transport_(transport),
      options_(std::move(options)),
      ownedMetrics_(std::move(owned)),
      metrics_(borrowed != nullptr ? *borrowed : *ownedMetrics_),
      allocator_(makeAllocator(loop.clock(), options_)),
      bus_(loop.clock()) {
  state_.masterId = options_.masterId.empty() ? randomMasterId() : options_.masterId;
  state_.startTime = loop_.clock().wallSeconds();
  transport_.setHandler([this](const std::string& peer, std::string_view protocol,
                               std::string_view payload) { onFrame(peer, protocol, payload); });
  timers_.push_back(
      loop_.addPeriodic(seconds(options_.agentPingIntervalSec), [this] { pingAgents(); }));
  timers_.push_back(loop_.addPeriodic(seconds(options_.frameworkHeartbeatIntervalSec),
                                      [this] { checkSchedulers(); }));
  timers_.push_back(loop_.addPeriodic(kAllocationPeriod, [this] { allocate(); }));
  timers_.push_back(loop_.addPeriodic(
      kGaugePeriod, [this] { metrics_.updateGauges(state_, loop_.lagMs()); }));
  // Readers on HTTP threads ask the loop for a render when the state changed.
  snapshots_.setRenderRequest([this, alive = std::weak_ptr<bool>(alive_)] {
    loop_.post([this, alive] {
      if (alive.lock() && snapshots_.stale()) publishSnapshot();
    });
  });
  state_.tasks.setBounds(options_.completedTasks);
  if (options_.registrar != nullptr) {
    taskHistory_ = std::make_unique<TaskHistory>(loop_, *options_.registrar, options_.taskHistory);
    state_.tasks.setObserver(taskHistory_.get());
    recover(options_.registrar->recovered());
    recoverCompletedTasks(options_.registrar->recovered());
  }
  publishSnapshot();
  LOG(INFO) << "master " << state_.masterId << " serving on " << transport_.endpoint();
}

Master::~Master() {
  *alive_ = false;
  state_.tasks.setObserver(nullptr);
  taskHistory_.reset();  // hands its pending writes to the registrar
  transport_.setHandler(nullptr);
  for (EventLoop::TimerId id : timers_) loop_.cancelTimer(id);
  for (const auto& [offerId, id] : offerTimers_) loop_.cancelTimer(id);
  for (auto& [id, framework] : state_.frameworks) {
    if (framework.failoverTimer) loop_.cancelTimer(*framework.failoverTimer);
  }
}

void Master::recoverCompletedTasks(const RegistryContents& contents) {
  if (contents.tasks.empty()) return;
  restoreCompletedTasks(state_.tasks, contents.tasks);
  LOG(INFO) << "recovered " << state_.tasks.completedCount() << " completed tasks of "
            << state_.tasks.completedFrameworks() << " frameworks (of " << contents.tasks.size()
            << " in the registry)";
  markChanged();
}

void Master::forwardAcknowledgement(const std::string& frameworkId, const std::string& agentId,
                                    const std::string& taskId, const std::string& uuid) {
  Agent* agent = state_.findAgent(agentId);
  if (agent == nullptr || agent->status != AgentStatus::kRegistered) {
    // The agent resends the update once it is back; the scheduler acknowledges again.
    VLOG(1) << "acknowledgement for task " << taskId << " on unavailable agent " << agentId;
    return;
  }
  sendToAgent(agent->peer, "statusUpdateAck", [&](AgentEnvelope::Builder out) {
    auto forward = out.initStatusUpdateAck();
    forward.setAgentId(agentId);
    forward.setFrameworkId(frameworkId);
    forward.setTaskId(taskId);
    forward.setUuid(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
  });
}

void Master::onFrame(const std::string& peer, std::string_view protocol, std::string_view payload) {
  if (strikes_.banned(peer, loop_.clock().now())) {
    reject("banned_peer", "frame from " + peer);
  } else if (payload.size() > kMaxMessageBytes) {
    reject("oversized", "frame of " + std::to_string(payload.size()) + " bytes from " + peer);
  } else if (protocol == kAgentProtocol) {
    onAgentFrame(peer, payload);
  } else if (protocol == kSchedulerProtocol) {
    onSchedulerFrame(peer, payload);
  } else {
    reject("unknown_protocol",
           "frame with protocol tag of " + std::to_string(protocol.size()) + " bytes from " + peer);
  }
}

void Master::reject(const std::string& reason, const std::string& detail) {
  metrics_.rejected(reason);
  LOG_EVERY_N(WARNING, 100) << "dropping frame (" << reason << "): " << detail << " ["
                            << google::COUNTER << " so far]";
  markChanged();
}

void Master::rejectUndecodable(const std::string& peer, const char* who, const Error& error) {
  if (error.code != ErrorCode::kTooLarge) {
    reject("malformed", std::string(who) + " " + peer + ": " + error.message);
    return;
  }
  reject("oversized", std::string(who) + " " + peer + ": " + error.message);
  if (strikes_.strike(peer, loop_.clock().now())) {
    LOG(WARNING) << "turning away " << who << " " << peer
                 << " for a while: it keeps sending frames that unpack past the limit";
  }
}

bool Master::sendToAgent(const std::string& peer, const char* type,
                         const std::function<void(AgentEnvelope::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  fill(envelope);
  metrics_.messageOut(std::string(kAgentProtocol), type);
  if (!transport_.send(peer, kAgentProtocol, encodePacked(message))) {
    VLOG(1) << "cannot send " << type << " to agent " << peer;
    return false;
  }
  return true;
}

void Master::sendEvent(const std::string& peer, const char* type,
                       const std::function<void(schema::Event::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setVersion(schema::PROTOCOL_VERSION);
  fill(event);
  metrics_.messageOut(std::string(kSchedulerProtocol), type);
  if (!transport_.send(peer, kSchedulerProtocol, encodePacked(message))) {
    VLOG(1) << "cannot send " << type << " to scheduler " << peer;
  }
}

void Master::sendUpdate(const Framework& framework, const TaskStatus& status) {
  if (!framework.connected) return;  // reliable updates are resent by the agent
  sendEvent(framework.peer, "update",
            [&](schema::Event::Builder event) { toCapnp(status, event.initUpdate()); });
}

void Master::sendError(const std::string& peer, const std::string& message) {
  sendEvent(peer, "error", [&](schema::Event::Builder event) { event.setError(message); });
}

void Master::scheduleAllocation() {
  markChanged();
  if (allocationPending_) return;
  allocationPending_ = true;
  loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.lock()) return;
    allocationPending_ = false;
    allocate();
  });
}

void Master::allocate() {
  std::map<std::string, std::vector<Offer>> byFramework;
  std::vector<Allocation> allocations = allocator_->allocate();
  if (allocator_->stats().filtersExpired != filtersExpiredSeen_) {
    filtersExpiredSeen_ = allocator_->stats().filtersExpired;
    markChanged();  // the roles view lists live filters
  }
  for (Allocation& allocation : allocations) {
    Agent* agent = state_.findAgent(allocation.agentId);
    Framework* framework = state_.findFramework(allocation.frameworkId);
    if (agent == nullptr || framework == nullptr || !framework->active) {
      // The allocator and the master disagree; give the resources back.
      LOG(ERROR) << "allocator offered " << allocation.resources.toString() << " on agent "
                 << allocation.agentId << " to framework " << allocation.frameworkId
                 << " which cannot take offers";
      allocator_->recover(allocation.frameworkId, allocation.role, allocation.agentId,
                          allocation.resources, 0);
      continue;
    }
    Offer offer;
    offer.id = state_.masterId + "-O" + std::to_string(nextOfferNumber_++);
    offer.frameworkId = framework->info.id;
    offer.agentId = agent->id;
    offer.hostname = agent->hostname;
    offer.resources = std::move(allocation.resources);
    offer.attributes = agent->attributes;
    offer.agentUrl = agent->url;
    offer.role = std::move(allocation.role);
    agent->offerIds.insert(offer.id);
    framework->offerIds.insert(offer.id);
    state_.offers[offer.id] = OfferRecord{offer, loop_.clock().now()};
    armOfferTimeout(offer.id);
    if (bus_.active()) {
      bus_.publish(events::OfferSent{offer.id, offer.frameworkId, offer.agentId, offer.role,
                                     offer.resources});
    }
    byFramework[framework->info.id].push_back(std::move(offer));
  }
  for (const auto& [frameworkId, offers] : byFramework) {
    const Framework& framework = state_.frameworks.at(frameworkId);
    sendEvent(framework.peer, "offers", [&](schema::Event::Builder event) {
      auto list = event.initOffers(static_cast<unsigned>(offers.size()));
      for (unsigned i = 0; i < offers.size(); ++i) toCapnp(offers[i], list[i]);
    });
    metrics_.offersSent(offers.size());
    markChanged();
  }
}

Offer Master::takeOffer(const std::string& offerId, const char* why, bool rescinded) {
  auto it = state_.offers.find(offerId);
  CHECK(it != state_.offers.end()) << "unknown offer " << offerId;
  Offer offer = std::move(it->second.offer);
  state_.offers.erase(it);
  if (auto timer = offerTimers_.find(offerId); timer != offerTimers_.end()) {
    loop_.cancelTimer(timer->second);
    offerTimers_.erase(timer);
  }
  if (Agent* agent = state_.findAgent(offer.agentId)) agent->offerIds.erase(offerId);
  if (Framework* framework = state_.findFramework(offer.frameworkId)) {
    framework->offerIds.erase(offerId);
  }
  markChanged();
  if (bus_.active()) {
    bus_.publish(events::OfferRemoved{offerId, offer.frameworkId, offer.agentId, why, rescinded});
  }
  return offer;
}

void Master::removeOffer(const std::string& offerId, bool notify, double refuseSeconds,
                         const char* why) {
  if (!state_.offers.count(offerId)) return;
  Offer offer = takeOffer(offerId, why, notify);
  Framework* framework = state_.findFramework(offer.frameworkId);
  allocator_->recover(offer.frameworkId, offer.role, offer.agentId, offer.resources,
                      refuseSeconds);
  if (notify && framework != nullptr && framework->connected) {
    sendEvent(framework->peer, "rescind",
              [&](schema::Event::Builder event) { event.setRescind(offerId); });
  }
  scheduleAllocation();
}

void Master::rescindOffer(const std::string& offerId, const char* reason, double refuseSeconds) {
  if (!state_.offers.count(offerId)) return;
  metrics_.offersRescinded(reason);
  removeOffer(offerId, true, refuseSeconds, reason);
}

void Master::armOfferTimeout(const std::string& offerId) {
  if (options_.offerTimeoutSec <= 0) return;
  offerTimers_[offerId] = loop_.addTimer(seconds(options_.offerTimeoutSec),
                                         [this, offerId] { offerTimedOut(offerId); });
}

void Master::offerTimedOut(const std::string& offerId) {
  offerTimers_.erase(offerId);  // fired: nothing to cancel
  auto it = state_.offers.find(offerId);
  if (it == state_.offers.end()) return;
  VLOG(1) << "offer " << offerId << " to framework " << it->second.offer.frameworkId
          << " timed out after " << options_.offerTimeoutSec << "s; rescinding";
  rescindOffer(offerId, "timeout", std::min(options_.offerTimeoutSec, kTimedOutRefuseSeconds));
}

Status Master::setWeight(const std::string& role, double weight) {
  Status status = allocator_->setWeight(role, weight);
  if (status) {
    LOG(INFO) << "role " << role << ": weight set to " << weight;
    persist({putWeight(role, weight)});
    if (bus_.active()) bus_.publish(events::WeightChanged{role, weight});
    scheduleAllocation();
  }
  return status;
}

Status Master::setQuota(const std::string& role, std::optional<Resources> guarantee,
                        std::optional<Resources> limit) {
  Status status = allocator_->setQuota(role, guarantee, limit);
  if (status) {
    LOG(INFO) << "role " << role << ": quota guarantee "
              << (guarantee ? guarantee->toString() : "none") << ", limit "
              << (limit ? limit->toString() : "none");
    bool none = (!guarantee || guarantee->empty()) && !limit;
    persist({none ? eraseQuota(role) : putQuota(role, {guarantee, limit})});
    if (bus_.active()) bus_.publish(events::QuotaChanged{role, guarantee, limit});
    scheduleAllocation();
  }
  return status;
}

Status Master::removeQuota(const std::string& role) {
  Status status = allocator_->removeQuota(role);
  if (status) {
    LOG(INFO) << "role " << role << ": quota removed";
    persist({eraseQuota(role)});
    if (bus_.active()) bus_.publish(events::QuotaChanged{role, std::nullopt, std::nullopt});
    scheduleAllocation();
  }
  return status;
}

std::shared_ptr<const Snapshot> Master::snapshot() {
  if (snapshots_.stale()) publishSnapshot();
  return snapshots_.latest();
}

void Master::publishSnapshot() {
  metrics_.updateGauges(state_, loop_.lagMs());
  uint64_t generation = snapshots_.generation();
  snapshots_.publish(renderSnapshot(SnapshotInputs{state_, options_.version, allocator_.get(),
                                                   &loop_.clock(), options_.offerTimeoutSec}),
                    generation);
}

}  // namespace agora::master
