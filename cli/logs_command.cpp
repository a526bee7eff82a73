#include "cli/logs_command.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/output.hpp"
#include "cli/sandbox_file.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kStatePollInterval = std::chrono::seconds(1);
// Failed reads in a row (with -f) before we say so.
constexpr int kWarnAfterFailures = 3;
// After the task ended, failed reads in a row (~15 s) before giving up.
constexpr int kGiveUpAfterFailures = 60;

// The task's entry, looked up again by its ID (and framework, as IDs are
// unique per framework only).
Result<nlohmann::json> refresh(const MasterClient& master, const nlohmann::json& task) {
  std::string id = task.value("id", "");
  auto body = master.getJson("/api/v1/tasks?framework_id=" +
                             http::urlEncode(task.value("framework_id", "")));
  if (!body) return makeError(body.error());
  for (const auto& entry : body->value("tasks", nlohmann::json::array())) {
    if (entry.is_object() && entry.value("id", "") == id) return entry;
  }
  return makeError(ErrorCode::kNotFound, "the master no longer knows task '" + id + "'");
}

std::string describeMatches(const std::vector<const nlohmann::json*>& matches) {
  std::string out;
  for (const nlohmann::json* task : matches) {
    std::string state = task->value("state", "?");
    if (state.rfind("TASK_", 0) == 0) state = state.substr(5);
    out += "\n  " + task->value("id", "?") + "  (" + state + ", framework " +
           task->value("framework_id", "?") + ")";
  }
  return out;
}

}  // namespace

bool isTerminalStateName(const std::string& state) {
  static const char* kTerminal[] = {
      "TASK_FINISHED", "TASK_FAILED",  "TASK_KILLED", "TASK_ERROR",
      "TASK_LOST",     "TASK_DROPPED", "TASK_GONE",   "TASK_GONE_BY_OPERATOR"};
  for (const char* t : kTerminal) {
    if (state == t) return true;
  }
  return false;
}

Result<nlohmann::json> findTask(const nlohmann::json& tasksBody, const std::string& idOrName,
                                bool liveOnly) {
  std::vector<const nlohmann::json*> byId, byName;
  if (tasksBody.is_object() && tasksBody.contains("tasks") && tasksBody["tasks"].is_array()) {
    for (const auto& task : tasksBody["tasks"]) {
      if (!task.is_object()) continue;
      if (liveOnly && isTerminalStateName(task.value("state", ""))) continue;
      if (task.value("id", "") == idOrName) byId.push_back(&task);
      if (task.value("name", "") == idOrName) byName.push_back(&task);
    }
  }
  if (byId.size() == 1) return *byId.front();
  if (byId.size() > 1) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "several frameworks have a task '" + idOrName + "':" + describeMatches(byId));
  }
  if (byName.size() == 1) return *byName.front();
  if (byName.size() > 1) {
    return makeError(ErrorCode::kFailedPrecondition,
                     std::to_string(byName.size()) + " tasks are named '" + idOrName +
                         "'; give one of their IDs:" + describeMatches(byName));
  }
  return makeError(ErrorCode::kNotFound,
                   "no task has the ID or name '" + idOrName + "' (`agora tasks` lists them)");
}

int logsCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("follow,f", po::bool_switch(), "keep printing output until the task ends")(
      "stderr", po::bool_switch(), "print the task's stderr instead of its stdout")(
      "task", po::value<std::string>(), "task ID or name");
  po::positional_options_description positional;
  positional.add("task", 1);
  auto parsed = parseArgs(
      "Usage: agora logs [-f] [--stderr] TASK_ID|TASK_NAME\n\n"
      "Prints a task's stdout (or stderr) from its sandbox; with -f, follows it until the\n"
      "task ends. A name works when exactly one task has it; otherwise the matching IDs\n"
      "are listed.",
      args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  if (!parsed->vm.count("task")) {
    return fail(Error{ErrorCode::kInvalidArgument, "logs needs a TASK_ID or name (see --help)"});
  }
  std::string wanted = parsed->vm["task"].as<std::string>();
  bool follow = parsed->vm["follow"].as<bool>();
  bool useStderr = parsed->vm["stderr"].as<bool>();

  MasterClient master(global.master);
  auto tasks = master.getJson("/api/v1/tasks");
  if (!tasks) return fail(tasks.error());
  auto task = findTask(*tasks, wanted);
  if (!task) return fail(task.error());
  std::string taskId = task->value("id", "");
  std::string sandbox = task->value("sandbox", "");
  std::string agentUrl = task->value("agent_url", "");
  // A task still staging has no sandbox yet: with -f, wait for one.
  while (follow && (sandbox.empty() || agentUrl.empty()) &&
         !isTerminalStateName(task->value("state", ""))) {
    std::this_thread::sleep_for(kStatePollInterval);
    task = refresh(master, *task);
    if (!task) return fail(task.error());
    sandbox = task->value("sandbox", "");
    agentUrl = task->value("agent_url", "");
  }
  if (sandbox.empty() || agentUrl.empty()) {
    return fail(Error{ErrorCode::kNotFound, "task '" + taskId + "' has no sandbox (state " +
                                                task->value("state", "?") + ")"});
  }
  SandboxFile file(agentUrl, sandbox + (useStderr ? "/stderr" : "/stdout"));

  auto lastStateCheck = std::chrono::steady_clock::now();
  bool terminal = isTerminalStateName(task->value("state", ""));
  int failuresInARow = 0;
  while (true) {
    // Bytes unchanged, written as each chunk arrives (however long the log).
    auto data = file.readAvailable([](const std::string& d) { writeAll(1, d); });
    if (!follow) {
      if (!data) return fail(data.error());
      return 0;
    }
    if (!data && data.error().code != ErrorCode::kNotFound) {
      // Following: the agent may be back soon; say so, keep trying.
      if (++failuresInARow == kWarnAfterFailures) {
        std::cerr << "agora: cannot read " << file.path() << " from the agent at "
                  << file.agentBase() << ": " << data.error().message << "; still trying"
                  << std::endl;
      }
    } else {
      if (failuresInARow >= kWarnAfterFailures) {
        std::cerr << "agora: reading the task's output again" << std::endl;
      }
      failuresInARow = 0;
    }
    bool drained = data || data.error().code == ErrorCode::kNotFound;
    if (terminal && drained) return 0;  // drained after the task ended
    if (terminal && failuresInARow >= kGiveUpAfterFailures) {
      return fail(data.error().withContext("output cut after " + std::to_string(file.offset()) +
                                           " bytes; the full output is " + file.path() +
                                           " on the agent at " + file.agentBase()));
    }
    std::this_thread::sleep_for(kPollInterval);
    if (std::chrono::steady_clock::now() - lastStateCheck >= kStatePollInterval) {
      lastStateCheck = std::chrono::steady_clock::now();
      auto latest = refresh(master, *task);
      if (!latest) return fail(latest.error());
      terminal = isTerminalStateName(latest->value("state", ""));
    }
  }
}

}  // namespace agora::cli
