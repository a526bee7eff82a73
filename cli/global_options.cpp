#include "cli/global_options.hpp"

#include "common/client_config.hpp"
#include "common/http_client.hpp"

extern char** environ;

namespace agora::cli {

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

Result<CommandLine> parseCommandLine(const std::vector<std::string>& argv, const Environment& env) {
  CommandLine out;
  if (auto it = env.find("AGORA_MASTER"); it != env.end() && !it->second.empty()) {
    out.global.master = it->second;
    out.global.masterGiven = true;
  }
  if (auto it = env.find("AGORA_CONFIG"); it != env.end()) out.global.configPath = it->second;
  if (auto it = env.find("AGORA_TOKEN"); it != env.end()) out.global.token = it->second;
  if (auto it = env.find("AGORA_SCHEDULER_ENDPOINT"); it != env.end() && !it->second.empty()) {
    out.global.schedulerEndpoint = it->second;
    out.global.schedulerEndpointGiven = true;
  }
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    auto takeValue = [&](const std::string& flag, std::string& into) -> Status {
      if (arg.rfind(flag + "=", 0) == 0) {
        into = arg.substr(flag.size() + 1);
      } else if (i + 1 < argv.size()) {
        into = argv[++i];
      } else {
        return makeError(ErrorCode::kInvalidArgument, flag + " needs a value");
      }
      return {};
    };
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--version" || arg == "-V" || arg == "version") {
      out.version = true;
      return out;
    } else if (arg == "help") {
      // `agora help CMD` is `agora CMD --help`; `agora help` alone the overview.
      if (i + 1 < argv.size()) {
        out.command = argv[i + 1];
        out.args = {"--help"};
      } else {
        out.help = true;
      }
      return out;
    } else if (arg == "--master" || arg.rfind("--master=", 0) == 0) {
      if (auto st = takeValue("--master", out.global.master); !st) return makeError(st.error());
      out.global.masterGiven = true;
    } else if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
      if (auto st = takeValue("--config", out.global.configPath); !st) return makeError(st.error());
    } else if (arg == "--scheduler-endpoint" || arg.rfind("--scheduler-endpoint=", 0) == 0) {
      if (auto st = takeValue("--scheduler-endpoint", out.global.schedulerEndpoint); !st) {
        return makeError(st.error());
      }
      out.global.schedulerEndpointGiven = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return makeError(ErrorCode::kInvalidArgument, "unknown option '" + arg + "'");
    } else {
      break;
    }
  }
  if (i < argv.size()) {
    out.command = argv[i];
    out.args.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
  }
  return out;
}

Status applyClientConfig(GlobalOptions& global, const Environment& env) {
  auto home = env.find("HOME");
  auto found = findClientConfig(global.configPath, "", home == env.end() ? "" : home->second);
  if (!found) return makeError(found.error());
  ClientConfig config = found->value_or(ClientConfig{});
  if (!global.masterGiven && !config.master.empty()) global.master = config.master;
  if (global.token.empty()) global.token = config.token;
  global.curveKey = config.curveKey;
  global.masterPublicKey = config.masterPublicKey;
  http::setDefaultCredentials(
      {http::ClientTls{config.caFile, config.clientCertificate, config.clientKey}, global.token});
  return {};
}

std::string schedulerAddress(const GlobalOptions& global) {
  if (global.master.rfind("zk://", 0) == 0 && global.schedulerEndpoint == kDefaultSchedulerEndpoint) {
    return global.master;
  }
  return toZmqEndpoint(global.schedulerEndpoint);
}

std::string toZmqEndpoint(const std::string& address) {
  return address.find("://") == std::string::npos ? "tcp://" + address : address;
}

std::pair<std::vector<std::string>, std::vector<std::string>> splitAtDoubleDash(
    const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      return {std::vector<std::string>(args.begin(), args.begin() + static_cast<long>(i)),
              std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end())};
    }
  }
  return {args, {}};
}

}  // namespace agora::cli
