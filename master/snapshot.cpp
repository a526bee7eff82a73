#include "master/snapshot.hpp"

#include "common/model.hpp"
#include "master/allocation_view.hpp"

namespace agora::master {

namespace {

using nlohmann::json;

struct Usage {
  Resources used;
  Resources offered;
  size_t tasks = 0;
};

json taskJson(const Task& task, const MasterState& state) {
  const Agent* agent = nullptr;
  if (auto it = state.agents.find(task.agentId); it != state.agents.end()) agent = &it->second;
  json out = {{"id", task.info.taskId},
              {"name", task.info.name},
              {"framework_id", task.frameworkId},
              {"agent_id", task.agentId},
              {"agent_url", agent ? agent->url : ""},
              {"state", taskStateName(task.latest.state)},
              {"reason", taskReasonName(task.latest.reason)},
              {"message", task.latest.message},
              {"resources", toJson(task.info.resources)},
              {"sandbox", task.sandbox},
              {"container_id", task.latest.containerId},
              {"updated", task.latest.timestamp}};
  if (task.latest.exitCode) out["exit_code"] = *task.latest.exitCode;
  return out;
}

json volumesJson(const Resources& volumes) {
  json out = json::array();
  for (const PersistentVolume& v : volumes.volumeList()) {
    out.push_back({{"id", v.disk.id},
                   {"role", v.reservation.role},
                   {"reservation", v.reservation.toString()},
                   {"principal", v.disk.principal},
                   {"container_path", v.disk.containerPath},
                   {"mode", v.disk.readOnly ? "ro" : "rw"},
                   {"disk", v.resources.scalar("disk")}});
  }
  return out;
}

json agentJson(const Agent& agent, const Usage& usage) {
  return {{"id", agent.id},
          {"hostname", agent.hostname},
          {"url", agent.url},
          {"status", agentStatusName(agent.status)},
          {"registered_time", agent.registeredTime},
          {"resources", toJson(agent.total)},
          {"reserved", reservedByRole(agent.total.reservedPart() + agent.dynamic)},
          {"used", toJson(usage.used)},
          {"offered", toJson(usage.offered)},
          {"attributes", toJson(agent.attributes)},
          {"volumes", volumesJson(agent.volumes)},
          {"task_count", usage.tasks}};
}

json frameworkJson(const Framework& framework, const Usage& usage) {
  return {{"id", framework.info.id},
          {"name", framework.info.name},
          {"user", framework.info.user},
          {"roles", framework.info.roles},
          {"capabilities", framework.info.capabilities},
          {"connected", framework.connected},
          {"active", framework.active},
          {"failover_timeout_sec", framework.info.failoverTimeoutSec},
          {"failover_deadline", framework.connected ? 0.0 : framework.failoverDeadline},
          {"registered_time", framework.registeredTime},
          {"used", toJson(usage.used)},
          {"offered", toJson(usage.offered)},
          {"task_count", usage.tasks}};
}

// Strings come from the network and may not be UTF-8: replace bad bytes
// instead of throwing.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::shared_ptr<const Snapshot> renderSnapshot(const SnapshotInputs& inputs) {
  const MasterState& state = inputs.state;
  std::map<std::string, Usage> byAgent, byFramework;
  for (const auto& [key, task] : state.tasks) {
    if (isTerminal(task.latest.state)) continue;
    byAgent[task.agentId].used += task.info.resources;
    byAgent[task.agentId].tasks++;
    byFramework[task.frameworkId].used += task.info.resources;
    byFramework[task.frameworkId].tasks++;
  }
  for (const auto& [id, record] : state.offers) {
    byAgent[record.offer.agentId].offered += record.offer.resources;
    byFramework[record.offer.frameworkId].offered += record.offer.resources;
  }

  json agents = json::array();
  for (const auto& [id, agent] : state.agents) agents.push_back(agentJson(agent, byAgent[id]));
  json frameworks = json::array();
  for (const auto& [id, framework] : state.frameworks) {
    frameworks.push_back(frameworkJson(framework, byFramework[id]));
  }
  json tasks = json::array();
  for (const auto& [key, task] : state.tasks) tasks.push_back(taskJson(task, state));
  for (const auto& [key, task] : state.completedTasks) tasks.push_back(taskJson(task, state));

  auto snapshot = std::make_shared<Snapshot>();
  json master = {
      {"id", state.masterId}, {"start_time", state.startTime}, {"version", inputs.version}};
  snapshot->agentsBody = dump(json{{"agents", agents}});
  snapshot->frameworksBody = dump(json{{"frameworks", frameworks}});
  snapshot->tasksBody = dump(json{{"tasks", tasks}});
  snapshot->stateBody = dump(
      json{{"master", master}, {"agents", agents}, {"frameworks", frameworks}, {"tasks", tasks}});
  snapshot->tasks = std::move(tasks);
  if (inputs.allocator != nullptr) {
    AllocationViewInputs view{*inputs.allocator, state, *inputs.clock, inputs.offerTimeoutSec};
    snapshot->rolesBody = dump(rolesView(view));
    snapshot->allocationBody = dump(allocationView(view));
  } else {
    snapshot->rolesBody = dump(json{{"roles", json::array()}});
    snapshot->allocationBody = "{}";
  }
  return snapshot;
}

void SnapshotCell::publish(std::shared_ptr<const Snapshot> snapshot, uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(snapshot);
    published_.store(generation, std::memory_order_release);
  }
  renderedCv_.notify_all();
}

std::shared_ptr<const Snapshot> SnapshotCell::get(std::chrono::milliseconds timeout) const {
  uint64_t wanted = generation();
  std::unique_lock<std::mutex> lock(mutex_);
  if (published_.load(std::memory_order_acquire) >= wanted || !request_) return current_;
  lock.unlock();
  request_();
  lock.lock();
  renderedCv_.wait_for(lock, timeout,
                       [&] { return published_.load(std::memory_order_acquire) >= wanted; });
  return current_;
}

std::shared_ptr<const Snapshot> SnapshotCell::latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

}  // namespace agora::master
