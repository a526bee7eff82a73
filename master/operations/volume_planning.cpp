// Operations: persistent volumes — CREATE / DESTROY offer operations on
// reserved disk, and the operator's create / destroy (schemas/PROTOCOL.md,
// "Persistent volumes").

#include <glog/logging.h>

#include <optional>
#include <set>
#include <sstream>

#include "common/volume.hpp"
#include "master/operations/operations.hpp"

namespace agora::master {

namespace {

Status invalid(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

// Every resource of `resources` is a persistent volume.
Status expectVolumes(const Resources& resources, const char* what) {
  Resources plain = resources - resources.volumes();
  if (!plain.empty()) {
    return invalid(std::string(what) + " of " + plain.toString() +
                   ": not a persistent volume (reserved disk with a persistence id)");
  }
  return {};
}

bool holdsId(const Resources& volumes, const std::string& id) {
  for (const PersistentVolume& volume : volumes.volumeList()) {
    if (volume.disk.id == id) return true;
  }
  return false;
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Where an operator's new volume goes on the agent.
struct Placement {
  Resources volume;  // the volume, on the reservation that holds it
  std::optional<ReservationChange> reserve;  // unreserved disk reserved for it first
};

// The operator names the volume's role; its text form ("disk(eng):100")
// also names a reservation type, static unless given. The reservation it
// names is used if it holds the disk free, else another reservation of the
// role that does, else free unreserved disk is reserved (dynamically, by the
// volume's principal) for the role in the same request: so `agora reserve`
// of cpus and mem followed by `agora volume create AGENT 'disk(eng):100'`
// works. `available`: the agent's resources that are free or offered.
Result<Placement> placeVolume(const std::string& agentId, const Resources& volumes,
                              const Resources& available) {
  std::vector<PersistentVolume> list = volumes.volumeList();
  if (list.size() != 1) return Placement{volumes, std::nullopt};
  const PersistentVolume& wanted = list[0];
  const std::string& role = wanted.reservation.role;
  double size = wanted.resources.scalar("disk");
  Resources plain = available - available.volumes();
  if (plain.contains(wanted.resources.withoutPersistence())) return Placement{volumes, std::nullopt};
  Resources disk;
  if (auto ok = disk.setScalar("disk", size); !ok) return makeError(ok.error());
  double reservedFree = 0;
  for (const auto& [reservation, part] : plain.byReservation()) {
    if (reservation.role != role) continue;
    reservedFree += part.scalar("disk");
    if (part.scalar("disk") < size) continue;
    auto volume = disk.reservedAs(reservation).toVolume(wanted.disk);
    if (!volume) return makeError(volume.error());
    return Placement{*volume, std::nullopt};
  }
  double unreservedFree = plain.unreservedScalar("disk");
  if (unreservedFree >= size) {
    Resources reserved = disk.reservedAs({role, ReservationType::kDynamic, wanted.disk.principal});
    auto volume = reserved.toVolume(wanted.disk);
    if (!volume) return makeError(volume.error());
    return Placement{*volume, ReservationChange{disk, reserved}};
  }
  return makeError(invalid(
      "resources: agent '" + agentId + "' has no disk " + number(size) + " free for a volume of role " +
      role + ": reserved for " + role + " and free: disk " + number(reservedFree) +
      ", unreserved and free: disk " + number(unreservedFree) +
      " (free: neither in use by tasks nor in another volume); ask for less, or free or add disk")
                           .error());
}

// The operator's volume placed on the agent, its reservation (if any)
// checked against the role's quota and counted into `available`.
Result<Placement> placeOperatorVolume(const Allocator& allocator, const std::string& agentId,
                                      const Resources& volumes, Resources& available) {
  auto placed = placeVolume(agentId, volumes, available);
  if (!placed || !placed->reserve) return placed;
  const ReservationChange& reserve = *placed->reserve;
  if (auto within = allocator.checkReservationQuota(reserve.from, reserve.to, "", ""); !within) {
    return makeError(within.error().withContext("resources"));
  }
  available -= reserve.from;
  available += reserve.to;
  return placed;
}

}  // namespace

Result<ReservationChange> Operations::planVolume(const Agent& agent,
                                                 const ReservationOperation& op,
                                                 const Resources& offered,
                                                 Resources& volumes) const {
  bool create = op.kind == ReservationOperation::Kind::kCreate;
  const char* what = op.name();
  if (auto ok = expectVolumes(*op.resources, what); !ok) return makeError(ok.error());
  ReservationChange change;
  for (const PersistentVolume& volume : op.resources->volumeList()) {
    std::string name = std::string(what) + " of " + volume.describe();
    if (create) {
      if (auto ok = validateContainerPath(volume.disk.containerPath); !ok) {
        return makeError(ok.error().withContext(name));
      }
      if (holdsId(volumes, volume.disk.id) || holdsId(change.to, volume.disk.id)) {
        return makeError(
            invalid(name + ": agent '" + agent.id + "' already has a volume with that id").error());
      }
      // Destroyed earlier in this operation, or before and not yet confirmed
      // deleted: the deletion would take the new volume's data with it.
      if (holdsId(agent.volumes, volume.disk.id) ||
          holdsId(agent.destroyedVolumes, volume.disk.id)) {
        return makeError(invalid(name + ": agent '" + agent.id +
                                 "' has not yet deleted the data of a destroyed volume with "
                                 "that id; use another id or retry once it has")
                             .error());
      }
      change.from += volume.resources.withoutPersistence();
      change.to += volume.resources;
      continue;
    }
    if (!volumes.contains(volume.resources)) {
      return makeError(invalid(name + ": agent '" + agent.id + "' has no such volume (its volumes: " +
                               (volumes.empty() ? "none" : volumes.toString()) + ")")
                           .error());
    }
    if (const Task* user = tasks_.volumeUser(agent.id, volume)) {
      return makeError(invalid("volume '" + volume.disk.id + "' is in use by task " +
                               user->id)
                           .error());
    }
    change.from += volume.resources;
    change.to += volume.resources.withoutPersistence();
  }
  if (!offered.contains(change.from)) {
    return makeError(invalid(std::string(what) + " of " + change.from.toString() +
                             ": not among the offer's resources (" + offered.reservedPart().toString() +
                             ")")
                         .error());
  }
  volumes -= change.from.volumes();
  volumes += change.to.volumes();
  return change;
}

Status Operations::destroyVolume(const std::string& agentId, const std::string& id,
                                 const PrincipalCheck& authorize) {
  const Agent* agent = agents_.findAgent(agentId);
  if (agent != nullptr) {
    for (const PersistentVolume& volume : agent->volumes.volumeList()) {
      if (volume.disk.id != id) continue;
      if (authorize) {
        if (Status allowed = authorize(volume.disk.principal); !allowed) return allowed;
      }
      return operatorVolumes(agentId, volume.resources, false);
    }
  }
  return operatorVolumes(agentId, Resources(), false);  // reports the unknown agent or volume
}

Status Operations::operatorVolumes(const std::string& agentId, const Resources& volumes,
                                   bool create) {
  const Agent* agent = agents_.registeredAgent(agentId);
  if (agent == nullptr) {
    return makeError(ErrorCode::kNotFound, "agent_id: agent '" + agentId + "' is not registered");
  }
  if (volumes.empty()) {
    return invalid("id: agent '" + agentId + "' has no such volume (its volumes: " +
                   (agent->volumes.empty() ? "none" : agent->volumes.toString()) + ")");
  }
  Resources offered = offers_.offeredOnAgent(agentId);
  Resources free = ctx_.allocator.available(agentId);
  Resources available = free + offered;
  Resources current = agent->volumes;
  std::optional<ReservationChange> reserve;
  Resources wanted = volumes;
  if (create) {
    auto placed = placeOperatorVolume(ctx_.allocator, agentId, volumes, available);
    if (!placed) return makeError(placed.error());
    wanted = placed->volume;
    reserve = placed->reserve;
  } else if (!available.contains(volumes)) {
    for (const PersistentVolume& volume : volumes.volumeList()) {
      if (const Task* user = tasks_.volumeUser(agentId, volume)) {
        return invalid("volume '" + volume.disk.id + "' is in use by task " + user->id);
      }
    }
    return invalid("id: the volume is allocated to a framework that has not launched on it "
                   "yet; retry once its offer is answered");
  }
  ReservationOperation op{create ? ReservationOperation::Kind::kCreate
                                 : ReservationOperation::Kind::kDestroy,
                          wanted};
  auto change = planVolume(*agent, op, available, current);
  if (!change) return makeError(change.error());
  if (!free.contains(reserve ? reserve->from : change->from)) {
    offers_.rescindAllOnAgent(agentId, "volume");
  }
  if (reserve) {
    Status reserved = ctx_.allocator.updateAvailable(agentId, reserve->from, reserve->to);
    if (!reserved) return reserved;
    agents_.applyChange(agentId, *reserve);
    LOG(INFO) << "operator reserved " << reserve->to.toString() << " on agent " << agentId
              << " for volume " << wanted.toString();
  }
  Status updated = ctx_.allocator.updateAvailable(agentId, change->from, change->to);
  if (!updated) {
    if (reserve) {  // back as it was: nothing changes on a refusal
      ReservationChange back{reserve->to, reserve->from};
      CHECK(ctx_.allocator.updateAvailable(agentId, back.from, back.to));
      agents_.applyChange(agentId, back);
    }
    return updated;
  }
  agents_.applyChange(agentId, *change);
  LOG(INFO) << "operator " << (create ? "created " : "destroyed ") << wanted.toString()
            << " on agent " << agentId;
  agents_.persistReservations(agentId,
                              [this, agentId, changes = std::vector{*change}](Status persisted) {
                                if (persisted) agents_.sendVolumeDestroys(agentId, changes);
                              });
  ctx_.scheduleAllocation();
  return {};
}

}  // namespace agora::master
