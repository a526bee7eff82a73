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
              {"user", e.user},
              {"webui_url", e.webuiUrl}};
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
              {"healthy", e.healthy ? json(*e.healthy) : json()},
              {"ready", e.ready ? json(*e.ready) : json()},
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

void appendJsonString(std::string& out, std::string_view text) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A whole, minimal UTF-8 sequence passes; anything else is U+FFFD.
    size_t length = c >= 0xF5 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (valid && length == 3) {
      unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (valid && length == 4) {
      unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (valid) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  out += '"';
}

namespace {

void appendNumber(std::string& out, double value) { out += json(value).dump(); }

void appendField(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  appendJsonString(out, value);
}

std::string renderTask(const Event& event, const TaskStateChanged& e) {
  std::string out;
  out.reserve(512);
  out += "{\"id\":";
  out += std::to_string(event.id);
  out += ",\"type\":\"task_state_changed\",\"time\":";
  appendNumber(out, event.time);
  out += ",\"task\":{\"id\":";
  appendJsonString(out, e.taskId);
  appendField(out, "name", e.name);
  appendField(out, "framework_id", e.frameworkId);
  appendField(out, "agent_id", e.agentId);
  appendField(out, "state", taskStateName(e.state));
  appendField(out, "reason", taskReasonName(e.reason));
  appendField(out, "source", e.source == StatusSource::AGENT      ? "agent"
                             : e.source == StatusSource::EXECUTOR ? "executor"
                                                                  : "master");
  appendField(out, "message", e.message);
  auto verdict = [](const std::optional<bool>& v) { return !v ? "null" : *v ? "true" : "false"; };
  out += ",\"healthy\":";
  out += verdict(e.healthy);
  out += ",\"ready\":";
  out += verdict(e.ready);
  out += ",\"resources\":";
  out += agora::toJson(e.resources).dump(-1, ' ', false, json::error_handler_t::replace);
  appendField(out, "container_id", e.containerId);
  out += ",\"updated\":";
  appendNumber(out, e.timestamp);
  if (e.exitCode) {
    out += ",\"exit_code\":";
    out += std::to_string(*e.exitCode);
  }
  out += "}}";
  return out;
}

}  // namespace

std::string renderJson(const Event& event) {
  if (const auto* task = std::get_if<TaskStateChanged>(&event.body)) return renderTask(event, *task);
  return toJson(event).dump(-1, ' ', false, json::error_handler_t::replace);
}

json toJson(const Event& event) {
  json out = {{"id", event.id}, {"type", typeName(event.body)}, {"time", event.time}};
  out[groupName(event.body)] = std::visit([](const auto& e) { return bodyJson(e); }, event.body);
  return out;
}

}  // namespace agora::master::events
