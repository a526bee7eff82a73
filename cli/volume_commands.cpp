#include "cli/volume_commands.hpp"

#include <iostream>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/output.hpp"
#include "common/resources.hpp"
#include "common/volume.hpp"

namespace agora::cli {

namespace {

constexpr const char* kCreateUsage =
    "Usage: agora volume create AGENT_ID RESOURCES --id ID --path PATH [--ro] [--principal P]\n\n"
    "Makes a persistent volume of reserved disk of an agent (RESOURCES, e.g. 'disk(eng):100'\n"
    "or 'disk(eng,dynamic):100'). Disk of the role reserved otherwise serves too; without\n"
    "enough of it, free unreserved disk is reserved for the role (within its quota). A task\n"
    "that names the volume in its resources sees it at PATH (relative: in its sandbox); its\n"
    "data outlives the task until `volume destroy`.";
constexpr const char* kDestroyUsage =
    "Usage: agora volume destroy AGENT_ID --id ID\n\n"
    "Deletes a persistent volume's data on the agent and returns its disk to the plain\n"
    "reservation. Refused while a task uses the volume.";
constexpr const char* kListUsage =
    "Usage: agora volume list [-o json]\n\nLists the persistent volumes of every agent.";

tl::unexpected<Error> usage(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

int listVolumes(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("output,o", po::value<std::string>()->default_value("table"),
                        "output format: table or json");
  auto parsed = parseArgs(kListUsage, args, options, global);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  std::string format = parsed->vm["output"].as<std::string>();
  if (format != "table" && format != "json") {
    return fail(Error{ErrorCode::kInvalidArgument, "-o must be 'table' or 'json', not '" + format + "'"});
  }
  auto body = MasterClient(global.master).getJson("/api/v1/agents");
  if (!body) return fail(body.error());
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& agent : body->value("agents", nlohmann::json::array())) {
      for (auto volume : agent.value("volumes", nlohmann::json::array())) {
        volume["agent_id"] = agent.value("id", "");
        out.push_back(std::move(volume));
      }
    }
    printJson(nlohmann::json{{"volumes", out}}.dump());
    return 0;
  }
  std::cout << volumesTable(*body).render() << std::flush;
  return 0;
}

}  // namespace

Result<RoleChange> parseVolumeArgs(const std::vector<std::string>& args, GlobalOptions& global,
                                   bool create) {
  const char* command = create ? "volume create" : "volume destroy";
  po::options_description options("Options");
  options.add_options()("id", po::value<std::string>(), "the volume's persistence id")(
      "agent", po::value<std::string>(), "(positional) the agent's ID");
  if (create) {
    options.add_options()("path", po::value<std::string>(), "where tasks see it")(
        "ro", "read-only for tasks")("principal", po::value<std::string>(), "who creates it")(
        "resources", po::value<std::string>(), "(positional) e.g. 'disk(eng):100'");
  }
  po::positional_options_description positional;
  positional.add("agent", 1);
  if (create) positional.add("resources", 1);
  auto parsed = parseArgs(create ? kCreateUsage : kDestroyUsage, args, options, global, &positional);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) return RoleChange{"", "", "", "", true};
  auto value = [&](const char* name) {
    return parsed->vm.count(name) ? parsed->vm[name].as<std::string>() : std::string();
  };
  std::string agent = value("agent"), id = value("id");
  if (agent.empty()) return usage(std::string(command) + ": give an AGENT_ID (see --help)");
  if (auto valid = validatePersistenceId(id); !valid) return usage("--id: " + valid.error().message);
  nlohmann::json body = {{"agent_id", agent}, {"id", id}};
  if (!create) {
    return RoleChange{"POST", "/api/v1/destroy-volumes", body.dump(),
                      "destroyed volume " + id + " of agent " + agent, false};
  }
  auto resources = Resources::parse(value("resources"));
  if (!resources) return usage("RESOURCES: " + resources.error().message);
  std::string path = value("path");
  if (auto valid = validateContainerPath(path); !valid) return usage("--path: " + valid.error().message);
  auto volume = resources->toVolume(DiskPersistence{id, value("principal"), path, parsed->vm.count("ro") > 0});
  if (!volume) return usage("RESOURCES: " + volume.error().message);
  body["resources"] = value("resources");
  body["container_path"] = path;
  body["mode"] = parsed->vm.count("ro") ? "ro" : "rw";
  if (parsed->vm.count("principal")) body["principal"] = value("principal");
  return RoleChange{"POST", "/api/v1/create-volumes", body.dump(),
                    "created volume " + id + " (" + volume->toString() + ") on agent " + agent,
                    false};
}

Table volumesTable(const nlohmann::json& agents) {
  Table table({"AGENT", "ID", "ROLE", "DISK", "PATH", "MODE"});
  for (const auto& agent : agents.value("agents", nlohmann::json::array())) {
    for (const auto& volume : agent.value("volumes", nlohmann::json::array())) {
      table.addRow({agent.value("id", ""), volume.value("id", ""), volume.value("reservation", ""),
                    formatNumber(volume.value("disk", 0.0)), volume.value("container_path", ""),
                    volume.value("mode", "")});
    }
  }
  return table;
}

int volumeCommand(const std::vector<std::string>& args, GlobalOptions global) {
  std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "list") return listVolumes(rest, global);
  if (sub == "create" || sub == "destroy") {
    auto change = parseVolumeArgs(rest, global, sub == "create");
    if (!change) return fail(change.error());
    return change->help ? 0 : sendRoleChange(*change, global);
  }
  if (sub == "--help" || sub == "-h") {
    std::cout << kCreateUsage << "\n\n" << kDestroyUsage << "\n\n" << kListUsage << "\n";
    return 0;
  }
  return fail(Error{ErrorCode::kInvalidArgument,
                    "volume: give create, destroy or list (agora volume --help)"});
}

}  // namespace agora::cli
