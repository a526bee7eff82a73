#pragma once
// Decides which framework, in which role, gets each agent's free resources.
// Pure logic: no I/O, time from the injected Clock. The master tells it what
// exists and what is in use; allocate() returns the offers to make and counts
// them as allocated until the master recovers them (decline, rescind, unused
// part of an accept, terminal task).
//
// Threading: loop thread only, like the rest of the master.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/model.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "master/allocator/offer_constraints.hpp"

namespace agora::master {

struct Allocation {
  std::string frameworkId;
  std::string role;
  std::string agentId;
  Resources resources;
};

// Resources in use on an agent by (framework ID, role).
using UsedResources = std::map<std::pair<std::string, std::string>, Resources>;

// Live refuse filters of one framework in one role (expired filters and
// filters dropped by REVIVE are not counted).
struct FilterView {
  std::string frameworkId;
  size_t agents = 0;  // agents with at least one live filter
  TimePoint earliestExpiry{};
  TimePoint latestExpiry{};
};

struct RoleView {
  std::string name;
  double weight = 1;
  std::optional<Resources> guarantee;
  std::optional<Resources> limit;
  // What the role's quota counts: the subtree's unreserved allocation plus
  // every reservation in the subtree, in use or not (as Mesos >= 1.9).
  Resources consumed;
  Resources allocated;  // allocated in the role's subtree (offered or in use)
  Resources reserved;   // reservations for the role and its descendants
  // Reserved for exactly this role and neither offered nor in use: what a
  // framework in this role (or a descendant) can still get at no quota cost.
  Resources reservedFree;
  std::vector<std::string> frameworks;  // subscribed directly in this role
  std::vector<std::string> suppressed;  // those of them suppressed in this role
  std::vector<FilterView> filters;      // by framework ID, for frameworks in this role
  bool guaranteeExceedsCapacity = false;
};

struct AllocatorStats {
  uint64_t passes = 0;
  uint64_t fullPasses = 0;
  uint64_t agentsVisited = 0;  // over all passes
  uint64_t lastPassAgents = 0;
  uint64_t filtersExpired = 0;  // expiry events processed (a filter view changed)
};

class Allocator {
 public:
  virtual ~Allocator() = default;

  // Replaces an agent with the same ID. `used`: resources already in use on
  // it (tasks reported by a re-registering agent); `attributes` are matched
  // against frameworks' offer constraints.
  virtual void addAgent(const std::string& agentId, const Resources& total,
                        const UsedResources& used, const KeyValues& attributes) = 0;
  void addAgent(const std::string& agentId, const Resources& total, const UsedResources& used) {
    addAgent(agentId, total, used, {});
  }
  // Forgets the agent and every allocation on it.
  virtual void removeAgent(const std::string& agentId) = 0;

  // Adds the framework (active, unsuppressed) or updates its roles (empty:
  // "*"). A role it leaves keeps its allocations but gets no more offers.
  // REQUIRES: valid role names.
  virtual void addFramework(const std::string& frameworkId,
                            const std::vector<std::string>& roles) = 0;
  // Forgets the framework, its filters, and returns its allocations to the agents.
  virtual void removeFramework(const std::string& frameworkId) = 0;
  // From now on the framework is offered (in any of its roles) only agents
  // whose attributes satisfy `constraints`; nullptr lifts them.
  virtual void setOfferConstraints(const std::string& frameworkId,
                                   std::shared_ptr<const OfferConstraints> constraints) = 0;
  virtual void activateFramework(const std::string& frameworkId) = 0;
  virtual void deactivateFramework(const std::string& frameworkId) = 0;
  // `roles` empty: all of the framework's roles.
  virtual void suppress(const std::string& frameworkId, const std::vector<std::string>& roles) = 0;
  // Clears the framework's filters in those roles and unsuppresses them.
  virtual void revive(const std::string& frameworkId, const std::vector<std::string>& roles) = 0;

  // Returns resources allocated to the framework in `role` on the agent to
  // the free pool. With refuseSeconds > 0 the framework is not offered a
  // subset of them on that agent in that role until the filter expires.
  virtual void recover(const std::string& frameworkId, const std::string& role,
                       const std::string& agentId, const Resources& resources,
                       double refuseSeconds) = 0;

  // Reservation changes on an agent (RESERVE / UNRESERVE). `from` and `to`
  // are the same resources before and after the change (same flattened sum).
  // updateAvailable: `from` must be free (not allocated) on the agent.
  // updateAllocation: `from` must be allocated to the framework in `role`
  // there, and stays allocated to it as `to`.
  // kInvalidArgument / kNotFound say why; nothing changes then.
  // updateAvailable also refuses what checkReservationQuota refuses.
  virtual Status updateAvailable(const std::string& agentId, const Resources& from,
                                 const Resources& to) = 0;
  virtual Status updateAllocation(const std::string& frameworkId, const std::string& role,
                                  const std::string& agentId, const Resources& from,
                                  const Resources& to) = 0;
  // Reservations count toward a role's quota once, whether or not anything
  // runs on them (consumed = reservations + unreserved allocations, as Mesos).
  // So a change of `from` into `to` that reserves more of a resource must
  // leave every role it reserves for, and each ancestor, within its limit.
  // `frameworkId`/`role`: the framework holding `from` (a RESERVE in an
  // ACCEPT: its allocation stops counting as unreserved); empty when `from`
  // is free. kInvalidArgument names the role, resource, limit and consumption.
  virtual Status checkReservationQuota(const Resources& from, const Resources& to,
                                       const std::string& frameworkId,
                                       const std::string& role) const = 0;
  // The agent's total (reservations included); empty for an unknown agent.
  virtual Resources agentTotal(const std::string& agentId) const = 0;

  // Operator changes; kInvalidArgument names the bad field, nothing changes.
  // setQuota refuses a limit below what the role (with its descendants) has
  // reserved: reservations never drain by themselves, so such a limit could
  // only be met by unreserving first. A limit below unreserved allocations is
  // accepted: they drain as tasks end and are not offered again meanwhile.
  virtual Status setWeight(const std::string& role, double weight) = 0;
  virtual Status setQuota(const std::string& role, std::optional<Resources> guarantee,
                          std::optional<Resources> limit) = 0;
  virtual Status removeQuota(const std::string& role) = 0;

  // One allocation pass; the returned resources count as allocated.
  virtual std::vector<Allocation> allocate() = 0;

  // Introspection (HTTP API, metrics, tests).
  virtual Resources allocated(const std::string& frameworkId) const = 0;
  virtual Resources available(const std::string& agentId) const = 0;
  virtual double dominantShare(const std::string& frameworkId) const = 0;
  // Every role in the tree, by name. Costs O(roles + clients + live filters):
  // call it when rendering a view, not per event.
  virtual std::vector<RoleView> roles() const = 0;
  virtual Resources clusterTotal() const = 0;
  // Not allocated (neither offered nor in use).
  virtual Resources clusterFree() const = 0;
  virtual const AllocatorStats& stats() const = 0;
};

}  // namespace agora::master
