#include "master/events/event_json.hpp"

#include <type_traits>

#include "common/model.hpp"

namespace agora::master::events {

using nlohmann::json;

namespace {

json optionalResources(const std::optional<Resources>& resources) {
  return resources ? agora::toJson(*resources) : json(nullptr);
}

json bodyJson(const AgentChanged& e) {
  json out = {{"id", e.agentId},
              {"hostname", e.hostname},
              {"url", e.url},
              {"resources", agora::toJson(e.total)},
              {"attributes", agora::toJson(e.attributes)}};
  if (!e.reason.empty()) out["reason"] = e.reason;
  return out;
}

json bodyJson(const FrameworkChanged& e) {
  json out = {{"id", e.frameworkId},
              {"name", e.name},
              {"roles", e.roles},
              {"user", e.user}};
  if (!e.reason.empty()) out["reason"] = e.reason;
  return out;
}

json bodyJson(const TaskStateChanged& e) {
  json out = {{"id", e.taskId},
              {"name", e.name},
              {"framework_id", e.frameworkId},
              {"agent_id", e.agentId},
              {"state", taskStateName(e.state)},
              {"reason", taskReasonName(e.reason)},
              {"source", e.source == StatusSource::AGENT      ? "agent"
                         : e.source == StatusSource::EXECUTOR ? "executor"
                                                              : "master"},
              {"message", e.message},
              {"healthy", e.healthy},
              {"resources", agora::toJson(e.resources)},
              {"container_id", e.containerId},
              {"updated", e.timestamp}};
  if (e.exitCode) out["exit_code"] = *e.exitCode;
  return out;
}

json bodyJson(const OfferSent& e) {
  return {{"id", e.offerId},
          {"framework_id", e.frameworkId},
          {"agent_id", e.agentId},
          {"role", e.role},
          {"resources", agora::toJson(e.resources)}};
}

json bodyJson(const OfferRemoved& e) {
  return {{"id", e.offerId},
          {"framework_id", e.frameworkId},
          {"agent_id", e.agentId},
          {"reason", e.reason},
          {"rescinded", e.rescinded}};
}

json bodyJson(const ReservationChanged& e) {
  return {{"agent_id", e.agentId},
          {"reserved", e.reserved.toString()},
          {"volumes", e.volumes.toString()}};
}

json bodyJson(const QuotaChanged& e) {
  return {{"name", e.role},
          {"quota",
           {{"guarantee", optionalResources(e.guarantee)}, {"limit", optionalResources(e.limit)}}}};
}

json bodyJson(const WeightChanged& e) { return {{"name", e.role}, {"weight", e.weight}}; }

json bodyJson(const LeadershipChanged& e) {
  return {{"id", e.masterId}, {"leading", e.leading}};
}

}  // namespace

json toJson(const Event& event) {
  json out = {{"id", event.id}, {"type", typeName(event.body)}, {"time", event.time}};
  out[groupName(event.body)] = std::visit([](const auto& e) { return bodyJson(e); }, event.body);
  return out;
}

}  // namespace agora::master::events
