// agora: the command-line tool. See kUsage and each subcommand's --help.
#include <glog/logging.h>

#include <iostream>

#include "cli/arguments.hpp"
#include "cli/dev_command.hpp"
#include "cli/events_command.hpp"
#include "cli/keygen_command.hpp"
#include "cli/kill_command.hpp"
#include "cli/list_commands.hpp"
#include "cli/logs_command.hpp"
#include "cli/reserve_commands.hpp"
#include "cli/role_commands.hpp"
#include "cli/run_command.hpp"
#include "cli/secret_command.hpp"
#include "cli/service_command.hpp"
#include "cli/task_command.hpp"
#include "cli/teardown_command.hpp"
#include "cli/volume_commands.hpp"

namespace {

const char* kUsage =
    "Usage: agora [--master HOST:PORT] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  dev [--work-dir DIR]            run a master and an agent on this machine until Ctrl-C\n"
    "  run [options] -- CMD [ARGS...]  run one task, stream its output, exit with its code\n"
    "  agents | frameworks | tasks     list the cluster's state (-o json for the raw JSON;\n"
    "                                  tasks --state S: only those in state S)\n"
    "  task TASK_ID                    one task: state, exit code, agent, sandbox, times,\n"
    "                                  history\n"
    "  logs [-f] [--stderr] TASK       print a task's stdout (or stderr); -f follows it;\n"
    "                                  TASK is an ID, or a name only one task has\n"
    "  kill TASK                       kill a task of any framework and wait for it to end;\n"
    "                                  TASK is an ID, or a name only one running task has\n"
    "  teardown FRAMEWORK_ID           remove a framework: its tasks are killed, its ID retired\n"
    "  events [-f] [--type T]          the cluster's events: recent ones, or -f to follow\n"
    "  keygen PREFIX                   a CurveZMQ key pair: PREFIX.key and PREFIX.pub\n"
    "  roles [-o json]                 roles: weight, quota, reserved, allocation, offers\n"
    "  quota set ROLE [--guarantee R] [--limit R] | quota rm ROLE\n"
    "                                  set or remove a role's quota (R: 'cpus:1;mem:512')\n"
    "  weight set ROLE W               set a role's weight\n"
    "  reserve | unreserve AGENT_ID R --role ROLE [--principal P]\n"
    "                                  reserve an agent's resources for a role, or undo it\n"
    "  volume create AGENT_ID R --id ID --path P [--ro] | volume destroy AGENT_ID --id ID\n"
    "  volume list [-o json]           persistent volumes on reserved disk (R: 'disk(eng):100')\n"
    "  service apply -f FILE | list | status ID | scale ID N | restart ID | rollback ID\n"
    "        | promote ID | delete ID | history ID | why ID | deployments\n"
    "                                  long-running apps on the service framework\n"
    "  secret set NAME [--from-file F] | list | delete NAME\n"
    "                                  secrets a framework gives its tasks, never shown\n"
    "  help COMMAND                    describe a command (same as agora COMMAND --help)\n"
    "\n"
    "Global options (also accepted after the command):\n"
    "  --master HOST:PORT              the master's HTTP API (env AGORA_MASTER;\n"
    "                                  default 127.0.0.1:5050)\n"
    "  --scheduler-endpoint ENDPOINT   where `agora run` subscribes (env\n"
    "                                  AGORA_SCHEDULER_ENDPOINT; default tcp://127.0.0.1:5055)\n"
    "  --version                       print the version\n"
    "\n"
    "`agora help COMMAND` describes each command. Durations take 600s, 10m, 1h30m, 500ms\n"
    "or bare seconds. -o json is indented on a terminal and one line when piped.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace agora::cli;
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 2;  // the SDK's INFO/WARNING lines are not for CLI users
  google::InitGoogleLogging(argv[0]);

  auto line = parseCommandLine(std::vector<std::string>(argv, argv + argc), processEnvironment());
  if (!line) return fail(line.error());
  if (line->version) {
    std::cout << "agora " << kVersion << std::endl;
    return 0;
  }
  if (line->help || line->command.empty()) {
    (line->help ? std::cout : std::cerr) << kUsage;
    return line->help ? 0 : kExitUsage;
  }
  const std::string& command = line->command;
  if (command != "keygen" && command != "dev") {  // dev makes its own
    if (agora::Status st = applyClientConfig(line->global, processEnvironment()); !st) {
      return fail(st.error());
    }
  }
  if (command == "dev") return devCommand(line->args, line->global);
  if (command == "run") return runCommand(line->args, line->global);
  if (command == "task") return taskCommand(line->args, line->global);
  if (command == "logs") return logsCommand(line->args, line->global);
  if (command == "kill") return killCommand(line->args, line->global);
  if (command == "teardown") return teardownCommand(line->args, line->global);
  if (command == "events") return eventsCommand(line->args, line->global);
  if (command == "keygen") return keygenCommand(line->args);
  if (command == "roles") return rolesCommand(line->args, line->global);
  if (command == "quota") return quotaCommand(line->args, line->global);
  if (command == "weight") return weightCommand(line->args, line->global);
  if (command == "reserve") return reserveCommand(line->args, line->global, true);
  if (command == "unreserve") return reserveCommand(line->args, line->global, false);
  if (command == "volume") return volumeCommand(line->args, line->global);
  if (command == "service") return serviceCommand(line->args, line->global);
  if (command == "secret") return secretCommand(line->args, line->global);
  if (command == "agents" || command == "frameworks" || command == "tasks") {
    return listCommand(command, line->args, line->global);
  }
  std::cerr << "agora: unknown command '" << command << "'\n\n" << kUsage;
  return kExitUsage;
}
