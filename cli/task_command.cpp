#include "cli/task_command.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/list_commands.hpp"
#include "cli/master_client.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

std::string text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const json& v = object[key];
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

double number(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return 0;
  return object[key].get<double>();
}

std::string shortState(std::string state) {
  return state.rfind("TASK_", 0) == 0 ? state.substr(5) : state;
}

bool terminalState(const std::string& state) {
  for (const char* name : {"FINISHED", "FAILED", "KILLED", "ERROR", "LOST", "DROPPED", "GONE",
                           "GONE_BY_OPERATOR", "UNKNOWN"}) {
    if (shortState(state) == name) return true;
  }
  return false;
}

}  // namespace

std::string describeTask(const json& task, double now) {
  const json statuses = task.value("statuses", json::array());
  double launched = taskLaunchTime(task), started = 0, ended = 0;
  if (statuses.is_array()) {
    for (const auto& entry : statuses) {
      std::string state = text(entry, "state");
      if (started == 0 && shortState(state) == "RUNNING") started = number(entry, "timestamp");
    }
  }
  std::string state = text(task, "state");
  if (terminalState(state)) ended = number(task, "updated");
  std::ostringstream out;
  auto line = [&out](const char* label, const std::string& value) {
    if (!value.empty()) out << label << value << "\n";
  };
  std::string name = text(task, "name");
  line("Task:       ", text(task, "id") + (name.empty() ? "" : " (" + name + ")"));
  line("Framework:  ", text(task, "framework_id"));
  std::string agentUrl = text(task, "agent_url");
  line("Agent:      ", text(task, "agent_id") + (agentUrl.empty() ? "" : " at " + agentUrl));
  std::string exit = text(task, "exit_code");
  line("State:      ", shortState(state) + " (" + text(task, "reason") + ")" +
                          (exit.empty() ? "" : ", exit code " + exit));
  line("Message:    ", text(task, "message"));
  line("Resources:  ", formatResources(task.value("resources", json())));
  line("Sandbox:    ", text(task, "sandbox"));
  line("Container:  ", text(task, "container_id"));
  line("Launched:   ", formatUtc(launched) + (launched > 0 ? " (" + formatAge(now - launched) + " ago)" : ""));
  line("Started:    ", formatUtc(started));
  line("Ended:      ", ended > 0 ? formatUtc(ended) + (started > 0 ? ", ran " + formatAge(ended - started)
                                                            : "")
                                 : "-");
  Table history({"TIME", "STATE", "REASON", "MESSAGE"});
  if (statuses.is_array()) {
    for (const auto& entry : statuses) {
      history.addRow({formatUtc(number(entry, "timestamp")), shortState(text(entry, "state")),
                      text(entry, "reason"), text(entry, "message")});
    }
  }
  out << "\nHistory:\n" << history.render();
  return out.str();
}

int taskCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("task", po::value<std::string>(), "the task's ID")(
      "framework", po::value<std::string>()->default_value(""),
      "the framework's ID, when frameworks share the task ID")(
      "output,o", po::value<std::string>()->default_value("text"),
      "text, or json (the task's entry in /api/v1/tasks)");
  po::positional_options_description positional;
  positional.add("task", 1);
  auto parsed = parseArgs(
      "Usage: agora task TASK_ID [--framework ID] [-o json]\n\n"
      "Shows one task: state, reason and exit code, agent, sandbox, launch, start and end "
      "times, and the history of its state changes. Completed tasks are kept (the last ones of "
      "each framework, across master restarts).",
      args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  if (!parsed->vm.count("task")) {
    return fail(Error{ErrorCode::kInvalidArgument, "task: give the task's ID"});
  }
  std::string taskId = parsed->vm["task"].as<std::string>();
  std::string frameworkId = parsed->vm["framework"].as<std::string>();
  std::string format = parsed->vm["output"].as<std::string>();
  if (format != "text" && format != "json") {
    return fail(Error{ErrorCode::kInvalidArgument, "-o must be 'text' or 'json', not '" + format + "'"});
  }
  std::string path = "/api/v1/tasks?task_id=" + http::urlEncode(taskId);
  if (!frameworkId.empty()) path += "&framework_id=" + http::urlEncode(frameworkId);
  MasterClient master(global.master);
  auto body = master.getJson(path);
  if (!body) return fail(body.error());
  const json tasks = body->value("tasks", json::array());
  if (!tasks.is_array() || tasks.empty()) {
    return fail(Error{ErrorCode::kNotFound,
                      "the master at " + master.address() + " knows no task '" + taskId + "'" +
                          (frameworkId.empty() ? "" : " of framework '" + frameworkId + "'") +
                          " (`agora tasks` lists them)"});
  }
  if (tasks.size() > 1) {
    std::string frameworks;
    for (const auto& task : tasks) frameworks += " " + text(task, "framework_id");
    return fail(Error{ErrorCode::kInvalidArgument, "task '" + taskId +
                                                       "' exists in several frameworks; give "
                                                       "--framework, one of:" + frameworks});
  }
  if (format == "json") {
    std::cout << tasks[0].dump(2) << "\n";
    return 0;
  }
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::cout << describeTask(tasks[0], now) << std::flush;
  return 0;
}

}  // namespace agora::cli
