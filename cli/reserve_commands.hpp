#pragma once
// Operator commands for dynamic reservations:
//   agora reserve AGENT_ID RESOURCES --role ROLE [--principal P]    POST /api/v1/reserve
//   agora unreserve AGENT_ID RESOURCES --role ROLE [--principal P]  POST /api/v1/unreserve
// RESOURCES: unreserved text, e.g. 'cpus:1;mem:512'. Exit codes as role_commands.hpp.

#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "cli/role_commands.hpp"

namespace agora::cli {

// Argument parsing (pure besides --help output); kInvalidArgument names the bad argument.
Result<RoleChange> parseReserveArgs(const std::vector<std::string>& args, GlobalOptions& global,
                                    bool reserve);

int reserveCommand(const std::vector<std::string>& args, GlobalOptions global, bool reserve);

}  // namespace agora::cli
