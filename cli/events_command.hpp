#pragma once
// `agora events [-f] [--type T[,T]] [--framework F] [--snapshot] [-o json]`:
// the master's event stream (GET /api/v1/events). Without -f, the recent
// events the master still holds; with -f, every event from now on (after
// the recent ones with --recent, after a snapshot with --snapshot), until
// Ctrl-C, reconnecting with Last-Event-ID when the connection drops so
// nothing is missed (or saying so when the master could not resume).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

struct EventsRequest {
  bool follow = false;
  bool snapshot = false;  // start with the state as a snapshot event
  bool recent = false;    // -f: start with the recent events
  std::string types;      // comma list of groups; empty: all
  std::string frameworkId;
  bool json = false;
  bool help = false;
};

Result<EventsRequest> parseEventsArgs(const std::vector<std::string>& args, GlobalOptions& global);

// The master's path for `request`: "/api/v1/events?from=...&follow=...".
std::string eventsPath(const EventsRequest& request);

// One line for a person: "15:04:05 task_state_changed  t1 TASK_RUNNING on A1 (F1)".
std::string describeEvent(const nlohmann::json& event);

int eventsCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
