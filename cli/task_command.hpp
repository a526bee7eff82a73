#pragma once
// `agora task TASK_ID [--framework ID] [-o json]`: one task as the master
// knows it (live, or completed and kept): its state and exit code, agent,
// sandbox, launch/start/end times and the history of its state changes.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

// The human-readable description of one task of /api/v1/tasks.
std::string describeTask(const nlohmann::json& task, double now);

// Returns the process exit code.
int taskCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
