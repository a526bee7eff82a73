#include "master/master.hpp"

#include <glog/logging.h>

#include "common/codec.hpp"
#include "master/allocator/hierarchical_allocator.hpp"

namespace agora::master {

namespace {

std::string randomMasterId() { return hexEncode(randomUuidBytes().substr(0, 4)); }

std::unique_ptr<Sorter> sorterNamed(const std::string& name) {
  std::unique_ptr<Sorter> sorter = makeSorter(name);
  if (sorter != nullptr) return sorter;
  LOG(ERROR) << "unknown allocator sorter '" << name << "'; using drf";
  return makeSorter("drf");
}

std::unique_ptr<Allocator> makeAllocator(const Clock& clock, const MasterOptions& options) {
  auto allocator =
      std::make_unique<HierarchicalAllocator>(clock, sorterNamed(options.allocatorSorter));
  if (!options.minAllocatable.empty()) allocator->setMinAllocatable(options.minAllocatable);
  return allocator;
}

MasterMetrics::GaugeCounts gaugeCounts(const MasterView& view) {
  MasterMetrics::GaugeCounts counts;
  for (const auto& [id, agent] : view.agents) counts.agentsByStatus[agentStatusName(agent.status)]++;
  for (const auto& [id, framework] : view.frameworks) {
    counts.frameworksByStatus[framework.connected ? "connected" : "disconnected"]++;
  }
  view.tasks.forEach([&](const Task& task) { counts.tasksByState[taskStateName(task.state)]++; });
  counts.offersOutstanding = static_cast<double>(view.offers.size());
  return counts;
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
      outbox_(transport, metrics_),
      persister_(loop, options_.registrar),
      allocator_(makeAllocator(loop.clock(), options_)),
      bus_(loop.clock()),
      ctx_{loop, options_.masterId.empty() ? randomMasterId() : options_.masterId,
           loop.clock().wallSeconds(), metrics_, outbox_, persister_, *allocator_, bus_,
           [this] { snapshots_.markChanged(); }, [this] { scheduleAllocation(); }} {
  offers_ = std::make_unique<OfferBook>(ctx_, OfferOptions{options_.offerTimeout});
  tasks_ = std::make_unique<Tasks>(ctx_, TaskOptions{options_.completedTasks, options_.taskHistory});
  frameworks_ = std::make_unique<Frameworks>(
      ctx_,
      FrameworkOptions{options_.frameworkHeartbeatInterval, options_.frameworkResubscribeTimeout,
                       options_.maxFrameworksPerPrincipal, options_.subscribeRate},
      *offers_, *tasks_);
  agents_ = std::make_unique<Agents>(
      ctx_,
      AgentOptions{options_.agentPingInterval, options_.agentMaxMissedPings,
                   options_.agentReregisterTimeout, options_.agentUnreachableTimeout,
                   options_.registryMaxAgentAge, options_.registryMaxAgentCount,
                   options_.agentRegistrationRate},
      *frameworks_, *offers_, *tasks_);
  operations_ = std::make_unique<Operations>(ctx_, *agents_, *frameworks_, *offers_, *tasks_);
  ctx_.agentDirectory = agents_.get();
  if (options_.authorizer == nullptr) ownedAuthorizer_ = std::make_unique<acl::Authorizer>();
  ctx_.authorizer = options_.authorizer != nullptr ? options_.authorizer : ownedAuthorizer_.get();
  ctx_.frameworkDirectory = frameworks_.get();

  transport_.setHandler([this](const std::string& peer, std::string_view protocol,
                               std::string_view payload) { onFrame(peer, protocol, payload); });
  timers_.push_back(loop_.addPeriodic(options_.agentPingInterval,
                                      [this] { agents_->pingAgents(); }));
  timers_.push_back(loop_.addPeriodic(options_.frameworkHeartbeatInterval,
                                      [this] { frameworks_->checkSchedulers(); }));
  timers_.push_back(loop_.addPeriodic(kAllocationPeriod, [this] { offers_->allocate(); }));
  timers_.push_back(loop_.addPeriodic(
      kGaugePeriod, [this] { metrics_.updateGauges(gaugeCounts(state()), loop_.lagMs()); }));
  // Readers on HTTP threads ask the loop for a render when the state changed.
  snapshots_.setRenderRequest([this, request = guard_.wrap([this] {
                                 if (snapshots_.stale()) publishSnapshot();
                               })] { loop_.post(request); });
  if (options_.registrar != nullptr) recover(options_.registrar->recovered());
  publishSnapshot();
  LOG(INFO) << "master " << ctx_.masterId << " serving on " << transport_.endpoint();
}

Master::~Master() {
  guard_.invalidate();
  transport_.setHandler(nullptr);
  for (EventLoop::TimerId id : timers_) loop_.cancelTimer(id);
}

MasterView Master::state() const {
  return MasterView{ctx_.masterId,     ctx_.startTime,       agents_->all(),
                    agents_->gone(),   frameworks_->all(),   frameworks_->removed(),
                    tasks_->table(),   offers_->all()};
}

void Master::scheduleAllocation() {
  snapshots_.markChanged();
  if (allocationPending_) return;
  allocationPending_ = true;
  loop_.post(guard_.wrap([this] {
    allocationPending_ = false;
    offers_->allocate();
  }));
}

std::shared_ptr<const Snapshot> Master::snapshot() {
  if (snapshots_.stale()) publishSnapshot();
  return snapshots_.latest();
}

void Master::publishSnapshot() {
  MasterView view = state();
  metrics_.updateGauges(gaugeCounts(view), loop_.lagMs());
  uint64_t generation = snapshots_.generation();
  snapshots_.publish(renderSnapshot(SnapshotInputs{view, options_.version, allocator_.get(),
                                                   &loop_.clock(), options_.offerTimeout}),
                     generation);
}

}  // namespace agora::master
