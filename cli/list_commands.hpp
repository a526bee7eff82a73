#pragma once
// `agora agents | frameworks | tasks [-o json|table]`: the master's
// /api/v1/agents|frameworks|tasks as aligned tables, or the raw JSON;
// `agora tasks --state S[,S...]` filters (the API's state= query).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "cli/table.hpp"

namespace agora::cli {

// "cpus:4 mem:1024 ports:31000-31100"; "-" for an empty or missing object.
std::string formatResources(const nlohmann::json& resources);

// Tables from the API's JSON; unknown or missing fields render empty.
Table agentsTable(const nlohmann::json& body);
Table frameworksTable(const nlohmann::json& body);
// AGE is `now` (wall seconds) minus the task's launch (its first status).
Table tasksTable(const nlohmann::json& body, double now);

// "45s", "12m", "3h", "2d" (rounded down); "-" when negative or unknown.
std::string formatAge(double seconds);
// The time a task was launched: its first status, else its latest update; 0: unknown.
double taskLaunchTime(const nlohmann::json& task);

// kind: "agents", "frameworks" or "tasks". Returns the process exit code.
int listCommand(const std::string& kind, const std::vector<std::string>& args,
                GlobalOptions global);

}  // namespace agora::cli
