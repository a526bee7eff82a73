#pragma once
// Hierarchical weighted DRF over a role tree (role_tree.hpp), with quota
// guarantees and limits, refuse filters and suppression, allocating
// incrementally.
//
// Pass structure (allocate(), allocation_pass.cpp), as Mesos:
//   1. Roles below their quota guarantee get, per agent, what they still
//      lack of the guaranteed scalars (plus the resources the guarantee does
//      not name), in sorter order.
//   2. Everyone else, in sorter order, gets what is left, minus the headroom
//      still needed for other roles' unmet guarantees.
// Every offer is clipped so no role (or ancestor) passes its quota limit.
//
// Incremental: a pass visits only agents whose free pool changed since the
// last pass (and agents whose filters expired), unless something global
// changed (framework added/activated/revived, weight or quota changed, a
// limit-blocked role freed resources), which makes the next pass visit all.
// Shares are updated per allocation/recovery, never recomputed per agent.
// Each agent keeps a bitmask of clients whose refuse filter covers its free
// pool, so skipping 1,000 declining frameworks costs a few word operations.

#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "master/allocator/allocator.hpp"
#include "master/allocator/role_tree.hpp"
#include "master/allocator/sorter.hpp"

namespace agora::master {

// "cpus:0.1;mem:32|disk:1024": a pool is worth offering when it contains
// all of at least one alternative (scalars only), as Mesos's
// --min_allocatable_resources.
Result<std::vector<Resources>> parseMinAllocatable(std::string_view text);
inline constexpr const char* kDefaultMinAllocatable = "cpus:0.01|mem:32";

class HierarchicalAllocator final : public Allocator {
 public:

  // REQUIRES: clock outlives the allocator.
  HierarchicalAllocator(const Clock& clock, std::unique_ptr<Sorter> sorter);
  explicit HierarchicalAllocator(const Clock& clock);

  using Allocator::addAgent;
  void addAgent(const std::string& agentId, const Resources& total, const UsedResources& used,
                const KeyValues& attributes) override;
  void removeAgent(const std::string& agentId) override;
  void addFramework(const std::string& frameworkId,
                    const std::vector<std::string>& roles) override;
  void removeFramework(const std::string& frameworkId) override;
  void setOfferConstraints(const std::string& frameworkId,
                           std::shared_ptr<const OfferConstraints> constraints) override;
  void activateFramework(const std::string& frameworkId) override;
  void deactivateFramework(const std::string& frameworkId) override;
  void suppress(const std::string& frameworkId, const std::vector<std::string>& roles) override;
  void revive(const std::string& frameworkId, const std::vector<std::string>& roles) override;
  void recover(const std::string& frameworkId, const std::string& role,
               const std::string& agentId, const Resources& resources,
               double refuseSeconds) override;
  Status setWeight(const std::string& role, double weight) override;
  Status setQuota(const std::string& role, std::optional<Resources> guarantee,
                  std::optional<Resources> limit) override;
  Status removeQuota(const std::string& role) override;
  Status updateAvailable(const std::string& agentId, const Resources& from,
                         const Resources& to) override;
  Status updateAllocation(const std::string& frameworkId, const std::string& role,
                          const std::string& agentId, const Resources& from,
                          const Resources& to) override;
  Status checkReservationQuota(const Resources& from, const Resources& to,
                               const std::string& frameworkId,
                               const std::string& role) const override;
  Resources agentTotal(const std::string& agentId) const override;
  std::vector<Allocation> allocate() override;
  Resources allocated(const std::string& frameworkId) const override;
  Resources available(const std::string& agentId) const override;
  double dominantShare(const std::string& frameworkId) const override;
  std::vector<RoleView> roles() const override;
  Resources clusterTotal() const override { return clusterTotal_; }
  Resources clusterFree() const override { return clusterFree_; }
  const AllocatorStats& stats() const override { return stats_; }

  // REQUIRES: non-empty (see parseMinAllocatable); default kDefaultMinAllocatable.
  void setMinAllocatable(const std::vector<Resources>& alternatives);

  // Allocation in one role (tests).
  Resources allocated(const std::string& frameworkId, const std::string& role) const;

 private:
  struct Filter {
    uint32_t client = 0;
    uint64_t epoch = 0;  // the client's epoch when created; stale after revive/removal
    TimePoint expires{};
    // Shared by consecutive filters on one agent with equal resources (the
    // common case: every framework declining the same whole pool).
    std::shared_ptr<const Resources> resources;
  };
  struct AgentSlot {
    std::string id;
    Resources total;
    Resources free;
    std::unordered_map<uint32_t, Resources> allocated;  // by client
    std::vector<Filter> filters;
    ClientMask filtered;      // clients with a live filter covering `free`
    bool maskValid = false;   // `filtered` matches `free`, filters and filterGeneration_
    uint64_t maskGeneration = 0;
    bool dirty = false;
    std::optional<TimePoint> nextExpiry;
    KeyValues attributes;
    ClientMask unsuitable;  // clients whose framework's offer constraints this agent fails
  };
  struct ClientSlot {
    std::string frameworkId;
    std::string role;
    uint64_t epoch = 1;
    bool inUse = false;
    bool subscribed = false;  // the framework still has this role
    bool suppressed = false;
  };
  struct FrameworkSlot {
    bool active = true;
    std::vector<std::string> roles;
    std::map<std::string, uint32_t> clients;  // by role
    std::shared_ptr<const OfferConstraints> constraints;  // null: none
  };
  struct ExpiryEntry {
    TimePoint when;
    std::string agentId;
    bool operator>(const ExpiryEntry& other) const { return when > other.when; }
  };

  // hierarchical_allocator.cpp
  uint32_t addClient(const std::string& frameworkId, const std::string& role);
  void removeClient(uint32_t index);
  void updateActive(uint32_t index);
  void markDirty(AgentSlot& agent);
  void invalidateMask(AgentSlot& agent) { agent.maskValid = false; }
  void refreshMask(AgentSlot& agent, TimePoint now);
  bool filteredFor(const AgentSlot& agent, uint32_t client, const Resources& offer,
                   TimePoint now) const;
  void addAllocation(AgentSlot& agent, uint32_t client, const Resources& resources);
  void removeAllocation(AgentSlot& agent, uint32_t client, const Resources& resources);
  void expireFilters(TimePoint now);
  const ClientSlot* clientOf(const std::string& frameworkId, const std::string& role) const;
  // Live filters by client index (agents == 0: none).
  std::vector<FilterView> filterViews(TimePoint now) const;

  // constraint_masks.cpp: AgentSlot::unsuitable has a bit only for clients
  // of constrained frameworks, so unconstrained ones cost nothing.
  void applyConstraints(uint32_t client);                 // on every agent
  void applyConstraints(AgentSlot& agent);                // for every constrained client
  void clearConstraints(uint32_t client);                 // on every agent
  // Moves the reservations of `resources` into (out of) the role tree.
  void trackReservations(const Resources& resources, bool add);
  // Reservations changed on the agent: totals, quota accounting, next pass.
  void reservationsChanged(AgentSlot& agent, const Resources& from, const Resources& to);

  // reservation_quota.cpp: kInvalidArgument when `limit` is below what the
  // role's subtree has reserved.
  Status limitCoversReservations(const std::string& role, const Resources& limit) const;

  // allocation_pass.cpp
  // What the role's quota counts (RoleView::consumed).
  static Resources quotaConsumed(const TreeNode& role);
  // Narrows `eligible` to clients under a role with a reservation in `pool`.
  void restrictToReservations(const Resources& pool, ClientMask& eligible);
  void allocateOn(AgentSlot& agent, bool guaranteeStage, TimePoint now,
                  std::vector<Allocation>& out);
  void prepareQuota();
  bool clipToLimits(const TreeNode& client, Resources& offer, ClientMask& excluded);
  bool clipToGuarantee(const TreeNode& client, Resources& offer) const;
  bool clipToHeadroom(Resources& offer) const;
  bool worthOffering(const Resources& pool) const;

  const Clock& clock_;
  std::unique_ptr<Sorter> sorter_;
  RoleTree tree_;
  Resources clusterTotal_;
  Resources clusterFree_;
  std::map<std::string, std::unique_ptr<AgentSlot>> agents_;
  std::map<std::string, FrameworkSlot> frameworks_;
  std::set<std::string> constrainedFrameworks_;  // with offer constraints
  std::vector<ClientSlot> clients_;  // by client index
  std::vector<uint32_t> freeClientIndices_;
  ClientMask active_;  // clients that may get offers (active, subscribed, unsuppressed)
  std::vector<std::string> dirty_;
  bool fullPass_ = true;
  uint64_t filterGeneration_ = 1;
  std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, std::greater<>> expiries_;
  // Per-pass quota state (prepareQuota()).
  ClientMask belowGuarantee_;
  Resources requiredHeadroom_;
  bool headroomChanged_ = false;
  std::vector<std::string> heldBack_;  // agents clipped by headroom in the last pass
  ClientMask eligible_;                // scratch
  ClientMask excluded_;                // scratch
  ClientMask reservedFor_;             // scratch
  AllocatorStats stats_;
  // Alternatives of (scalar name, least amount); see parseMinAllocatable().
  std::vector<std::vector<std::pair<std::string, double>>> minAllocatable_;
};

}  // namespace agora::master
