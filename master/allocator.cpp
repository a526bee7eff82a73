#include "master/allocator.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <limits>

namespace agora::master {

namespace {

bool worthOffering(const Resources& pool) {
  return pool.scalar("cpus") >= DrfAllocator::kMinCpus ||
         pool.scalar("mem") >= DrfAllocator::kMinMemMb;
}

}  // namespace

void DrfAllocator::addAgent(const std::string& agentId, const Resources& total,
                            const std::map<std::string, Resources>& used) {
  removeAgent(agentId);
  AgentSlot& slot = agents_[agentId];
  slot.total = total;
  clusterTotal_ += total;
  for (const auto& [frameworkId, resources] : used) {
    if (!frameworks_.count(frameworkId)) addFramework(frameworkId);
    addAllocation(frameworkId, agentId, resources);
  }
}

void DrfAllocator::removeAgent(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return;
  for (const auto& [frameworkId, resources] : it->second.allocated) {
    auto fw = frameworks_.find(frameworkId);
    if (fw != frameworks_.end()) fw->second.allocated -= resources;
  }
  clusterTotal_ -= it->second.total;
  agents_.erase(it);
  for (auto& [id, framework] : frameworks_) framework.filters.erase(agentId);
}

void DrfAllocator::addFramework(const std::string& frameworkId) {
  if (frameworks_.count(frameworkId)) return;
  frameworks_[frameworkId].order = nextOrder_++;
}

void DrfAllocator::removeFramework(const std::string& frameworkId) {
  for (auto& [agentId, slot] : agents_) {
    auto it = slot.allocated.find(frameworkId);
    if (it == slot.allocated.end()) continue;
    slot.allocatedSum -= it->second;
    slot.allocated.erase(it);
  }
  frameworks_.erase(frameworkId);
}

void DrfAllocator::activateFramework(const std::string& frameworkId) {
  addFramework(frameworkId);
  frameworks_[frameworkId].active = true;
}

void DrfAllocator::deactivateFramework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it != frameworks_.end()) it->second.active = false;
}

void DrfAllocator::suppress(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it != frameworks_.end()) it->second.suppressed = true;
}

void DrfAllocator::revive(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  it->second.suppressed = false;
  it->second.filters.clear();
}

void DrfAllocator::addAllocation(const std::string& frameworkId, const std::string& agentId,
                                 const Resources& resources) {
  AgentSlot& slot = agents_.at(agentId);
  slot.allocated[frameworkId] += resources;
  slot.allocatedSum += resources;
  frameworks_.at(frameworkId).allocated += resources;
}

void DrfAllocator::recover(const std::string& frameworkId, const std::string& agentId,
                           const Resources& resources, double refuseSeconds) {
  auto agent = agents_.find(agentId);
  auto framework = frameworks_.find(frameworkId);
  if (agent == agents_.end() || framework == frameworks_.end()) return;
  auto it = agent->second.allocated.find(frameworkId);
  if (it == agent->second.allocated.end()) return;
  // Never recover more than is allocated: a duplicate recovery must not mint resources.
  Resources amount = resources;
  if (!it->second.contains(amount)) {
    LOG(WARNING) << "allocator: recovering " << amount.toString() << " on agent " << agentId
                 << " but framework " << frameworkId << " holds " << it->second.toString();
    amount = it->second - (it->second - amount);
  }
  it->second -= amount;
  if (it->second.empty()) agent->second.allocated.erase(it);
  agent->second.allocatedSum -= amount;
  framework->second.allocated -= amount;
  if (refuseSeconds > 0 && !amount.empty()) {
    framework->second.filters[agentId].push_back(
        Filter{amount, clock_.now() + seconds(std::min(refuseSeconds, 365.0 * 86400))});
  }
}

bool DrfAllocator::isFiltered(FrameworkSlot& framework, const std::string& agentId,
                              const Resources& pool, TimePoint now) const {
  auto it = framework.filters.find(agentId);
  if (it == framework.filters.end()) return false;
  std::erase_if(it->second, [&](const Filter& f) { return f.expires <= now; });
  if (it->second.empty()) {
    framework.filters.erase(it);
    return false;
  }
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const Filter& f) { return f.resources.contains(pool); });
}

double DrfAllocator::dominantShare(const std::string& frameworkId) const {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return 0;
  double share = 0;
  for (const std::string& name : it->second.allocated.scalarNames()) {
    double total = clusterTotal_.scalar(name);
    if (total > 0) share = std::max(share, it->second.allocated.scalar(name) / total);
  }
  for (const std::string& name : it->second.allocated.rangeNames()) {
    uint64_t total = clusterTotal_.rangeCount(name);
    if (total > 0) {
      share = std::max(share, static_cast<double>(it->second.allocated.rangeCount(name)) /
                                  static_cast<double>(total));
    }
  }
  return share;
}

const std::string* DrfAllocator::pickFramework(const std::string& agentId, const Resources& pool,
                                               TimePoint now) {
  const std::string* best = nullptr;
  double bestShare = std::numeric_limits<double>::infinity();
  uint64_t bestOrder = 0;
  for (auto& [id, framework] : frameworks_) {
    if (!framework.active || framework.suppressed) continue;
    if (isFiltered(framework, agentId, pool, now)) continue;
    double share = dominantShare(id);
    if (share < bestShare || (share == bestShare && framework.order < bestOrder)) {
      best = &id;
      bestShare = share;
      bestOrder = framework.order;
    }
  }
  return best;
}

std::vector<Allocation> DrfAllocator::allocate() {
  std::vector<Allocation> out;
  TimePoint now = clock_.now();
  for (auto& [agentId, slot] : agents_) {
    Resources pool = slot.total - slot.allocatedSum;
    if (!worthOffering(pool)) continue;
    const std::string* frameworkId = pickFramework(agentId, pool, now);
    if (frameworkId == nullptr) continue;
    addAllocation(*frameworkId, agentId, pool);
    out.push_back(Allocation{*frameworkId, agentId, std::move(pool)});
  }
  return out;
}

Resources DrfAllocator::allocated(const std::string& frameworkId) const {
  auto it = frameworks_.find(frameworkId);
  return it == frameworks_.end() ? Resources() : it->second.allocated;
}

Resources DrfAllocator::available(const std::string& agentId) const {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? Resources() : it->second.total - it->second.allocatedSum;
}

}  // namespace agora::master
