#include "cli/secret_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/framework_client.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

const char* kUsage =
    "Usage: agora secret set NAME [--from-file FILE] | list | delete NAME\n"
    "                    [--framework NAME | --api HOST:PORT] [-o json]\n"
    "\n"
    "  set NAME      store a secret: the value is read from --from-file, else from\n"
    "                stdin (typed at a terminal: one line, not echoed)\n"
    "  list          names, sizes, versions and times; never values\n"
    "  delete NAME   forget a secret (running tasks keep what they were given)\n"
    "\n"
    "Secrets belong to a framework (agora-service unless --framework), found through\n"
    "the master unless --api says where. An app names one in its spec:\n"
    "  secrets: {db-pass: {env: DB_PASSWORD}, tls-key: {file: tls/key.pem}}\n"
    "env secrets are variables of the command; file secrets are files under\n"
    "$AGORA_SECRETS in the sandbox (mode 0400), which the files API does not serve.";

// The value typed at a terminal: echo off (restored however it ends), one line.
Result<std::string> readTerminal(const std::string& name) {
  std::cerr << "value of " << name << ": " << std::flush;
  struct termios before;
  bool silenced = tcgetattr(STDIN_FILENO, &before) == 0;
  if (silenced) {
    struct termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    silenced = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
  }
  std::string line;
  std::getline(std::cin, line);
  if (silenced) tcsetattr(STDIN_FILENO, TCSANOW, &before);
  std::cerr << std::endl;
  if (line.empty()) return makeError(ErrorCode::kInvalidArgument, "an empty value");
  return line;
}

Result<std::string> readValue(const po::variables_map& vm, const std::string& name) {
  std::stringstream value;
  if (vm.count("from-file")) {
    std::string file = vm["from-file"].as<std::string>();
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError(ErrorCode::kNotFound, "cannot read " + file);
    value << in.rdbuf();
    return value.str();
  }
  if (isatty(STDIN_FILENO)) return readTerminal(name);
  value << std::cin.rdbuf();
  return value.str();
}

}  // namespace

int secretCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("subcommand", po::value<std::string>(), "set, list or delete")(
      "name", po::value<std::string>(), "the secret")("from-file", po::value<std::string>(),
                                                      "set: read the value from this file")(
      "framework", po::value<std::string>()->default_value("agora-service"),
      "the framework that keeps the secrets")("api", po::value<std::string>(),
                                              "the framework's API, HOST:PORT")(
      "output,o", po::value<std::string>()->default_value("table"), "table or json");
  po::positional_options_description positional;
  positional.add("subcommand", 1).add("name", 1);
  auto parsed = parseArgs(kUsage, args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  const po::variables_map& vm = parsed->vm;
  if (!vm.count("subcommand")) return fail(Error{ErrorCode::kInvalidArgument, "which subcommand?"});
  std::string sub = vm["subcommand"].as<std::string>();
  if (sub != "set" && sub != "list" && sub != "delete") {
    return fail(Error{ErrorCode::kInvalidArgument, "unknown subcommand '" + sub + "'"});
  }
  bool json = vm["output"].as<std::string>() == "json";
  auto client = FrameworkClient::connect(vm.count("api") ? vm["api"].as<std::string>() : "", global,
                                         vm["framework"].as<std::string>());
  if (!client) return fail(client.error());
  if (sub == "list") {
    auto listed = client->call("GET", "/api/v1/secrets");
    if (!listed) return fail(listed.error());
    if (json) return printJson(listed->dump()), 0;
    Table table({"NAME", "BYTES", "VERSION", "UPDATED"});
    for (const auto& s : (*listed)["secrets"]) {
      table.addRow({s.value("name", ""), std::to_string(s.value("bytes", 0)),
                    std::to_string(s.value("version", 0)), formatUtc(s.value("updated", 0.0))});
    }
    std::cout << table.render() << std::flush;
    return 0;
  }
  if (!vm.count("name")) return fail(Error{ErrorCode::kInvalidArgument, sub + ": which secret?"});
  std::string name = vm["name"].as<std::string>();
  std::string path = "/api/v1/secrets/" + http::urlEncode(name);
  if (sub == "delete") {
    auto deleted = client->call("DELETE", path);
    if (!deleted) return fail(deleted.error());
    if (json) return printJson(deleted->dump()), 0;
    std::cout << name << ": deleted" << std::endl;
    return 0;
  }
  auto value = readValue(vm, name);
  if (!value) return fail(value.error());
  auto stored = client->call("PUT", path, *value);
  if (!stored) return fail(stored.error());
  if (json) return printJson(stored->dump()), 0;
  std::cout << name << ": stored (" << value->size() << " bytes)" << std::endl;
  return 0;
}

}  // namespace agora::cli
