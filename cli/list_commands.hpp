#pragma once
// `agora agents | frameworks | tasks [-o json|table]`: the master's
// /api/v1/agents|frameworks|tasks as aligned tables, or the raw JSON.

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
Table tasksTable(const nlohmann::json& body);

// kind: "agents", "frameworks" or "tasks". Returns the process exit code.
int listCommand(const std::string& kind, const std::vector<std::string>& args,
                GlobalOptions global);

}  // namespace agora::cli
