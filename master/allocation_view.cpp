#include "master/allocation_view.hpp"

#include <cmath>

#include "common/model.hpp"
#include "master/allocator/role_name.hpp"

namespace agora::master {

namespace {

using nlohmann::json;

// Wall-clock seconds (ms precision) of a loop-clock deadline.
double wallTime(const Clock& clock, TimePoint when) {
  double wall = clock.wallSeconds() + toSeconds(when - clock.now());
  return std::round(wall * 1000) / 1000;
}

json filterJson(const FilterView& filter, const Clock& clock) {
  return {{"framework_id", filter.frameworkId},
          {"agents", filter.agents},
          {"earliest_expiry", wallTime(clock, filter.earliestExpiry)},
          {"latest_expiry", wallTime(clock, filter.latestExpiry)}};
}

Resources dynamicPart(const Resources& resources) {
  Resources out;
  for (const auto& [reservation, part] : resources.byReservation()) {
    if (reservation.type == ReservationType::kDynamic) out += part;
  }
  return out;
}

json roleJson(const RoleView& role, const Resources& offered, const Clock& clock) {
  json quota = {{"consumed", toJson(role.consumed)}};
  quota["guarantee"] = role.guarantee ? toJson(*role.guarantee) : json(nullptr);
  quota["limit"] = role.limit ? toJson(*role.limit) : json(nullptr);
  json filters = json::array();
  for (const FilterView& filter : role.filters) filters.push_back(filterJson(filter, clock));
  return {{"name", role.name},
          {"weight", role.weight},
          {"quota", quota},
          {"guarantee_exceeds_capacity", role.guaranteeExceedsCapacity},
          {"allocated", toJson(role.allocated)},
          {"offered", toJson(offered)},
          {"in_use", toJson(role.allocated.flatten() - offered.flatten())},
          {"reserved", toJson(role.reserved)},
          {"reserved_dynamic", toJson(dynamicPart(role.reserved))},
          {"reserved_free", toJson(role.reservedFree)},
          {"frameworks", role.frameworks},
          {"suppressed_frameworks", role.suppressed},
          {"filters", filters}};
}

// Outstanding offers per role, counted in the role and each ancestor (as the
// allocator counts allocations).
std::map<std::string, Resources> offeredByRole(const MasterView& state) {
  std::map<std::string, Resources> offered;
  for (const auto& [id, record] : state.offers) {
    for (const std::string& role : roleAncestry(record.offer.role)) {
      offered[role] += record.offer.resources;
    }
  }
  return offered;
}

json rolesArray(const AllocationViewInputs& in) {
  std::map<std::string, Resources> offered = offeredByRole(in.state);
  json roles = json::array();
  for (const RoleView& role : in.allocator.roles()) {
    auto it = offered.find(role.name);
    roles.push_back(roleJson(role, it == offered.end() ? Resources() : it->second, in.clock));
  }
  return roles;
}

json offerJson(const OfferRecord& record, const AllocationViewInputs& in) {
  const Offer& offer = record.offer;
  json out = {{"id", offer.id},
              {"framework_id", offer.frameworkId},
              {"role", offer.role},
              {"agent_id", offer.agentId},
              {"resources", toJson(offer.resources)},
              {"offered_at", wallTime(in.clock, record.created)}};
  out["expires_at"] = in.offerTimeout > Duration::zero()
                          ? json(wallTime(in.clock, record.created + in.offerTimeout))
                          : json(nullptr);
  return out;
}

}  // namespace

json reservedByRole(const Resources& resources) {
  std::map<std::string, Resources> byRole;
  for (const auto& [reservation, part] : resources.byReservation()) {
    byRole[reservation.role] += part.flatten();
  }
  json out = json::object();
  for (const auto& [role, part] : byRole) out[role] = toJson(part);
  return out;
}

json rolesView(const AllocationViewInputs& inputs) { return {{"roles", rolesArray(inputs)}}; }

json allocationView(const AllocationViewInputs& in) {
  Resources total = in.allocator.clusterTotal();
  Resources free = in.allocator.clusterFree();
  Resources offered;
  json offers = json::array();
  for (const auto& [id, record] : in.state.offers) {
    offered += record.offer.resources;
    offers.push_back(offerJson(record, in));
  }
  const AllocatorStats& stats = in.allocator.stats();
  return {{"offer_timeout_sec", in.offerTimeout > Duration::zero() ? json(toSeconds(in.offerTimeout))
                                                           : json(nullptr)},
          {"cluster",
           {{"total", toJson(total)},
            {"free", toJson(free)},
            {"allocated", toJson(total - free)},
            {"offered", toJson(offered)},
            {"reserved", reservedByRole(total)}}},
          {"roles", rolesArray(in)},
          {"offers", offers},
          {"allocator",
           {{"passes", stats.passes},
            {"full_passes", stats.fullPasses},
            {"agents_visited", stats.agentsVisited},
            {"last_pass_agents", stats.lastPassAgents}}}};
}

}  // namespace agora::master
