// HierarchicalAllocator: frameworks' offer constraints as per-agent masks of
// unsuitable clients, kept current as agents, clients and constraints change.

#include "master/allocator/hierarchical_allocator.hpp"

namespace agora::master {

void HierarchicalAllocator::setOfferConstraints(
    const std::string& frameworkId, std::shared_ptr<const OfferConstraints> constraints) {
  if (!frameworks_.count(frameworkId)) addFramework(frameworkId, {});
  FrameworkSlot& framework = frameworks_[frameworkId];
  if (framework.constraints) {
    for (const auto& [role, index] : framework.clients) clearConstraints(index);
  }
  framework.constraints = std::move(constraints);
  if (framework.constraints) {
    constrainedFrameworks_.insert(frameworkId);
  } else {
    constrainedFrameworks_.erase(frameworkId);
  }
  for (const auto& [role, index] : framework.clients) applyConstraints(index);
  fullPass_ = true;  // lifted or changed constraints may open other agents
}

void HierarchicalAllocator::applyConstraints(uint32_t client) {
  auto fw = frameworks_.find(clients_[client].frameworkId);
  if (fw == frameworks_.end() || !fw->second.constraints) return;
  for (auto& [id, agent] : agents_) {
    if (fw->second.constraints->matches(agent->attributes)) {
      agent->unsuitable.reset(client);
    } else {
      agent->unsuitable.set(client);
    }
  }
}

void HierarchicalAllocator::applyConstraints(AgentSlot& agent) {
  for (const std::string& frameworkId : constrainedFrameworks_) {
    const FrameworkSlot& framework = frameworks_.at(frameworkId);
    bool suitable = framework.constraints->matches(agent.attributes);
    for (const auto& [role, index] : framework.clients) {
      if (suitable) {
        agent.unsuitable.reset(index);
      } else {
        agent.unsuitable.set(index);
      }
    }
  }
}

void HierarchicalAllocator::clearConstraints(uint32_t client) {
  for (auto& [id, agent] : agents_) agent->unsuitable.reset(client);
}

}  // namespace agora::master
