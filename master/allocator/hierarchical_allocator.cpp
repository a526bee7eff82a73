#include "master/allocator/hierarchical_allocator.hpp"

#include <glog/logging.h>

#include <algorithm>

#include "master/allocator/drf_sorter.hpp"
#include "master/allocator/role_name.hpp"

namespace agora::master {

namespace {

constexpr double kMaxRefuseSeconds = 365.0 * 86400;

bool hasRole(const std::vector<std::string>& roles, const std::string& role) {
  return roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end();
}

}  // namespace

HierarchicalAllocator::HierarchicalAllocator(const Clock& clock, std::unique_ptr<Sorter> sorter)
    : clock_(clock),
      sorter_(std::move(sorter)),
      tree_(*sorter_) {
  setMinAllocatable(*parseMinAllocatable(kDefaultMinAllocatable));
}

HierarchicalAllocator::HierarchicalAllocator(const Clock& clock)
    : HierarchicalAllocator(clock, std::make_unique<DrfSorter>()) {}

void HierarchicalAllocator::markDirty(AgentSlot& agent) {
  if (agent.dirty) return;
  agent.dirty = true;
  dirty_.push_back(agent.id);
}

void HierarchicalAllocator::addAgent(const std::string& agentId, const Resources& total,
                                     const UsedResources& used, const KeyValues& attributes) {
  removeAgent(agentId);
  auto slot = std::make_unique<AgentSlot>();
  AgentSlot& agent = *slot;
  agent.id = agentId;
  agent.total = total;
  agent.free = total;
  agent.attributes = attributes;
  agents_.emplace(agentId, std::move(slot));
  clusterTotal_ += total;
  clusterFree_ += total;
  tree_.setTotal(clusterTotal_);
  trackReservations(total, true);
  for (const auto& [key, resources] : used) {
    const auto& [frameworkId, role] = key;
    if (!frameworks_.count(frameworkId)) addFramework(frameworkId, {role});
    const ClientSlot* client = clientOf(frameworkId, role);
    uint32_t index = client != nullptr ? frameworks_[frameworkId].clients.at(role)
                                       : addClient(frameworkId, role);
    Resources amount = resources;
    if (!agent.free.contains(amount)) amount = agent.free - (agent.free - amount);
    addAllocation(agent, index, amount);
  }
  applyConstraints(agent);
  markDirty(agent);
}

void HierarchicalAllocator::removeAgent(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return;
  AgentSlot& agent = *it->second;
  for (const auto& [client, resources] : agent.allocated) {
    tree_.unallocate(client, resources);
    headroomChanged_ = true;
  }
  clusterTotal_ -= agent.total;
  clusterFree_ -= agent.free;
  tree_.setTotal(clusterTotal_);
  Resources total = std::move(agent.total);
  agents_.erase(it);
  trackReservations(total, false);  // dirty_ and expiries_ entries are skipped once it is gone
}

uint32_t HierarchicalAllocator::addClient(const std::string& frameworkId, const std::string& role) {
  uint32_t index;
  if (!freeClientIndices_.empty()) {
    index = freeClientIndices_.back();
    freeClientIndices_.pop_back();
  } else {
    index = static_cast<uint32_t>(clients_.size());
    clients_.emplace_back();
  }
  ClientSlot& client = clients_[index];
  client.frameworkId = frameworkId;
  client.role = role;
  client.inUse = true;
  client.subscribed = true;
  client.suppressed = false;
  tree_.addClient(index, frameworkId, tree_.role(role));
  frameworks_[frameworkId].clients[role] = index;
  applyConstraints(index);
  updateActive(index);
  return index;
}

void HierarchicalAllocator::removeClient(uint32_t index) {
  for (auto& [id, agent] : agents_) {
    auto it = agent->allocated.find(index);
    if (it == agent->allocated.end()) continue;
    Resources resources = it->second;
    removeAllocation(*agent, index, resources);
  }
  tree_.removeClient(index);
  ClientSlot& client = clients_[index];
  client.inUse = false;
  ++client.epoch;  // its filters die with it
  ++filterGeneration_;
  active_.reset(index);
  freeClientIndices_.push_back(index);
}

void HierarchicalAllocator::updateActive(uint32_t index) {
  const ClientSlot& client = clients_[index];
  auto fw = frameworks_.find(client.frameworkId);
  bool active = client.inUse && client.subscribed && !client.suppressed &&
                fw != frameworks_.end() && fw->second.active;
  if (active && !active_.test(index)) fullPass_ = true;
  if (active) {
    active_.set(index);
  } else {
    active_.reset(index);
  }
}

const HierarchicalAllocator::ClientSlot* HierarchicalAllocator::clientOf(
    const std::string& frameworkId, const std::string& role) const {
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return nullptr;
  auto it = fw->second.clients.find(role);
  return it == fw->second.clients.end() ? nullptr : &clients_[it->second];
}

void HierarchicalAllocator::addFramework(const std::string& frameworkId,
                                         const std::vector<std::string>& rolesIn) {
  std::vector<std::string> roles = rolesIn;
  if (roles.empty()) roles = {std::string(kDefaultRole)};
  FrameworkSlot& framework = frameworks_[frameworkId];
  framework.roles = roles;
  for (const std::string& role : roles) {
    CHECK(validateRoleName(role)) << "invalid role '" << role << "'";
    auto it = framework.clients.find(role);
    if (it == framework.clients.end()) {
      addClient(frameworkId, role);
    } else {
      clients_[it->second].subscribed = true;
      updateActive(it->second);
    }
  }
  std::vector<uint32_t> left;
  for (const auto& [role, index] : framework.clients) {
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) left.push_back(index);
  }
  for (uint32_t index : left) {
    clients_[index].subscribed = false;
    updateActive(index);
    if (tree_.client(index)->allocated.empty()) {
      framework.clients.erase(clients_[index].role);
      removeClient(index);
    }
  }
}

void HierarchicalAllocator::removeFramework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  if (it->second.constraints) {
    for (const auto& [role, index] : it->second.clients) clearConstraints(index);
    constrainedFrameworks_.erase(frameworkId);
  }
  std::map<std::string, uint32_t> clients = std::move(it->second.clients);
  frameworks_.erase(it);
  for (const auto& [role, index] : clients) removeClient(index);
}

void HierarchicalAllocator::activateFramework(const std::string& frameworkId) {
  if (!frameworks_.count(frameworkId)) addFramework(frameworkId, {});
  FrameworkSlot& framework = frameworks_[frameworkId];
  framework.active = true;
  for (const auto& [role, index] : framework.clients) updateActive(index);
}

void HierarchicalAllocator::deactivateFramework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  it->second.active = false;
  for (const auto& [role, index] : it->second.clients) updateActive(index);
}

void HierarchicalAllocator::suppress(const std::string& frameworkId,
                                     const std::vector<std::string>& roles) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  for (const auto& [role, index] : it->second.clients) {
    if (!hasRole(roles, role)) continue;
    clients_[index].suppressed = true;
    updateActive(index);
  }
}

void HierarchicalAllocator::revive(const std::string& frameworkId,
                                   const std::vector<std::string>& roles) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  for (const auto& [role, index] : it->second.clients) {
    if (!hasRole(roles, role)) continue;
    clients_[index].suppressed = false;
    ++clients_[index].epoch;  // drops its filters everywhere
    updateActive(index);
  }
  ++filterGeneration_;
  fullPass_ = true;
}

void HierarchicalAllocator::addAllocation(AgentSlot& agent, uint32_t client,
                                          const Resources& resources) {
  agent.allocated[client] += resources;
  agent.free -= resources;
  clusterFree_ -= resources;
  invalidateMask(agent);
  tree_.allocate(client, resources);
  for (const TreeNode* n = tree_.client(client)->parent; n != nullptr; n = n->parent) {
    if (n->guarantee) headroomChanged_ = true;
  }
}

void HierarchicalAllocator::removeAllocation(AgentSlot& agent, uint32_t client,
                                             const Resources& resources) {
  auto it = agent.allocated.find(client);
  it->second -= resources;
  if (it->second.empty()) agent.allocated.erase(it);
  agent.free += resources;
  clusterFree_ += resources;
  invalidateMask(agent);
  markDirty(agent);
  tree_.unallocate(client, resources);
  for (TreeNode* n = tree_.client(client)->parent; n != nullptr; n = n->parent) {
    if (n->guarantee) headroomChanged_ = true;
    if (n->limitBlocked) {
      n->limitBlocked = false;
      fullPass_ = true;
    }
  }
}

void HierarchicalAllocator::recover(const std::string& frameworkId, const std::string& role,
                                    const std::string& agentId, const Resources& resources,
                                    double refuseSeconds) {
  auto agentIt = agents_.find(agentId);
  auto fw = frameworks_.find(frameworkId);
  if (agentIt == agents_.end() || fw == frameworks_.end()) return;
  auto clientIt = fw->second.clients.find(role);
  if (clientIt == fw->second.clients.end()) return;
  uint32_t index = clientIt->second;
  AgentSlot& agent = *agentIt->second;
  auto it = agent.allocated.find(index);
  if (it == agent.allocated.end()) return;
  // Never recover more than is allocated: a duplicate recovery must not mint resources.
  Resources amount = resources;
  if (!it->second.contains(amount)) {
    LOG(WARNING) << "allocator: recovering " << amount.toString() << " on agent " << agentId
                 << " but framework " << frameworkId << " in role " << role << " holds "
                 << it->second.toString();
    amount = it->second - (it->second - amount);
  }
  removeAllocation(agent, index, amount);
  if (refuseSeconds > 0 && !amount.empty()) {
    TimePoint expires = clock_.now() + seconds(std::min(refuseSeconds, kMaxRefuseSeconds));
    std::shared_ptr<const Resources> shared;
    if (!agent.filters.empty() && *agent.filters.back().resources == amount) {
      shared = agent.filters.back().resources;
    } else {
      shared = std::make_shared<const Resources>(amount);
    }
    agent.filters.push_back(Filter{index, clients_[index].epoch, expires, std::move(shared)});
    if (!agent.nextExpiry || expires < *agent.nextExpiry) {
      agent.nextExpiry = expires;
      expiries_.push(ExpiryEntry{expires, agentId});
    }
  }
}

void HierarchicalAllocator::refreshMask(AgentSlot& agent, TimePoint now) {
  if (agent.maskValid && agent.maskGeneration == filterGeneration_) return;
  std::erase_if(agent.filters, [&](const Filter& f) {
    return f.expires <= now || f.epoch != clients_[f.client].epoch;
  });
  agent.filtered.clear();
  const Resources* last = nullptr;
  bool covers = false;
  for (const Filter& filter : agent.filters) {
    if (filter.resources.get() != last) {
      last = filter.resources.get();
      covers = last->contains(agent.free);
    }
    if (covers) agent.filtered.set(filter.client);
  }
  agent.maskValid = true;
  agent.maskGeneration = filterGeneration_;
}

bool HierarchicalAllocator::filteredFor(const AgentSlot& agent, uint32_t client,
                                        const Resources& offer, TimePoint now) const {
  return std::any_of(agent.filters.begin(), agent.filters.end(), [&](const Filter& f) {
    return f.client == client && f.epoch == clients_[client].epoch && f.expires > now &&
           f.resources->contains(offer);
  });
}

void HierarchicalAllocator::expireFilters(TimePoint now) {
  while (!expiries_.empty() && expiries_.top().when <= now) {
    std::string agentId = expiries_.top().agentId;
    expiries_.pop();
    auto it = agents_.find(agentId);
    if (it == agents_.end()) continue;
    AgentSlot& agent = *it->second;
    if (!agent.nextExpiry || *agent.nextExpiry > now) continue;  // a stale entry
    std::erase_if(agent.filters, [&](const Filter& f) { return f.expires <= now; });
    agent.nextExpiry.reset();
    for (const Filter& f : agent.filters) {
      if (!agent.nextExpiry || f.expires < *agent.nextExpiry) agent.nextExpiry = f.expires;
    }
    if (agent.nextExpiry) expiries_.push(ExpiryEntry{*agent.nextExpiry, agentId});
    invalidateMask(agent);
    markDirty(agent);
    ++stats_.filtersExpired;
  }
}

void HierarchicalAllocator::trackReservations(const Resources& resources, bool add) {
  if (!resources.hasReservations()) return;
  for (const std::string& role : resources.reservationRoles()) {
    Resources part = resources.reservedFor(role);
    if (add) {
      tree_.reserve(role, part);
    } else {
      tree_.unreserve(role, part);
    }
  }
  headroomChanged_ = true;
  fullPass_ = true;  // quota consumption changed
}

void HierarchicalAllocator::reservationsChanged(AgentSlot& agent, const Resources& from,
                                                const Resources& to) {
  agent.total -= from;
  agent.total += to;
  clusterTotal_ -= from;
  clusterTotal_ += to;
  trackReservations(from, false);
  trackReservations(to, true);
  invalidateMask(agent);
  markDirty(agent);
}

Status HierarchicalAllocator::updateAvailable(const std::string& agentId, const Resources& from,
                                              const Resources& to) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) {
    return makeError(ErrorCode::kNotFound, "agent '" + agentId + "' is not registered");
  }
  AgentSlot& agent = *it->second;
  if (auto within = checkReservationQuota(from, to, "", ""); !within) return within;
  if (!agent.free.contains(from)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "agent '" + agentId + "' has " + agent.free.toString() +
                         " free (neither offered nor in use), not " + from.toString());
  }
  agent.free -= from;
  agent.free += to;
  clusterFree_ -= from;
  clusterFree_ += to;
  reservationsChanged(agent, from, to);
  return {};
}

Status HierarchicalAllocator::updateAllocation(const std::string& frameworkId,
                                               const std::string& role,
                                               const std::string& agentId, const Resources& from,
                                               const Resources& to) {
  auto agentIt = agents_.find(agentId);
  const ClientSlot* slot = clientOf(frameworkId, role);
  if (agentIt == agents_.end() || slot == nullptr) {
    return makeError(ErrorCode::kNotFound, "no allocation to framework '" + frameworkId +
                                               "' in role '" + role + "' on agent '" + agentId +
                                               "'");
  }
  uint32_t index = frameworks_.at(frameworkId).clients.at(role);
  AgentSlot& agent = *agentIt->second;
  auto it = agent.allocated.find(index);
  if (it == agent.allocated.end() || !it->second.contains(from)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "framework '" + frameworkId + "' does not hold " + from.toString() +
                         " on agent '" + agentId + "'");
  }
  it->second -= from;
  it->second += to;
  tree_.unallocate(index, from);
  tree_.allocate(index, to);
  reservationsChanged(agent, from, to);
  return {};
}

Resources HierarchicalAllocator::agentTotal(const std::string& agentId) const {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? Resources() : it->second->total;
}

Status HierarchicalAllocator::setWeight(const std::string& role, double weight) {
  if (auto valid = validateRoleName(role); !valid) return valid;
  if (!(weight > 0) || weight > 1e6) {
    return makeError(ErrorCode::kInvalidArgument, "weight must be a number in (0, 1e6]");
  }
  TreeNode& node = tree_.role(role);
  tree_.setWeight(node, weight);
  if (weight == 1) tree_.prune(&node);
  fullPass_ = true;
  return {};
}

Status HierarchicalAllocator::setQuota(const std::string& role, std::optional<Resources> guarantee,
                                       std::optional<Resources> limit) {
  if (auto valid = validateRoleName(role); !valid) return valid;
  if (guarantee && !guarantee->rangeNames().empty()) {
    return makeError(ErrorCode::kInvalidArgument, "guarantee: only scalar resources are allowed");
  }
  if (limit && !limit->rangeNames().empty()) {
    return makeError(ErrorCode::kInvalidArgument, "limit: only scalar resources are allowed");
  }
  if (guarantee && limit) {
    // A name the limit does not mention is unlimited.
    for (const std::string& name : guarantee->scalarNames()) {
      double cap = limit->scalar(name);
      if (cap > 0 && cap < guarantee->scalar(name)) {
        return makeError(ErrorCode::kInvalidArgument,
                         "limit: " + name + " " + std::to_string(cap) + " is below the guarantee " +
                             std::to_string(guarantee->scalar(name)));
      }
    }
  }
  if (limit) {
    if (auto covers = limitCoversReservations(role, *limit); !covers) return covers;
  }
  TreeNode& node = tree_.role(role);
  node.guarantee = guarantee && !guarantee->empty() ? guarantee : std::nullopt;
  node.limit = limit;
  node.limitBlocked = false;
  if (!node.guarantee && !node.limit) tree_.prune(&node);
  fullPass_ = true;
  headroomChanged_ = true;
  return {};
}

Status HierarchicalAllocator::removeQuota(const std::string& role) {
  if (auto valid = validateRoleName(role); !valid) return valid;
  TreeNode* node = tree_.findRole(role);
  if (node == nullptr || (!node->guarantee && !node->limit)) {
    return makeError(ErrorCode::kNotFound, "role '" + role + "' has no quota");
  }
  return setQuota(role, std::nullopt, std::nullopt);
}

Resources HierarchicalAllocator::allocated(const std::string& frameworkId) const {
  Resources sum;
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return sum;
  for (const auto& [role, index] : fw->second.clients) sum += tree_.client(index)->allocated;
  return sum;
}

Resources HierarchicalAllocator::allocated(const std::string& frameworkId,
                                           const std::string& role) const {
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return {};
  auto it = fw->second.clients.find(role);
  return it == fw->second.clients.end() ? Resources() : tree_.client(it->second)->allocated;
}

Resources HierarchicalAllocator::available(const std::string& agentId) const {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? Resources() : it->second->free;
}

double HierarchicalAllocator::dominantShare(const std::string& frameworkId) const {
  const_cast<RoleTree&>(tree_).refresh();
  return tree_.dominantShare(allocated(frameworkId));
}

std::vector<FilterView> HierarchicalAllocator::filterViews(TimePoint now) const {
  // Indexed by client: one pass over every filter with no hashing, since a
  // cluster of declining frameworks holds millions of them.
  std::vector<FilterView> views(clients_.size());
  std::vector<const AgentSlot*> lastAgent(clients_.size(), nullptr);  // counts each agent once
  for (const auto& [id, agent] : agents_) {
    for (const Filter& f : agent->filters) {
      if (f.expires <= now || f.epoch != clients_[f.client].epoch) continue;
      FilterView& view = views[f.client];
      if (view.agents == 0) view.earliestExpiry = view.latestExpiry = f.expires;
      if (lastAgent[f.client] != agent.get()) {
        lastAgent[f.client] = agent.get();
        ++view.agents;
      }
      view.earliestExpiry = std::min(view.earliestExpiry, f.expires);
      view.latestExpiry = std::max(view.latestExpiry, f.expires);
    }
  }
  return views;
}

std::vector<RoleView> HierarchicalAllocator::roles() const {
  std::vector<FilterView> filters = filterViews(clock_.now());
  std::map<std::string, Resources> reservedFree;
  if (clusterFree_.hasReservations()) {
    for (const auto& [id, agent] : agents_) {
      for (const std::string& role : agent->free.reservationRoles()) {
        reservedFree[role] += agent->free.reservedFor(role);
      }
    }
  }
  std::vector<RoleView> out;
  for (const auto& [name, node] : tree_.roles()) {
    RoleView view;
    view.name = name;
    view.weight = node->weight;
    view.guarantee = node->guarantee;
    view.limit = node->limit;
    view.consumed = quotaConsumed(*node);
    view.allocated = node->allocated;
    view.reserved = node->reserved;
    if (auto it = reservedFree.find(name); it != reservedFree.end()) view.reservedFree = it->second;
    view.guaranteeExceedsCapacity = node->guarantee && !clusterTotal_.contains(*node->guarantee);
    for (const TreeNode* child : node->children) {
      if (!child->client) continue;
      const ClientSlot& client = clients_[child->clientIndex];
      if (!client.subscribed) continue;
      view.frameworks.push_back(client.frameworkId);
      if (client.suppressed) view.suppressed.push_back(client.frameworkId);
      FilterView& filter = filters[child->clientIndex];
      if (filter.agents > 0) {
        filter.frameworkId = client.frameworkId;
        view.filters.push_back(std::move(filter));
      }
    }
    std::sort(view.frameworks.begin(), view.frameworks.end());
    std::sort(view.suppressed.begin(), view.suppressed.end());
    std::sort(view.filters.begin(), view.filters.end(),
              [](const FilterView& a, const FilterView& b) { return a.frameworkId < b.frameworkId; });
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace agora::master
