#include "cli/teardown_command.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/arguments.hpp"
#include "cli/operator_client.hpp"

namespace agora::cli {

namespace {

constexpr const char* kUsage =
    "Usage: agora teardown FRAMEWORK_ID\n\n"
    "Removes a framework for good: its scheduler is told, every task it has is killed, and\n"
    "its ID is never used again (`agora frameworks` lists them). Needs an identity the\n"
    "master's ACLs let tear down that framework's principal (teardown_frameworks).";

}  // namespace

int teardownCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("framework", po::value<std::string>(), "(positional) the framework ID");
  po::positional_options_description positional;
  positional.add("framework", 1);
  auto parsed = parseArgs(kUsage, args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  if (!parsed->vm.count("framework")) {
    return fail(Error{ErrorCode::kInvalidArgument, "teardown: give a FRAMEWORK_ID"});
  }
  std::string id = parsed->vm["framework"].as<std::string>();
  auto done = sendToMaster(global.master, "POST", "/api/v1/teardown",
                           nlohmann::json{{"framework_id", id}}.dump());
  if (!done) return fail(done.error());
  std::cout << "framework " << id << " torn down" << std::endl;
  return 0;
}

}  // namespace agora::cli
