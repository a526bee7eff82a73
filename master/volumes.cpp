// Persistent volumes: CREATE / DESTROY offer operations on reserved disk, the
// registry's volumes fitted back onto a (re-)registering agent, and the
// agent told to delete a destroyed volume's data (schemas/PROTOCOL.md,
// "Persistent volumes").

#include <glog/logging.h>

#include <set>

#include "common/volume.hpp"
#include "master/master.hpp"

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

}  // namespace

Resources Master::applyVolumes(Agent& agent, Resources total) {
  Resources kept;
  std::vector<std::string> dropped;
  for (const PersistentVolume& volume : agent.volumes.volumeList()) {
    Resources plain = volume.resources.withoutPersistence();
    if (!total.contains(plain)) {
      dropped.push_back(volume.resources.toString());
      continue;
    }
    total -= plain;
    total += volume.resources;
    kept += volume.resources;
  }
  if (!dropped.empty()) {
    std::string list;
    for (const std::string& item : dropped) list += (list.empty() ? "" : ", ") + item;
    LOG(ERROR) << "agent " << agent.id << " registered without the reserved disk of its "
               << "persistent volumes " << list << "; dropping them (their data stays on the agent)";
    agent.volumes = kept;
    persistReservations(agent);
  }
  return total;
}

Result<ReservationChange> Master::planVolume(const Agent& agent, const ReservationOperation& op,
                                             const Resources& offered, Resources& volumes) const {
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
    if (const Task* user = volumeUser(agent, volume)) {
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

void Master::applyChange(Agent& agent, const ReservationChange& change) {
  Resources fromPlain = change.from.withoutPersistence();
  Resources toPlain = change.to.withoutPersistence();
  if (!(fromPlain == toPlain)) {  // RESERVE / UNRESERVE
    agent.dynamic -= fromPlain.reservedPart();
    agent.dynamic += toPlain.reservedPart();
  }
  agent.volumes -= change.from.volumes();
  agent.volumes += change.to.volumes();
  agent.destroyedVolumes += change.from.volumes() - change.to.volumes();
}

const Task* Master::volumeUser(const Agent& agent, const PersistentVolume& volume) const {
  for (const Task* task : agent.tasks) {
    for (const PersistentVolume& used : task->resources.get().volumeList()) {
      if (used.disk.id == volume.disk.id && used.reservation.role == volume.reservation.role) {
        return task;
      }
    }
  }
  return nullptr;
}

void Master::sendVolumeDestroys(const std::string& agentId,
                                const std::vector<ReservationChange>& changes) {
  bool destroyed = false;
  for (const ReservationChange& change : changes) {
    destroyed = destroyed || !(change.from.volumes() - change.to.volumes()).empty();
  }
  Agent* agent = state_.findAgent(agentId);
  if (destroyed && agent != nullptr) sendDestroyedVolumes(*agent);
}

void Master::sendDestroyedVolumes(const Agent& agent) {
  if (agent.destroyedVolumes.empty() || agent.status != AgentStatus::kRegistered) return;
  LOG(INFO) << "agent " << agent.id << ": deleting the data of destroyed volumes "
            << agent.destroyedVolumes.toString();
  sendToAgent(agent.peer, "destroyVolumes", [&](AgentEnvelope::Builder out) {
    auto message = out.initDestroyVolumes();
    message.setAgentId(agent.id);
    agent.destroyedVolumes.toCapnp(message.initVolumes(agent.destroyedVolumes.count()));
  });
}

void Master::onVolumesDestroyed(Agent& agent, schema::VolumesDestroyed::Reader message) {
  auto volumes = Resources::fromCapnp(message.getVolumes());
  if (!volumes || message.getAgentId() != agent.id) {
    reject("invalid_volumes_destroyed",
           "agent " + agent.id + ": " +
               (volumes ? "volumesDestroyed about agent '" + std::string(message.getAgentId()) + "'"
                        : volumes.error().message));
    return;
  }
  Resources confirmed;
  for (const PersistentVolume& volume : volumes->volumeList()) {
    if (agent.destroyedVolumes.contains(volume.resources)) confirmed += volume.resources;
  }
  if (confirmed.empty()) return;  // a repeated confirmation
  agent.destroyedVolumes -= confirmed;
  LOG(INFO) << "agent " << agent.id << " deleted the data of destroyed volumes "
            << confirmed.toString();
  persistReservations(agent);
  markChanged();
}

Status Master::destroyVolume(const std::string& agentId, const std::string& id) {
  Agent* agent = state_.findAgent(agentId);
  if (agent != nullptr) {
    for (const PersistentVolume& volume : agent->volumes.volumeList()) {
      if (volume.disk.id == id) return operatorVolumes(agentId, volume.resources, false);
    }
  }
  return operatorVolumes(agentId, Resources(), false);  // reports the unknown agent or volume
}

Status Master::operatorVolumes(const std::string& agentId, const Resources& volumes, bool create) {
  Agent* agent = state_.findAgent(agentId);
  if (agent == nullptr || agent->status != AgentStatus::kRegistered) {
    return makeError(ErrorCode::kNotFound, "agent_id: agent '" + agentId + "' is not registered");
  }
  if (volumes.empty()) {
    return invalid("id: agent '" + agentId + "' has no such volume (its volumes: " +
                   (agent->volumes.empty() ? "none" : agent->volumes.toString()) + ")");
  }
  Resources offered;
  for (const std::string& offerId : agent->offerIds) offered += state_.offers.at(offerId).offer.resources;
  Resources free = allocator_->available(agentId);
  Resources current = agent->volumes;
  ReservationOperation op{create ? ReservationOperation::Kind::kCreate
                                 : ReservationOperation::Kind::kDestroy,
                          volumes};
  auto change = planVolume(*agent, op, free + offered, current);
  if (!change) return makeError(change.error());
  if (!free.contains(change->from)) {
    for (const std::string& offerId : std::set<std::string>(agent->offerIds)) {
      rescindOffer(offerId, "volume");
    }
  }
  Status updated = allocator_->updateAvailable(agentId, change->from, change->to);
  if (!updated) return updated;
  applyChange(*agent, *change);
  LOG(INFO) << "operator " << (create ? "created " : "destroyed ") << volumes.toString()
            << " on agent " << agentId;
  persistReservations(*agent, [this, agentId, changes = std::vector{*change}](Status persisted) {
    if (persisted) sendVolumeDestroys(agentId, changes);
  });
  markChanged();
  scheduleAllocation();
  return {};
}

}  // namespace agora::master
