// Agents: dynamic reservations and persistent volumes as the registry holds
// them — fitted onto an agent's resources when it (re-)registers, changed by
// operations, and the data of destroyed volumes deleted by the agent
// (schemas/PROTOCOL.md, "Reservations" and "Persistent volumes").

#include <glog/logging.h>

#include "master/agents/agents.hpp"

namespace agora::master {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Resources Agents::fitReservations(Agent& agent) {
  Resources total = agent.total;
  Resources kept;
  std::vector<std::string> dropped;
  for (const auto& [reservation, part] : agent.dynamic.byReservation()) {
    Resources flat = part.flatten();
    if (!total.contains(flat)) {
      dropped.push_back(part.toString());
      continue;
    }
    total -= flat;
    total += part;
    kept += part;
  }
  if (!dropped.empty()) {
    LOG(ERROR) << "agent " << agent.id << " registered with " << agent.total.toString()
               << ", which cannot hold its dynamic reservations " << joined(dropped)
               << "; dropping them";
    agent.dynamic = kept;
    persistReservations(agent);
  }
  return fitVolumes(agent, std::move(total));
}

Resources Agents::fitVolumes(Agent& agent, Resources total) {
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
    LOG(ERROR) << "agent " << agent.id << " registered without the reserved disk of its "
               << "persistent volumes " << joined(dropped)
               << "; dropping them (their data stays on the agent)";
    agent.volumes = kept;
    persistReservations(agent);
  }
  return total;
}

void Agents::persistReservations(const Agent& agent, std::function<void(Status)> done) {
  ctx_.registry.persist(
      {putReservations(agent.id, {agent.dynamic, agent.volumes, agent.destroyedVolumes})},
      std::move(done));
  if (ctx_.bus.active()) {
    ctx_.bus.publish(events::ReservationChanged{agent.id, agent.dynamic, agent.volumes});
  }
}

void Agents::persistReservations(const std::string& agentId, std::function<void(Status)> done) {
  persistReservations(*findAgent(agentId), std::move(done));
}

void Agents::applyChange(const std::string& agentId, const ReservationChange& change) {
  Agent& agent = *findMutable(agentId);
  Resources fromPlain = change.from.withoutPersistence();
  Resources toPlain = change.to.withoutPersistence();
  if (!(fromPlain == toPlain)) {  // RESERVE / UNRESERVE
    agent.dynamic -= fromPlain.reservedPart();
    agent.dynamic += toPlain.reservedPart();
  }
  agent.volumes -= change.from.volumes();
  agent.volumes += change.to.volumes();
  agent.destroyedVolumes += change.from.volumes() - change.to.volumes();
  ctx_.markChanged();
}

void Agents::sendVolumeDestroys(const std::string& agentId,
                                const std::vector<ReservationChange>& changes) {
  bool destroyed = false;
  for (const ReservationChange& change : changes) {
    destroyed = destroyed || !(change.from.volumes() - change.to.volumes()).empty();
  }
  const Agent* agent = findAgent(agentId);
  if (destroyed && agent != nullptr) sendDestroyedVolumes(*agent);
}

void Agents::sendDestroyedVolumes(const Agent& agent) {
  if (agent.destroyedVolumes.empty() || agent.status != AgentStatus::kRegistered) return;
  LOG(INFO) << "agent " << agent.id << ": deleting the data of destroyed volumes "
            << agent.destroyedVolumes.toString();
  ctx_.outbox.toAgent(agent.peer, "destroyVolumes", [&](schema::AgentEnvelope::Builder out) {
    auto message = out.initDestroyVolumes();
    message.setAgentId(agent.id);
    agent.destroyedVolumes.toCapnp(message.initVolumes(agent.destroyedVolumes.count()));
  });
}

void Agents::onVolumesDestroyed(const Agent& registered, schema::VolumesDestroyed::Reader message) {
  auto volumes = Resources::fromCapnp(message.getVolumes());
  if (!volumes || message.getAgentId() != registered.id) {
    ctx_.reject("invalid_volumes_destroyed",
                "agent " + registered.id + ": " +
                    (volumes ? "volumesDestroyed about agent '" +
                                   std::string(message.getAgentId()) + "'"
                             : volumes.error().message));
    return;
  }
  Agent& agent = *findMutable(registered.id);
  Resources confirmed;
  for (const PersistentVolume& volume : volumes->volumeList()) {
    if (agent.destroyedVolumes.contains(volume.resources)) confirmed += volume.resources;
  }
  if (confirmed.empty()) return;  // a repeated confirmation
  agent.destroyedVolumes -= confirmed;
  LOG(INFO) << "agent " << agent.id << " deleted the data of destroyed volumes "
            << confirmed.toString();
  persistReservations(agent);
  ctx_.markChanged();
}

}  // namespace agora::master
