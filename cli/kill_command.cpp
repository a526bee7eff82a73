#include "cli/kill_command.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/logs_command.hpp"
#include "cli/master_client.hpp"
#include "cli/operator_client.hpp"
#include "common/duration.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

constexpr const char* kUsage =
    "Usage: agora kill [--framework FRAMEWORK_ID] [--no-wait] [--timeout DURATION] TASK\n\n"
    "Kills a running task of any framework: its agent stops it as the framework's own kill\n"
    "would (SIGTERM, then SIGKILL after the task's grace period) and the framework sees\n"
    "TASK_KILLED. Then waits until the task has ended and prints its final state.\n"
    "TASK is a task ID, or the name of exactly one running task (`agora tasks` lists them).";
constexpr auto kPollInterval = std::chrono::milliseconds(200);

// Who asked, for the master's log: "agora kill by alice on host1".
std::string reason() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const char* user = getenv("USER");
  return std::string("agora kill by ") + (user != nullptr ? user : "?") + " on " + host;
}

// Polls the master until the task is terminal; prints its final state.
int waitForEnd(const KillRequest& request, const std::string& frameworkId,
               const GlobalOptions& global) {
  MasterClient master(global.master);
  auto deadline = std::chrono::steady_clock::now() + request.timeout;
  std::string state = "?";
  while (true) {
    auto body = master.getJson("/api/v1/tasks?framework_id=" + http::urlEncode(frameworkId));
    if (!body) return fail(body.error());
    for (const auto& task : body->value("tasks", nlohmann::json::array())) {
      if (!task.is_object() || task.value("id", "") != request.taskId) continue;
      state = task.value("state", "?");
      if (isTerminalStateName(state)) {
        std::cout << "task " << request.taskId << ": " << state;
        if (task.contains("exit_code") && task["exit_code"].is_number_integer()) {
          std::cout << " (exit code " << task["exit_code"].get<int>() << ")";
        }
        std::cout << std::endl;
        return 0;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::cerr << "agora: task " << request.taskId << " has not ended within "
            << formatDuration(request.timeout) << " (state " << state
            << "); the kill was sent to its agent" << std::endl;
  return kExitError;
}

}  // namespace

std::string killPath(const std::string& taskId) {
  return "/api/v1/tasks/" + http::urlEncode(taskId) + "/kill";
}

Result<KillRequest> parseKillArgs(const std::vector<std::string>& args, GlobalOptions& global) {
  KillRequest out;
  po::options_description options("Options");
  options.add_options()("framework", po::value<std::string>(&out.frameworkId),
                        "the task's framework, when several frameworks have a task of that ID")(
      "no-wait", po::bool_switch(), "return once the kill is sent")(
      "timeout", po::value<DurationFlag>()->default_value(DurationFlag{out.timeout}, "30s"),
      "how long to wait for the task to end (e.g. 30s, 2m)")("task",
                                                             po::value<std::string>(&out.taskId));
  po::positional_options_description positional;
  positional.add("task", 1);
  auto parsed = parseArgs(kUsage, args, options, global, &positional);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) {
    out.help = true;
    return out;
  }
  if (out.taskId.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "kill needs a TASK_ID (see --help)");
  }
  out.wait = !parsed->vm["no-wait"].as<bool>();
  out.timeout = parsed->vm["timeout"].as<DurationFlag>().value;
  return out;
}

int killCommand(const std::vector<std::string>& args, GlobalOptions global) {
  auto request = parseKillArgs(args, global);
  if (!request) return fail(request.error());
  if (request->help) return 0;
  nlohmann::json body = {{"reason", reason()}};
  if (!request->frameworkId.empty()) body["framework_id"] = request->frameworkId;
  auto sent = sendToMaster(global.master, "POST", killPath(request->taskId), body.dump());
  if (!sent && sent.error().code == ErrorCode::kNotFound && request->frameworkId.empty()) {
    // Not an ID: the name of exactly one running task will do.
    auto tasks = MasterClient(global.master).getJson("/api/v1/tasks");
    if (!tasks) return fail(tasks.error());
    auto named = findTask(*tasks, request->taskId, /*liveOnly=*/true);
    if (!named)
      return fail(named.error().code == ErrorCode::kNotFound ? sent.error() : named.error());
    request->taskId = named->value("id", "");
    body["framework_id"] = named->value("framework_id", "");
    sent = sendToMaster(global.master, "POST", killPath(request->taskId), body.dump());
  }
  if (!sent) return fail(sent.error());
  auto answer = nlohmann::json::parse(*sent, nullptr, false);
  std::string frameworkId = answer.is_object() ? answer.value("framework_id", "") : "";
  std::cerr << "killing task " << request->taskId << " of framework " << frameworkId << " on agent "
            << (answer.is_object() ? answer.value("agent_id", "") : "") << std::endl;
  if (!request->wait) return 0;
  return waitForEnd(*request, frameworkId, global);
}

}  // namespace agora::cli
