#include "cli/reserve_commands.hpp"

#include "cli/arguments.hpp"
#include "common/resources.hpp"
#include "common/role_name.hpp"

namespace agora::cli {

namespace {

constexpr const char* kReserveUsage =
    "Usage: agora reserve AGENT_ID RESOURCES --role ROLE [--principal P]\n\n"
    "Reserves unreserved resources of an agent for ROLE (e.g. 'cpus:1;mem:512'): from then\n"
    "on they are offered only to frameworks in ROLE or its descendants, and count toward\n"
    "ROLE's quota once, whether or not tasks use them (refused if that would pass ROLE's or\n"
    "a parent's limit). The reservation survives master restarts.";
constexpr const char* kUnreserveUsage =
    "Usage: agora unreserve AGENT_ID RESOURCES --role ROLE [--principal P]\n\n"
    "Returns dynamically reserved resources of an agent to the unreserved pool. Give the\n"
    "principal the reservation was made with, if any. Static reservations (an agent's\n"
    "--resources flag) cannot be unreserved.";

tl::unexpected<Error> usage(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

}  // namespace

Result<RoleChange> parseReserveArgs(const std::vector<std::string>& args, GlobalOptions& global,
                                    bool reserve) {
  const char* command = reserve ? "reserve" : "unreserve";
  po::options_description options("Options");
  options.add_options()("role", po::value<std::string>(), "the role to reserve for, e.g. eng")(
      "principal", po::value<std::string>(), "who makes the reservation (optional)")(
      "agent", po::value<std::string>(), "(positional) the agent's ID")(
      "resources", po::value<std::string>(), "(positional) e.g. 'cpus:1;mem:512'");
  po::positional_options_description positional;
  positional.add("agent", 1).add("resources", 1);
  auto parsed = parseArgs(reserve ? kReserveUsage : kUnreserveUsage, args, options, global,
                          &positional);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) {
    RoleChange change;
    change.help = true;
    return change;
  }
  auto value = [&](const char* name) {
    return parsed->vm.count(name) ? parsed->vm[name].as<std::string>() : std::string();
  };
  std::string agent = value("agent");
  std::string text = value("resources");
  std::string role = value("role");
  if (agent.empty() || text.empty()) {
    return usage(std::string(command) + ": give an AGENT_ID and RESOURCES (see --help)");
  }
  if (role.empty()) return usage(std::string(command) + ": give --role ROLE");
  if (auto valid = validateRoleName(role); !valid) return usage("--role: " + valid.error().message);
  if (role == kDefaultRole) return usage("--role: '*' is the unreserved role");
  auto resources = Resources::parse(text);
  if (!resources) return usage("RESOURCES: " + resources.error().message);
  if (resources->empty()) return usage("RESOURCES: none given");
  if (resources->hasReservations()) {
    return usage("RESOURCES: give them unreserved ('cpus:1'); --role names the role");
  }
  nlohmann::json body = {{"agent_id", agent}, {"resources", text}, {"role", role}};
  if (parsed->vm.count("principal")) body["principal"] = value("principal");
  std::string done = std::string(reserve ? "reserved " : "unreserved ") +
                     resources->toString() + " of agent " + agent + (reserve ? " for" : " from") +
                     " role " + role;
  return RoleChange{"POST", reserve ? "/api/v1/reserve" : "/api/v1/unreserve", body.dump(), done,
                    false};
}

int reserveCommand(const std::vector<std::string>& args, GlobalOptions global, bool reserve) {
  auto change = parseReserveArgs(args, global, reserve);
  if (!change) return fail(change.error());
  return change->help ? 0 : sendRoleChange(*change, global);
}

}  // namespace agora::cli
