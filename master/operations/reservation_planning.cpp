// Operations: dynamic reservations — RESERVE / UNRESERVE offer operations
// (and the planning of an ACCEPT's operations, CREATE / DESTROY in
// volume_planning.cpp) and the operator's reserve / unreserve
// (schemas/PROTOCOL.md, "Reservations").

#include <glog/logging.h>

#include <algorithm>

#include "master/operations/operations.hpp"

namespace agora::master {

namespace {

Status invalid(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Every resource reserved (for any role), dynamically when `dynamic`.
Status expectReserved(const Resources& resources, const char* what) {
  if (resources.empty()) return invalid(std::string(what) + " names no resources");
  if (!resources.unreserved().empty()) {
    return invalid(std::string(what) + " of " + resources.unreserved().toString() +
                   ": resources must name a role, e.g. cpus(eng):1");
  }
  return {};
}

// The RESERVE's resources as dynamic reservations (a framework cannot make
// static ones: those come only from an agent's flags).
Resources asDynamic(const Resources& resources) {
  Resources out;
  for (const auto& [reservation, part] : resources.byReservation()) {
    out += part.reservedAs(Reservation{reservation.role, ReservationType::kDynamic,
                                       reservation.principal});
  }
  return out;
}

// The roles of `resources` are the framework's and the offer's.
Status expectOfferRole(const Framework& framework, const std::string& role,
                       const Resources& resources, const char* what) {
  const std::vector<std::string>& roles = framework.info.roles;
  for (const std::string& reserved : resources.reservationRoles()) {
    if (std::find(roles.begin(), roles.end(), reserved) == roles.end()) {
      return invalid(std::string(what) + " for role '" + reserved +
                     "': not one of the framework's roles (" + joined(roles) + ")");
    }
    if (reserved != role) {
      return invalid(std::string(what) + " for role '" + reserved +
                     "': the offer is allocated to role '" + role + "'");
    }
  }
  return {};
}

Result<ReservationChange> planReserve(const Resources& resources, const Resources& offered) {
  if (!resources.volumes().empty()) {
    return makeError(invalid("RESERVE of " + resources.toString() +
                             ": persistent volumes are made by CREATE")
                         .error());
  }
  ReservationChange change;
  change.to = asDynamic(resources);
  change.from = change.to.flatten();
  if (!offered.unreserved().contains(change.from)) {
    return makeError(invalid("RESERVE of " + change.from.toString() +
                             ": not among the offer's unreserved resources (" +
                             offered.unreserved().toString() + ")")
                         .error());
  }
  return change;
}

Result<ReservationChange> planUnreserve(const Resources& resources, const Resources& offered) {
  if (!resources.volumes().empty()) {
    return makeError(invalid("UNRESERVE of " + resources.toString() +
                             ": a persistent volume must be DESTROYed first")
                         .error());
  }
  for (const auto& [reservation, part] : resources.byReservation()) {
    if (reservation.type == ReservationType::kStatic) {
      return makeError(invalid("UNRESERVE of " + part.toString() +
                               ": a static reservation is changed only by the agent's "
                               "--resources flag")
                           .error());
    }
  }
  ReservationChange change;
  change.from = resources;
  change.to = change.from.flatten();
  if (!offered.contains(change.from)) {
    std::string why = offered.withoutPersistence().contains(change.from)
                          ? ": that disk holds persistent volumes; DESTROY them first ("
                          : ": not among the offer's reserved resources (";
    return makeError(invalid("UNRESERVE of " + change.from.toString() + why +
                             offered.reservedPart().toString() + ")")
                         .error());
  }
  return change;
}

}  // namespace

const char* ReservationOperation::name() const {
  switch (kind) {
    case Kind::kReserve:
      return "RESERVE";
    case Kind::kUnreserve:
      return "UNRESERVE";
    case Kind::kCreate:
      return "CREATE";
    case Kind::kDestroy:
      return "DESTROY";
  }
  return "UNKNOWN";
}

Result<std::vector<ReservationChange>> Operations::planReservations(
    const Framework& framework, const std::string& role, const Agent& agent,
    const std::vector<ReservationOperation>& operations, Resources& offered) const {
  using Kind = ReservationOperation::Kind;
  std::vector<ReservationChange> changes;
  Resources volumes = agent.volumes;  // as the operations so far leave them
  for (const ReservationOperation& op : operations) {
    const char* what = op.name();
    if (!op.resources) return makeError(op.resources.error().withContext(what));
    if (auto ok = expectReserved(*op.resources, what); !ok) return makeError(ok.error());
    if (auto ok = expectOfferRole(framework, role, *op.resources, what); !ok) {
      return makeError(ok.error());
    }
    Result<ReservationChange> change =
        op.kind == Kind::kReserve     ? planReserve(*op.resources, offered)
        : op.kind == Kind::kUnreserve ? planUnreserve(*op.resources, offered)
                                      : planVolume(agent, op, offered, volumes);
    if (!change) return makeError(change.error());
    if (auto within = ctx_.allocator.checkReservationQuota(change->from, change->to,
                                                        framework.info.id, role);
        !within) {
      return makeError(within.error().withContext(what));
    }
    offered -= change->from;
    offered += change->to;
    changes.push_back(std::move(*change));
  }
  return changes;
}

void Operations::applyReservations(const Framework& framework, const std::string& role,
                                   const std::string& agentId,
                                   const std::vector<ReservationChange>& changes) {
  for (const ReservationChange& change : changes) {
    Status updated =
        ctx_.allocator.updateAllocation(framework.info.id, role, agentId, change.from, change.to);
    CHECK(updated) << updated.error().message;  // the offer was allocated to the framework
    agents_.applyChange(agentId, change);
    LOG(INFO) << "framework " << framework.info.id << " changed " << change.from.toString()
              << " into " << change.to.toString() << " on agent " << agentId;
  }
}

Status Operations::reserve(const std::string& agentId, const Resources& resources,
                           bool reserve) {
  const char* what = reserve ? "reserve" : "unreserve";
  if (auto ok = expectReserved(resources, what); !ok) return ok;
  if (!resources.volumes().empty()) {
    return invalid("resources: persistent volumes are made and removed with create-volumes "
                   "and destroy-volumes");
  }
  const Agent* agent = agents_.registeredAgent(agentId);
  if (agent == nullptr) {
    return makeError(ErrorCode::kNotFound, "agent_id: agent '" + agentId + "' is not registered");
  }
  Resources total = ctx_.allocator.agentTotal(agentId);
  Resources from = reserve ? resources.flatten() : resources;
  Resources to = reserve ? resources : resources.flatten();
  if (reserve && !total.unreserved().contains(from)) {
    return invalid("resources: agent '" + agentId + "' has only " +
                   total.unreserved().toString() + " unreserved, not " + from.toString());
  }
  if (!reserve) {
    Resources plain = agent->dynamic - agent->volumes.withoutPersistence();
    for (const auto& [reservation, part] : resources.byReservation()) {
      if (plain.contains(part)) continue;
      if (agent->dynamic.contains(part)) {
        return invalid("resources: " + part.toString() + " on agent '" + agentId +
                       "' holds persistent volumes; destroy them first");
      }
      if (total.contains(part.reservedAs({reservation.role, ReservationType::kStatic, ""}))) {
        return invalid("resources: " + part.flatten().toString() + " of role '" +
                       reservation.role + "' on agent '" + agentId +
                       "' is a static reservation (the agent's --resources flag)");
      }
      return invalid("resources: agent '" + agentId + "' has no dynamic reservation " +
                     part.toString() + " (its reservations: " +
                     agent->dynamic.toString() + ")");
    }
  }
  if (reserve) {
    if (auto within = ctx_.allocator.checkReservationQuota(from, to, "", ""); !within) {
      return within;
    }
  }
  Resources offered = offers_.offeredOnAgent(agentId);
  Resources free = ctx_.allocator.available(agentId);
  if (!(free + offered).contains(from)) {
    return invalid("resources: " + from.toString() + " on agent '" + agentId +
                   "' are in use by tasks (free or offered: " + (free + offered).toString() +
                   ")");
  }
  if (!free.contains(from)) offers_.rescindAllOnAgent(agentId, "reservation");
  Status updated = ctx_.allocator.updateAvailable(agentId, from, to);
  if (!updated) return updated;
  agents_.applyChange(agentId, ReservationChange{from, to});
  LOG(INFO) << "operator " << what << " on agent " << agentId << ": " << from.toString()
            << " -> " << to.toString();
  agents_.persistReservations(agentId);
  ctx_.scheduleAllocation();
  return {};
}

}  // namespace agora::master
