// Agents: the records, their registry writes, and the rebuild from the
// registry at a master's start (schemas/PROTOCOL.md, "Master registry and
// restarts").

#include <glog/logging.h>

#include "common/duration.hpp"
#include "master/agents/agents.hpp"

namespace agora::master {

Agents::~Agents() {
  for (EventLoop::TimerId id : timers_) ctx_.loop.cancelTimer(id);
}

const Agent* Agents::findAgent(const std::string& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second;
}

Agent* Agents::findMutable(const std::string& id) {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second;
}

void Agents::publish(const Agent& agent, events::AgentChanged::Kind kind,
                     const std::string& reason) {
  if (!ctx_.bus.active()) return;
  ctx_.bus.publish(events::AgentChanged{kind, agent.id, agent.hostname, agent.url, agent.total,
                                        agent.attributes, reason});
}

AgentRecord Agents::recordOf(const Agent& agent) const {
  AgentRecord record;
  record.id = agent.id;
  record.hostname = agent.hostname;
  record.url = agent.url;
  record.resources = agent.total;
  record.attributes = agent.attributes;
  record.registeredTime = agent.registeredTime;
  record.principal = agent.principal;
  if (agent.status == AgentStatus::kUnreachable) {
    record.state = AgentRecordState::kUnreachable;
    record.unreachableTime = agent.unreachableTime;
  }
  return record;
}

void Agents::persist(const Agent& agent, std::function<void(Status)> done) {
  persistRecord(recordOf(agent), std::move(done));
}

void Agents::persistRecord(const AgentRecord& record, std::function<void(Status)> done) {
  Mutation mutation = putAgent(record);
  std::string& last = persisted_[record.id];
  if (*mutation.bytes == last) {
    // Already written (a re-registration after a restart, typically): no
    // new write, but still answer only after any write of it in flight.
    ctx_.registry.afterPersisted(std::move(done));
    return;
  }
  last = *mutation.bytes;
  ctx_.registry.persist({std::move(mutation)}, std::move(done));
}

void Agents::recover(const RegistryContents& contents) {
  double now = ctx_.wallNow();
  size_t recovering = 0;
  for (const auto& [id, record] : contents.agents) {
    if (record.state == AgentRecordState::kGone) {
      // Records written before the time was kept age from this start.
      gone_[id] = record.goneTime > 0 ? record.goneTime : now;
      persisted_[id] = *putAgent(record).bytes;
      continue;
    }
    Agent& agent = agents_[id];
    agent.id = id;
    agent.hostname = record.hostname;
    agent.url = record.url;
    agent.total = record.resources;
    if (auto it = contents.reservations.find(id); it != contents.reservations.end()) {
      agent.dynamic = it->second.dynamic;
      agent.volumes = it->second.volumes;
      agent.destroyedVolumes = it->second.destroyedVolumes;
    }
    agent.attributes = record.attributes;
    agent.registeredTime = record.registeredTime;
    agent.principal = record.principal;
    bool admitted = record.state == AgentRecordState::kAdmitted;
    agent.status = admitted ? AgentStatus::kRecovering : AgentStatus::kUnreachable;
    // Records written before the time was kept count from this start.
    agent.unreachableTime =
        admitted ? 0 : (record.unreachableTime > 0 ? record.unreachableTime : now);
    persisted_[id] = *putAgent(record).bytes;
    recovering += admitted ? 1 : 0;
  }
  if (recovering > 0) {
    timers_.push_back(ctx_.loop.addTimer(options_.reregisterTimeout,
                                         guard_.wrap([this] { expireRecovering(); })));
  }
  LOG(INFO) << "recovered " << contents.agents.size() << " agents from the registry ("
            << recovering << " expected to re-register within "
            << secondsText(toSeconds(options_.reregisterTimeout)) << " s), dynamic reservations on "
            << contents.reservations.size() << " agents";
}

void Agents::expireRecovering() {
  for (auto& [id, agent] : agents_) {
    if (agent.status != AgentStatus::kRecovering) continue;
    markUnreachable(agent, "it did not re-register within " +
                               secondsText(toSeconds(options_.reregisterTimeout)) +
                               " s of the master's start");
  }
}

}  // namespace agora::master
