#include "cli/list_commands.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/output.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

std::string str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const json& v = object[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

std::string joinStrings(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& item : list) {
    if (!out.empty()) out += ",";
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

const json& listOf(const json& body, const char* key) {
  static const json kEmpty = json::array();
  return body.is_object() && body.contains(key) && body[key].is_array() ? body[key] : kEmpty;
}

}  // namespace

std::string formatResources(const json& resources) {
  if (!resources.is_object() || resources.empty()) return "-";
  std::string out;
  for (const auto& [name, value] : resources.items()) {
    std::string text;
    if (value.is_number()) {
      text = formatNumber(value.get<double>());
    } else if (value.is_array()) {
      for (const auto& range : value) {
        if (!text.empty()) text += ",";
        if (range.is_array() && range.size() == 2) {
          text += range[0].dump() + (range[0] == range[1] ? "" : "-" + range[1].dump());
        }
      }
    } else {
      text = value.dump();
    }
    if (!out.empty()) out += " ";
    out += name + ":" + text;
  }
  return out;
}

Table agentsTable(const json& body) {
  Table table({"ID", "HOSTNAME", "STATUS", "RESOURCES", "USED", "OFFERED", "URL"});
  for (const auto& a : listOf(body, "agents")) {
    table.addRow({str(a, "id"), str(a, "hostname"), str(a, "status"),
                  formatResources(a.value("resources", json())),
                  formatResources(a.value("used", json())),
                  formatResources(a.value("offered", json())), str(a, "url")});
  }
  return table;
}

Table frameworksTable(const json& body) {
  // URL: the framework's own API/UI (FrameworkInfo.webuiUrl), where its tool finds it.
  Table table(
      {"ID", "NAME", "USER", "ROLES", "CONNECTED", "ACTIVE", "TASKS", "USED", "OFFERED", "URL"});
  for (const auto& f : listOf(body, "frameworks")) {
    table.addRow({str(f, "id"), str(f, "name"), str(f, "user"),
                  joinStrings(f.value("roles", json())), str(f, "connected"), str(f, "active"),
                  str(f, "task_count"), formatResources(f.value("used", json())),
                  formatResources(f.value("offered", json())), str(f, "webui_url")});
  }
  return table;
}

std::string formatAge(double seconds) {
  if (!(seconds >= 0) || seconds > 1e12) return "-";
  auto whole = static_cast<long long>(seconds);
  if (whole < 120) return std::to_string(whole) + "s";
  if (whole < 120 * 60) return std::to_string(whole / 60) + "m";
  if (whole < 48 * 3600) return std::to_string(whole / 3600) + "h";
  return std::to_string(whole / 86400) + "d";
}

double taskLaunchTime(const json& task) {
  if (!task.is_object()) return 0;
  const json statuses = task.value("statuses", json());
  if (statuses.is_array() && !statuses.empty() && statuses[0].is_object()) {
    const json& first = statuses[0].value("timestamp", json());
    if (first.is_number()) return first.get<double>();
  }
  const json updated = task.value("updated", json());
  return updated.is_number() ? updated.get<double>() : 0;
}

Table tasksTable(const json& body, double now) {
  Table table(
      {"ID", "NAME", "STATE", "EXIT", "AGE", "FRAMEWORK", "AGENT", "RESOURCES", "MESSAGE"});
  for (const auto& t : listOf(body, "tasks")) {
    std::string state = str(t, "state");
    if (state.rfind("TASK_", 0) == 0) state = state.substr(5);
    double launched = taskLaunchTime(t);
    table.addRow({str(t, "id"), str(t, "name"), state, str(t, "exit_code"),
                  launched > 0 ? formatAge(now - launched) : "-", str(t, "framework_id"),
                  str(t, "agent_id"), formatResources(t.value("resources", json())),
                  str(t, "message")});
  }
  return table;
}

int listCommand(const std::string& kind, const std::vector<std::string>& args,
                GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("output,o", po::value<std::string>()->default_value("table"),
                        "output format: table or json (the master's raw JSON)");
  std::string usage = "Usage: agora " + kind + " [-o json]\n\nLists the master's " + kind +
                      " (GET /api/v1/" + kind + ").";
  if (kind == "tasks") {
    options.add_options()(
        "state", po::value<std::string>()->default_value(""),
        "only tasks in these states, comma-separated: running, finished, failed, killed, lost, "
        "... (any case, TASK_ optional), or the groups active and terminal");
    usage = "Usage: agora tasks [--state S[,S...]] [-o json]\n\nLists live tasks, then completed "
            "ones (the master keeps the last ones of each framework across restarts). AGE counts "
            "from the launch; EXIT is the command's exit code (128+N: killed by signal N).";
  }
  auto parsed = parseArgs(usage, args, options, global);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  std::string format = parsed->vm["output"].as<std::string>();
  if (format != "table" && format != "json") {
    return fail(
        Error{ErrorCode::kInvalidArgument, "-o must be 'table' or 'json', not '" + format + "'"});
  }
  std::string path = "/api/v1/" + kind;
  if (kind == "tasks" && !parsed->vm["state"].as<std::string>().empty()) {
    path += "?state=" + http::urlEncode(parsed->vm["state"].as<std::string>());
  }
  MasterClient master(global.master);
  if (format == "json") {
    auto body = master.getRaw(path);
    if (!body) return fail(body.error());
    printJson(*body);
    return 0;
  }
  auto body = master.getJson(path);
  if (!body) return fail(body.error());
  double now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  Table table = kind == "agents"       ? agentsTable(*body)
                : kind == "frameworks" ? frameworksTable(*body)
                                       : tasksTable(*body, now);
  std::cout << table.render() << std::flush;
  return 0;
}

}  // namespace agora::cli
