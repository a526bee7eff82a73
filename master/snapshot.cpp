#include "master/snapshot.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <string_view>

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

json historyJson(const Task& task) {
  json out = json::array();
  for (const StatusEntry& entry : task.history) {
    out.push_back({{"state", taskStateName(entry.state)},
                   {"reason", taskReasonName(entry.reason)},
                   {"message", entry.message.get()},
                   {"timestamp", entry.timestamp}});
  }
  return out;
}

json taskJson(const Task& task, const MasterView& state) {
  const Agent* agent = nullptr;
  if (auto it = state.agents.find(task.agentId.get()); it != state.agents.end()) {
    agent = &it->second;
  }
  json out = {{"id", task.id},
              {"name", task.name},
              {"framework_id", task.frameworkId.get()},
              {"agent_id", task.agentId.get()},
              {"agent_url", agent ? agent->url : ""},
              {"state", taskStateName(task.state)},
              {"reason", taskReasonName(task.reason)},
              {"message", task.message.get()},
              {"resources", toJson(task.resources.get())},
              {"sandbox", task.sandbox()},
              {"container_id", task.containerId},
              {"updated", task.timestamp},
              {"statuses", historyJson(task)}};
  if (task.exitCode) out["exit_code"] = *task.exitCode;
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
          // Destroyed; their data is deleted once the agent confirms.
          {"destroyed_volumes", volumesJson(agent.destroyedVolumes)},
          {"task_count", usage.tasks}};
}

json frameworkJson(const Framework& framework, const Usage& usage) {
  return {{"id", framework.info.id},
          {"name", framework.info.name},
          {"user", framework.info.user},
          {"principal", framework.principal},
          {"roles", framework.info.roles},
          {"capabilities", framework.info.capabilities},
          {"connected", framework.connected},
          {"active", framework.active},
          {"failover_timeout_sec", framework.info.failoverTimeoutSec},
          {"failover_deadline", framework.connected ? 0.0 : framework.failoverDeadline},
          {"registered_time", framework.registeredTime},
          {"used", toJson(usage.used)},
          {"offered", toJson(usage.offered)},
          {"task_count", usage.tasks},
          {"webui_url", framework.info.webuiUrl}};
}

// Strings come from the network and may not be UTF-8: replace bad bytes
// instead of throwing.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

constexpr std::string_view kTasksOpen = R"({"tasks":[)";
constexpr std::string_view kTasksClose = "]}";

void renderTasks(const MasterView& state, Snapshot& snapshot) {
  std::map<std::string_view, uint32_t> frameworks;
  std::string& body = snapshot.tasksBody;
  body = kTasksOpen;
  for (const Task* task : state.tasks.sorted()) {
    if (body.size() > kTasksOpen.size()) body += ',';
    std::string text = dump(taskJson(*task, state));
    auto [it, added] = frameworks.try_emplace(task->frameworkId.get(),
                                              static_cast<uint32_t>(frameworks.size()));
    if (added) snapshot.taskFrameworks.emplace_back(it->first);
    snapshot.taskSlices.push_back(
        {body.size(), static_cast<uint32_t>(text.size()), it->second, task->state, task->id});
    body += text;
  }
  body += kTasksClose;
}

}  // namespace

std::string Snapshot::stateBody() const {
  if (stateHead.empty()) return {};  // never rendered
  std::string body = stateHead;
  std::string_view tasks(tasksBody);
  if (tasks.size() >= kTasksOpen.size() + kTasksClose.size()) {
    // The array itself: tasksBody without {"tasks": and its closing brace.
    tasks.remove_prefix(kTasksOpen.size() - 1);
    tasks.remove_suffix(1);
    body += tasks;
  } else {
    body += "[]";
  }
  body += '}';
  return body;
}

Result<uint32_t> parseTaskStates(const std::string& text) {
  constexpr uint16_t kStates = static_cast<uint16_t>(TaskState::UNKNOWN) + 1;
  uint32_t mask = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string given, name;
    for (char c : text.substr(start, comma - start)) {
      if (c == ' ') continue;
      given += c;
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    start = comma + 1;
    if (name.empty()) continue;
    if (name.rfind("TASK_", 0) != 0) name = "TASK_" + name;
    uint32_t matched = 0;
    for (uint16_t i = 0; i < kStates; ++i) {
      auto state = static_cast<TaskState>(i);
      bool terminal = isTerminal(state);
      // "finished" is TASK_FINISHED, so the group of terminal states is "terminal".
      if (name == taskStateName(state) || (name == "TASK_ACTIVE" && !terminal) ||
          (name == "TASK_TERMINAL" && terminal)) {
        matched |= 1u << i;
      }
    }
    if (matched == 0) {
      std::string valid;
      for (uint16_t i = 0; i < kStates; ++i) {
        valid += std::string(valid.empty() ? "" : ", ") + taskStateName(static_cast<TaskState>(i));
      }
      return makeError(ErrorCode::kInvalidArgument,
                       "state: unknown task state '" + given + "'; valid: " + valid +
                           " (with or without TASK_, any case, comma-separated), or the groups "
                           "active and terminal");
    }
    mask |= matched;
  }
  return mask;
}

std::string Snapshot::tasksMatching(const TaskFilter& filter) const {
  std::string body(kTasksOpen);
  for (const TaskSlice& slice : taskSlices) {
    if (!filter.frameworkId.empty() && taskFrameworks[slice.framework] != filter.frameworkId) {
      continue;
    }
    if (!filter.taskId.empty() && slice.taskId != filter.taskId) continue;
    if (filter.states != 0 && (filter.states & (1u << static_cast<uint16_t>(slice.state))) == 0) {
      continue;
    }
    if (body.size() > kTasksOpen.size()) body += ',';
    body.append(tasksBody, slice.offset, slice.length);
  }
  body += kTasksClose;
  return body;
}

std::shared_ptr<const Snapshot> renderSnapshot(const SnapshotInputs& inputs) {
  const MasterView& state = inputs.state;
  std::map<std::string, Usage> byAgent, byFramework;
  state.tasks.forEach([&](const Task& task) {
    if (task.completed || isTerminal(task.state)) return;
    Usage& agent = byAgent[task.agentId.get()];
    agent.used += task.resources.get();
    agent.tasks++;
    Usage& framework = byFramework[task.frameworkId.get()];
    framework.used += task.resources.get();
    framework.tasks++;
  });
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
  auto snapshot = std::make_shared<Snapshot>();
  renderTasks(state, *snapshot);
  json master = {
      {"id", state.masterId}, {"start_time", state.startTime}, {"version", inputs.version}};
  snapshot->agentsBody = dump(json{{"agents", agents}});
  snapshot->frameworksBody = dump(json{{"frameworks", frameworks}});
  // Members are in key order, so "tasks" comes last: cut its empty array.
  std::string head = dump(json{{"master", master},
                               {"agents", agents},
                               {"frameworks", frameworks},
                               {"tasks", json::array()}});
  CHECK(head.size() > 3 && head.compare(head.size() - 3, 3, "[]}") == 0) << head;
  head.resize(head.size() - 3);
  snapshot->stateHead = std::move(head);
  if (inputs.allocator != nullptr) {
    AllocationViewInputs view{*inputs.allocator, state, *inputs.clock, inputs.offerTimeout};
    snapshot->rolesBody = dump(rolesView(view));
    snapshot->allocationBody = dump(allocationView(view));
  } else {
    snapshot->rolesBody = dump(json{{"roles", json::array()}});
    snapshot->allocationBody = "{}";
  }
  return snapshot;
}

}  // namespace agora::master
