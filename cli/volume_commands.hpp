#pragma once
// Operator commands for persistent volumes:
//   agora volume create AGENT_ID RESOURCES --id ID --path PATH [--ro] [--principal P]
//                                              POST /api/v1/create-volumes
//   agora volume destroy AGENT_ID --id ID      POST /api/v1/destroy-volumes
//   agora volume list [-o json]                the volumes of GET /api/v1/agents
// RESOURCES: reserved disk, e.g. 'disk(eng):100' (static) or
// 'disk(eng,dynamic):100'. Exit codes as role_commands.hpp.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "cli/role_commands.hpp"
#include "cli/table.hpp"

namespace agora::cli {

// `volume create|destroy` argument parsing (pure besides --help output);
// kInvalidArgument names the bad argument.
Result<RoleChange> parseVolumeArgs(const std::vector<std::string>& args, GlobalOptions& global,
                                   bool create);

// AGENT ID ROLE DISK PATH MODE, one row per volume of GET /api/v1/agents.
Table volumesTable(const nlohmann::json& agents);

// `agora volume SUBCOMMAND ...`.
int volumeCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
