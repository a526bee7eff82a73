#include "cli/role_commands.hpp"

#include <chrono>
#include <cmath>
#include <iostream>

#include "cli/arguments.hpp"
#include "cli/list_commands.hpp"
#include "cli/master_client.hpp"
#include "cli/operator_client.hpp"
#include "cli/output.hpp"
#include "common/http_client.hpp"
#include "common/resources.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

constexpr const char* kQuotaUsage =
    "Usage: agora quota set ROLE [--guarantee 'cpus:1;mem:512'] [--limit 'cpus:2;mem:1024']\n"
    "       agora quota rm ROLE\n\n"
    "Sets or removes a role's quota. A guarantee is met before other roles get more; a\n"
    "limit is never exceeded. Scalar resources only (cpus, mem, disk, gpus).";
constexpr const char* kWeightUsage =
    "Usage: agora weight set ROLE WEIGHT\n\n"
    "Sets a role's weight: a role of weight 2 gets twice the share of a role of weight 1.";

tl::unexpected<Error> usage(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

// Parses ACTION ROLE [VALUE] plus `options`; REQUIRES: options has no positional names.
Result<ParsedArgs> parseAction(const std::string& usageText, const std::vector<std::string>& args,
                               po::options_description& options, GlobalOptions& global) {
  options.add_options()("action", po::value<std::string>(), "(positional) what to do")(
      "role", po::value<std::string>(), "(positional) the role, e.g. eng/web")(
      "value", po::value<std::string>(), "(positional) the new value, if any");
  po::positional_options_description positional;
  positional.add("action", 1).add("role", 1).add("value", 1);
  return parseArgs(usageText, args, options, global, &positional);
}

std::string arg(const ParsedArgs& parsed, const char* name) {
  return parsed.vm.count(name) ? parsed.vm[name].as<std::string>() : "";
}

// "cpus:1;mem:512" checked here so a typo is a usage error, not a round trip.
Result<std::string> resourcesArg(const ParsedArgs& parsed, const char* name) {
  std::string text = arg(parsed, name);
  if (text.empty()) return text;
  auto resources = Resources::parse(text);
  if (!resources) return usage("--" + std::string(name) + ": " + resources.error().message);
  if (!resources->rangeNames().empty()) {
    return usage("--" + std::string(name) + ": only scalar resources (cpus, mem, disk, gpus)");
  }
  return text;
}

RoleChange helpShown() {
  RoleChange change;
  change.help = true;
  return change;
}

}  // namespace

int sendRoleChange(const RoleChange& change, const GlobalOptions& global) {
  auto sent = sendToMaster(global.master, change.method, change.path, change.body);
  if (!sent) {
    std::cerr << "agora: " << sent.error().message << std::endl;
    return kExitError;
  }
  std::cout << change.done << std::endl;
  return 0;
}

Result<RoleChange> parseQuotaArgs(const std::vector<std::string>& args, GlobalOptions& global) {
  po::options_description options("Options");
  options.add_options()("guarantee", po::value<std::string>(),
                        "resources the role is guaranteed, e.g. 'cpus:1;mem:512'")(
      "limit", po::value<std::string>(), "resources the role may never exceed");
  auto parsed = parseAction(kQuotaUsage, args, options, global);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) return helpShown();
  std::string action = arg(*parsed, "action");
  std::string role = arg(*parsed, "role");
  if (action != "set" && action != "rm") {
    return usage(action.empty() ? "quota: give an action, set or rm (see --help)"
                                : "quota: unknown action '" + action + "' (set or rm)");
  }
  if (role.empty()) return usage("quota " + action + ": give a ROLE");
  if (!arg(*parsed, "value").empty()) {
    return usage("quota " + action + ": unexpected argument '" + arg(*parsed, "value") + "'");
  }
  if (action == "rm") {
    if (parsed->vm.count("guarantee") || parsed->vm.count("limit")) {
      return usage("quota rm: --guarantee and --limit belong to `quota set`");
    }
    return RoleChange{"DELETE", "/api/v1/quota?role=" + http::urlEncode(role), "",
                      "role " + role + ": quota removed", false};
  }
  auto guarantee = resourcesArg(*parsed, "guarantee");
  if (!guarantee) return makeError(guarantee.error());
  auto limit = resourcesArg(*parsed, "limit");
  if (!limit) return makeError(limit.error());
  if (guarantee->empty() && limit->empty()) {
    return usage("quota set: give --guarantee, --limit or both");
  }
  json body = {{"role", role}};
  if (!guarantee->empty()) body["guarantee"] = *guarantee;
  if (!limit->empty()) body["limit"] = *limit;
  std::string done = "role " + role + ": quota set (guarantee " +
                     (guarantee->empty() ? "none" : *guarantee) + ", limit " +
                     (limit->empty() ? "none" : *limit) + ")";
  return RoleChange{"POST", "/api/v1/quota", body.dump(), done, false};
}

Result<RoleChange> parseWeightArgs(const std::vector<std::string>& args, GlobalOptions& global) {
  po::options_description options("Options");
  auto parsed = parseAction(kWeightUsage, args, options, global);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) return helpShown();
  std::string action = arg(*parsed, "action");
  if (action != "set") {
    return usage(action.empty() ? "weight: give an action, set (see --help)"
                                : "weight: unknown action '" + action + "' (set)");
  }
  std::string role = arg(*parsed, "role");
  std::string value = arg(*parsed, "value");
  if (role.empty() || value.empty()) return usage("weight set: give a ROLE and a WEIGHT");
  double weight = 0;
  size_t used = 0;
  try {
    weight = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || !std::isfinite(weight)) {
    return usage("weight set: WEIGHT must be a number, not '" + value + "'");
  }
  json body = {{"role", role}, {"weight", weight}};
  return RoleChange{"POST", "/api/v1/weights", body.dump(),
                    "role " + role + ": weight set to " + formatNumber(weight), false};
}

std::string formatSpan(double seconds) {
  if (seconds < 0) seconds = 0;
  struct Unit {
    double size;
    const char* suffix;
  };
  for (Unit unit : {Unit{86400, "d"}, Unit{3600, "h"}, Unit{60, "m"}}) {
    if (seconds >= unit.size) {
      return std::to_string(static_cast<long long>(seconds / unit.size)) + unit.suffix;
    }
  }
  return std::to_string(static_cast<long long>(std::ceil(seconds))) + "s";
}

std::string formatFilters(const json& filters, double nowWall) {
  if (!filters.is_array() || filters.empty()) return "-";
  std::string out;
  for (const json& f : filters) {
    if (!f.is_object()) continue;
    double earliest = f.value("earliest_expiry", 0.0) - nowWall;
    double latest = f.value("latest_expiry", 0.0) - nowWall;
    std::string span = formatSpan(earliest);
    if (formatSpan(latest) != span) span += ".." + formatSpan(latest);
    if (!out.empty()) out += ", ";
    long long agents = f.value("agents", 0LL);
    out += f.value("framework_id", std::string("?")) + ":" + std::to_string(agents) +
           (agents == 1 ? " agent" : " agents") + " (" + span + ")";
  }
  return out.empty() ? "-" : out;
}

Table rolesTable(const json& body, double nowWall) {
  Table table({"ROLE", "WEIGHT", "GUARANTEE", "LIMIT", "RESERVED", "ALLOCATED", "OFFERED",
               "FRAMEWORKS", "SUPPRESSED", "FILTERS"});
  if (!body.is_object() || !body.contains("roles") || !body["roles"].is_array()) return table;
  auto list = [](const json& items) {
    std::string out;
    if (!items.is_array()) return std::string("-");
    for (const json& item : items) {
      if (!out.empty()) out += ",";
      out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out.empty() ? std::string("-") : out;
  };
  for (const json& role : body["roles"]) {
    if (!role.is_object()) continue;
    json quota = role.value("quota", json::object());
    std::string guarantee = formatResources(quota.value("guarantee", json()));
    if (role.value("guarantee_exceeds_capacity", false)) guarantee += " (exceeds cluster)";
    std::string weight = role.contains("weight") && role["weight"].is_number()
                             ? formatNumber(role["weight"].get<double>())
                             : "";
    table.addRow({role.value("name", std::string()), weight, guarantee,
                  formatResources(quota.value("limit", json())),
                  formatResources(role.value("reserved", json())),
                  formatResources(role.value("allocated", json())),
                  formatResources(role.value("offered", json())),
                  list(role.value("frameworks", json())),
                  list(role.value("suppressed_frameworks", json())),
                  formatFilters(role.value("filters", json()), nowWall)});
  }
  return table;
}

int rolesCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("output,o", po::value<std::string>()->default_value("table"),
                        "output format: table or json (the master's raw JSON)");
  auto parsed = parseArgs(
      "Usage: agora roles [-o json]\n\nLists roles with their weight, quota, reservations, "
      "allocation, "
      "offers, frameworks and refuse filters (GET /api/v1/roles).",
      args, options, global);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  std::string format = parsed->vm["output"].as<std::string>();
  if (format != "table" && format != "json") {
    return fail(usage("-o must be 'table' or 'json', not '" + format + "'").value());
  }
  MasterClient master(global.master);
  if (format == "json") {
    auto body = master.getRaw("/api/v1/roles");
    if (!body) return fail(body.error());
    printJson(*body);
    return 0;
  }
  auto body = master.getJson("/api/v1/roles");
  if (!body) return fail(body.error());
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                   .count();
  std::cout << rolesTable(*body, now).render() << std::flush;
  return 0;
}

int quotaCommand(const std::vector<std::string>& args, GlobalOptions global) {
  auto change = parseQuotaArgs(args, global);
  if (!change) return fail(change.error());
  return change->help ? 0 : sendRoleChange(*change, global);
}

int weightCommand(const std::vector<std::string>& args, GlobalOptions global) {
  auto change = parseWeightArgs(args, global);
  if (!change) return fail(change.error());
  return change->help ? 0 : sendRoleChange(*change, global);
}

}  // namespace agora::cli
