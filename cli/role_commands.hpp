#pragma once
// Operator commands for roles:
//   agora roles [-o json]                      GET /api/v1/roles as a table (with each
//                                              role's reservations)
//   agora quota set ROLE [--guarantee R] [--limit R]   POST /api/v1/quota
//   agora quota rm ROLE                        DELETE /api/v1/quota?role=ROLE
//   agora weight set ROLE W                    POST /api/v1/weights
// Exit codes: 0 done; kExitUsage for bad arguments (nothing sent); kExitError
// when the master refuses (its error printed verbatim) or cannot be reached.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "cli/table.hpp"

namespace agora::cli {

// One operator change, ready to send.
struct RoleChange {
  std::string method;  // "POST" or "DELETE"
  std::string path;    // with the query, if any
  std::string body;    // JSON, empty for DELETE
  std::string done;    // what to print on success
  bool help = false;   // usage printed; nothing to send
};

// `quota` and `weight` argument parsing (pure besides --help output). An
// Error with kInvalidArgument names the bad argument. Also applies --master.
Result<RoleChange> parseQuotaArgs(const std::vector<std::string>& args, GlobalOptions& global);
Result<RoleChange> parseWeightArgs(const std::vector<std::string>& args, GlobalOptions& global);

// The roles table. `nowWall`: Unix seconds, to show when filters expire.
Table rolesTable(const nlohmann::json& body, double nowWall);
// "fw-1:3 agents (2s..1h)": live filters of one role's frameworks; "-" if none.
std::string formatFilters(const nlohmann::json& filters, double nowWall);
// "45s", "2m", "3h", "2d": a coarse, readable span.
std::string formatSpan(double seconds);

// Sends the change and prints change.done; kExitError with the master's refusal.
int sendRoleChange(const RoleChange& change, const GlobalOptions& global);

int rolesCommand(const std::vector<std::string>& args, GlobalOptions global);
int quotaCommand(const std::vector<std::string>& args, GlobalOptions global);
int weightCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
