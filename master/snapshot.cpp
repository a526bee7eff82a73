#include "master/snapshot.hpp"

#include "common/model.hpp"

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

json agentJson(const Agent& agent, const Usage& usage) {
  return {{"id", agent.id},
          {"hostname", agent.hostname},
          {"url", agent.url},
          {"status", agentStatusName(agent.status)},
          {"registered_time", agent.registeredTime},
          {"resources", toJson(agent.total)},
          {"used", toJson(usage.used)},
          {"offered", toJson(usage.offered)},
          {"attributes", toJson(agent.attributes)},
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
          {"registered_time", framework.registeredTime},
          {"used", toJson(usage.used)},
          {"offered", toJson(usage.offered)},
          {"task_count", usage.tasks}};
}

std::string renderGauges(const MasterState& state, double lagMs) {
  std::string out;
  std::map<std::string, double> agents = {{"REGISTERED", 0}, {"UNREACHABLE", 0}};
  for (const auto& [id, agent] : state.agents) agents[agentStatusName(agent.status)]++;
  appendFamilyHeader(out, "agora_master_agents", "gauge", "Agents known to the master, by status.");
  for (const auto& [status, n] : agents)
    appendSample(out, "agora_master_agents", {{"status", status}}, n);

  double connected = 0, disconnected = 0;
  for (const auto& [id, framework] : state.frameworks) {
    (framework.connected ? connected : disconnected)++;
  }
  appendFamilyHeader(out, "agora_master_frameworks", "gauge", "Frameworks, by connection status.");
  appendSample(out, "agora_master_frameworks", {{"status", "connected"}}, connected);
  appendSample(out, "agora_master_frameworks", {{"status", "disconnected"}}, disconnected);

  std::map<std::string, double> tasks;
  for (const auto& [key, task] : state.tasks) tasks[taskStateName(task.latest.state)]++;
  for (const auto& [key, task] : state.completedTasks) tasks[taskStateName(task.latest.state)]++;
  appendFamilyHeader(out, "agora_master_tasks", "gauge",
                     "Live and recently completed tasks, by state.");
  for (const auto& [taskState, n] : tasks) {
    appendSample(out, "agora_master_tasks", {{"state", taskState}}, n);
  }
  appendFamilyHeader(out, "agora_master_offers_outstanding", "gauge", "Offers not yet answered.");
  appendSample(out, "agora_master_offers_outstanding", {},
               static_cast<double>(state.offers.size()));
  appendFamilyHeader(out, "agora_master_event_loop_lag_ms", "gauge",
                     "Worst timer lateness of the master's event loop over the last second.");
  appendSample(out, "agora_master_event_loop_lag_ms", {}, lagMs);
  return out;
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
  snapshot->metricsText = inputs.metrics.render() + renderGauges(state, inputs.eventLoopLagMs);
  return snapshot;
}

}  // namespace agora::master
