// HierarchicalAllocator::allocate(): the two-stage pass over dirty (or all) agents.

#include <glog/logging.h>

#include <algorithm>

#include "master/allocator/hierarchical_allocator.hpp"

namespace agora::master {

namespace {

// offer[name] = min(offer[name], cap) for each (name, cap).
void clipScalars(Resources& offer, const std::vector<std::pair<std::string, double>>& caps) {
  for (const auto& [name, cap] : caps) {
    if (offer.unreservedScalar(name) > cap) CHECK(offer.setScalar(name, cap));
  }
}

// (name, limit - allocated floored at zero) for each scalar the limit names.
std::vector<std::pair<std::string, double>> headroomUnder(const Resources& limit,
                                                          const Resources& allocated) {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& name : limit.scalarNames()) {
    out.emplace_back(name, std::max(0.0, limit.scalar(name) - allocated.scalar(name)));
  }
  return out;
}

// (a - b) per scalar name of `a`, floored at zero.
Resources scalarGap(const Resources& a, const Resources& b) {
  Resources out;
  for (const std::string& name : a.scalarNames()) {
    double gap = a.scalar(name) - b.scalar(name);
    if (gap > 0) CHECK(out.setScalar(name, gap));
  }
  return out;
}

}  // namespace

Result<std::vector<Resources>> parseMinAllocatable(std::string_view text) {
  std::vector<Resources> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t bar = text.find('|', start);
    std::string_view item = text.substr(start, bar == std::string_view::npos ? text.npos : bar - start);
    auto parsed = Resources::parse(item);
    if (!parsed) {
      return makeError(parsed.error().withContext("minimum allocatable resources '" +
                                                  std::string(item) + "'"));
    }
    if (parsed->empty() || !parsed->rangeNames().empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "minimum allocatable resources '" + std::string(item) +
                           "': give one or more scalars, e.g. 'cpus:0.1;mem:32'");
    }
    out.push_back(std::move(*parsed));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return out;
}

void HierarchicalAllocator::setMinAllocatable(const std::vector<Resources>& alternatives) {
  CHECK(!alternatives.empty());
  minAllocatable_.clear();
  for (const Resources& alternative : alternatives) {
    auto& amounts = minAllocatable_.emplace_back();
    for (const std::string& name : alternative.scalarNames()) {
      amounts.emplace_back(name, alternative.scalar(name));
    }
  }
  fullPass_ = true;
}

// Quantities, whatever their reservation: reserved cpus count as cpus.
bool HierarchicalAllocator::worthOffering(const Resources& pool) const {
  for (const auto& amounts : minAllocatable_) {
    bool enough = true;
    for (const auto& [name, amount] : amounts) {
      if (pool.scalar(name) < amount) {
        enough = false;
        break;
      }
    }
    if (enough) return true;
  }
  return false;
}

std::vector<Allocation> HierarchicalAllocator::allocate() {
  std::vector<Allocation> out;
  TimePoint now = clock_.now();
  expireFilters(now);
  tree_.refresh();
  if (headroomChanged_) {
    for (const std::string& id : heldBack_) {
      auto it = agents_.find(id);
      if (it != agents_.end()) markDirty(*it->second);
    }
    heldBack_.clear();
  }
  std::vector<AgentSlot*> candidates;
  if (fullPass_) {
    candidates.reserve(agents_.size());
    for (auto& [id, agent] : agents_) candidates.push_back(agent.get());
    ++stats_.fullPasses;
  } else {
    candidates.reserve(dirty_.size());
    for (const std::string& id : dirty_) {
      auto it = agents_.find(id);
      if (it != agents_.end()) candidates.push_back(it->second.get());
    }
  }
  for (AgentSlot* agent : candidates) agent->dirty = false;  // every dirty agent is a candidate
  dirty_.clear();
  fullPass_ = false;
  ++stats_.passes;
  stats_.lastPassAgents = candidates.size();
  stats_.agentsVisited += candidates.size();

  prepareQuota();
  if (belowGuarantee_.any()) {
    for (AgentSlot* agent : candidates) allocateOn(*agent, true, now, out);
    prepareQuota();
  }
  headroomChanged_ = false;
  for (AgentSlot* agent : candidates) allocateOn(*agent, false, now, out);
  return out;
}

void HierarchicalAllocator::prepareQuota() {
  belowGuarantee_.clear();
  requiredHeadroom_ = Resources();
  for (const auto& [name, node] : tree_.roles()) {
    if (!node->guarantee) continue;
    Resources gap = scalarGap(*node->guarantee, quotaConsumed(*node));
    if (gap.empty()) continue;
    belowGuarantee_.orWith(node->subtree);
    bool nested = false;  // an ancestor's guarantee already covers this one
    for (const TreeNode* n = node->parent; n != nullptr; n = n->parent) nested |= n->guarantee.has_value();
    if (!nested) requiredHeadroom_ += gap;
  }
}

Resources HierarchicalAllocator::quotaConsumed(const TreeNode& role) {
  if (role.reserved.empty() && !role.allocated.hasReservations()) return role.allocated;
  return (role.allocated.unreserved() + role.reserved).flatten();
}

void HierarchicalAllocator::restrictToReservations(const Resources& pool, ClientMask& eligible) {
  reservedFor_.clear();
  for (const std::string& role : pool.reservationRoles()) {
    if (const TreeNode* node = tree_.findRole(role)) reservedFor_.orWith(node->subtree);
  }
  eligible.andWith(reservedFor_);
}

void HierarchicalAllocator::allocateOn(AgentSlot& agent, bool guaranteeStage, TimePoint now,
                                       std::vector<Allocation>& out) {
  excluded_.clear();
  while (worthOffering(agent.free)) {
    refreshMask(agent, now);
    eligible_.assignAndNot(active_, agent.filtered);
    eligible_.andNotWith(excluded_);
    eligible_.andNotWith(agent.unsuitable);
    if (guaranteeStage) eligible_.andWith(belowGuarantee_);
    // Reserved resources go only to their role's subtree; when nothing
    // unreserved is worth offering, nobody else need be considered.
    bool reserved = agent.free.hasReservations();
    if (reserved && !worthOffering(agent.free.unreserved())) {
      restrictToReservations(agent.free, eligible_);
    }
    TreeNode* client = tree_.pick(eligible_);
    if (client == nullptr) return;
    Resources offer =
        reserved ? agent.free.allocatableTo(clients_[client->clientIndex].role) : agent.free;
    if (!worthOffering(offer)) {
      excluded_.set(client->clientIndex);
      continue;
    }
    bool worth = clipToLimits(*client, offer, excluded_);
    if (worth && guaranteeStage) {
      worth = clipToGuarantee(*client, offer);
      if (!worth) excluded_.set(client->clientIndex);
    }
    if (worth && !guaranteeStage && !requiredHeadroom_.empty() && !clipToHeadroom(offer)) {
      heldBack_.push_back(agent.id);  // needed for other roles' guarantees
      return;
    }
    if (!worth) continue;
    if (!(offer == agent.free) && filteredFor(agent, client->clientIndex, offer, now)) {
      excluded_.set(client->clientIndex);
      continue;
    }
    uint32_t index = client->clientIndex;
    addAllocation(agent, index, offer);
    const ClientSlot& slot = clients_[index];
    out.push_back(Allocation{slot.frameworkId, slot.role, agent.id, std::move(offer)});
  }
}

bool HierarchicalAllocator::clipToLimits(const TreeNode& client, Resources& offer,
                                         ClientMask& excluded) {
  for (TreeNode* role = client.parent; role != nullptr; role = role->parent) {
    if (!role->limit) continue;
    // Reservations are counted in full already: only unreserved resources are clipped.
    clipScalars(offer, headroomUnder(*role->limit, quotaConsumed(*role)));
    if (!worthOffering(offer)) {
      // Everyone below this role is at its limit on this pass.
      excluded.orWith(role->subtree);
      role->limitBlocked = true;
      return false;
    }
  }
  return true;
}

bool HierarchicalAllocator::clipToGuarantee(const TreeNode& client, Resources& offer) const {
  for (const TreeNode* role = client.parent; role != nullptr; role = role->parent) {
    if (!role->guarantee) continue;
    Resources gap = scalarGap(*role->guarantee, quotaConsumed(*role));
    if (gap.empty()) continue;
    // Only what the guarantee still lacks of the names it guarantees; names
    // it does not mention come along (Mesos does the same).
    for (const std::string& name : role->guarantee->scalarNames()) {
      double cap = gap.scalar(name);
      if (offer.unreservedScalar(name) > cap) CHECK(offer.setScalar(name, cap));
    }
    return worthOffering(offer);
  }
  return false;
}

bool HierarchicalAllocator::clipToHeadroom(Resources& offer) const {
  // Free resources elsewhere in the cluster must still cover the unmet guarantees.
  // Reserved resources serve only their own role, whose guarantee already counts them.
  Resources spare = scalarGap(clusterFree_.hasReservations() ? clusterFree_.unreserved()
                                                             : clusterFree_,
                              requiredHeadroom_);
  for (const std::string& name : requiredHeadroom_.scalarNames()) {
    double cap = spare.scalar(name);
    if (offer.unreservedScalar(name) > cap) CHECK(offer.setScalar(name, cap));
  }
  return worthOffering(offer);
}

}  // namespace agora::master
