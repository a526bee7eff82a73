#pragma once
// JSON views of the allocator for GET /api/v1/roles and /api/v1/allocation
// (field meanings are documented in http_api.hpp). Rendered on the loop
// thread as part of a Snapshot, never per event.

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "master/allocator/allocator.hpp"
#include "master/master_view.hpp"

namespace agora::master {

struct AllocationViewInputs {
  const Allocator& allocator;
  const MasterView& state;
  const Clock& clock;            // converts filter and offer deadlines to wall time
  Duration offerTimeout{};  // 0: offers never time out
};

// {ROLE: flattened resources reserved for exactly that role}.
nlohmann::json reservedByRole(const Resources& resources);

// {"roles": [...]}
nlohmann::json rolesView(const AllocationViewInputs& inputs);
// {"offer_timeout_sec", "cluster", "roles", "offers", "allocator"}
nlohmann::json allocationView(const AllocationViewInputs& inputs);

}  // namespace agora::master
