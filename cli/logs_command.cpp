#include "cli/logs_command.hpp"

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/sandbox_file.hpp"

namespace agora::cli {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kStatePollInterval = std::chrono::seconds(1);

bool isTerminalStateName(const std::string& state) {
  static const char* kTerminal[] = {
      "TASK_FINISHED", "TASK_FAILED",  "TASK_KILLED", "TASK_ERROR",
      "TASK_LOST",     "TASK_DROPPED", "TASK_GONE",   "TASK_GONE_BY_OPERATOR"};
  for (const char* t : kTerminal) {
    if (state == t) return true;
  }
  return false;
}

void emit(std::ostream& out, const std::string& data) {
  if (data.empty()) return;
  out << data << std::flush;
}

}  // namespace

int logsCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("follow,f", po::bool_switch(), "keep printing output until the task ends")(
      "stderr", po::bool_switch(), "print the task's stderr instead of its stdout")(
      "task", po::value<std::string>(), "task ID");
  po::positional_options_description positional;
  positional.add("task", 1);
  auto parsed =
      parseArgs("Usage: agora logs [-f] [--stderr] TASK_ID", args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  if (!parsed->vm.count("task")) {
    return fail(Error{ErrorCode::kInvalidArgument, "logs needs a TASK_ID (see --help)"});
  }
  std::string taskId = parsed->vm["task"].as<std::string>();
  bool follow = parsed->vm["follow"].as<bool>();
  bool useStderr = parsed->vm["stderr"].as<bool>();

  MasterClient master(global.master);
  auto task = master.task(taskId);
  if (!task) return fail(task.error());
  std::string sandbox = task->value("sandbox", "");
  std::string agentUrl = task->value("agent_url", "");
  // A task still staging has no sandbox yet: with -f, wait for one.
  while (follow && (sandbox.empty() || agentUrl.empty()) &&
         !isTerminalStateName(task->value("state", ""))) {
    std::this_thread::sleep_for(kStatePollInterval);
    task = master.task(taskId);
    if (!task) return fail(task.error());
    sandbox = task->value("sandbox", "");
    agentUrl = task->value("agent_url", "");
  }
  if (sandbox.empty() || agentUrl.empty()) {
    return fail(Error{ErrorCode::kNotFound, "task '" + taskId + "' has no sandbox (state " +
                                                task->value("state", "?") + ")"});
  }
  SandboxFile file(agentUrl, sandbox + (useStderr ? "/stderr" : "/stdout"));
  std::ostream& out = std::cout;

  auto lastStateCheck = std::chrono::steady_clock::now();
  bool terminal = isTerminalStateName(task->value("state", ""));
  while (true) {
    auto data = file.readAll();
    if (!data && data.error().code != ErrorCode::kNotFound) return fail(data.error());
    if (data) emit(out, *data);
    if (!follow) {
      if (!data) return fail(data.error());
      return 0;
    }
    if (terminal) return 0;  // drained after the task ended
    std::this_thread::sleep_for(kPollInterval);
    if (std::chrono::steady_clock::now() - lastStateCheck >= kStatePollInterval) {
      lastStateCheck = std::chrono::steady_clock::now();
      auto latest = master.task(taskId);
      if (!latest) return fail(latest.error());
      terminal = isTerminalStateName(latest->value("state", ""));
    }
  }
}

}  // namespace agora::cli
