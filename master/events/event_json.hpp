#pragma once
// Events as the operator stream serves them: one JSON object per event,
//   {"id": N, "type": "task_state_changed", "time": WALL_SECONDS, "<group>": {...}}
// where <group> is agent, framework, task, offer, role or master and its
// fields are those of /api/v1/* for the same object where both have them
// (task: id, name, framework_id, agent_id, state, reason, message,
// resources, container_id, updated, exit_code, healthy, source).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "master/events/events.hpp"

namespace agora::master::events {

nlohmann::json toJson(const Event& event);

// toJson(event).dump(), written directly for the frequent events (task
// state changes: several times faster than building the JSON object).
// Invalid UTF-8 in any text becomes U+FFFD.
std::string renderJson(const Event& event);

// `text` as a JSON string literal (quotes included) appended to `out`.
void appendJsonString(std::string& out, std::string_view text);

}  // namespace agora::master::events
