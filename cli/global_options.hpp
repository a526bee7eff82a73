#pragma once
// Options every `agora` subcommand shares, and how they are resolved:
// flag, then environment, then default.

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "frameworks/sdk/master_probe.hpp"

namespace agora::cli {

// What `agora --version` prints.
inline constexpr const char* kVersion = "0.1.0";

inline constexpr const char* kDefaultMaster = "127.0.0.1:5050";
inline constexpr const char* kDefaultSchedulerEndpoint = "tcp://127.0.0.1:5055";

// Exit codes of the tool itself (`agora run` otherwise exits with the task's code).
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
// `agora run` could not run the task at all (no master, no fitting offer);
// like `docker run`'s 125, outside the range a task's own exit code uses.
inline constexpr int kExitRunFailed = 125;

struct GlobalOptions {
  // HTTP API: HOST:PORT, a comma-separated list of them, or zk://HOST:PORT/PATH.
  std::string master = kDefaultMaster;
  std::string schedulerEndpoint = kDefaultSchedulerEndpoint;  // tcp://HOST:PORT
  // Set by flag or environment; otherwise `agora run` asks the master (GET
  // /api/v1/master) and uses the default only when it cannot tell.
  bool schedulerEndpointGiven = false;
  bool masterGiven = false;  // by flag or environment
  // The client configuration (common/client_config.hpp): --config, else
  // AGORA_CONFIG; applyClientConfig() then looks in the usual places.
  std::string configPath;
  // Filled by applyClientConfig(): flag or environment (AGORA_TOKEN), then
  // the configuration.
  std::string token;
  std::string curveKey, masterPublicKey;  // a scheduler's CurveZMQ link
};

struct CommandLine {
  GlobalOptions global;
  std::string command;            // empty: none given
  std::vector<std::string> args;  // after the subcommand
  bool help = false;              // --help before any subcommand, or `help` alone
  bool version = false;           // --version
};

using Environment = std::map<std::string, std::string>;
Environment processEnvironment();

// Parses `agora [--master A] [--scheduler-endpoint E] [--help] [--version] COMMAND ARGS...`.
// `agora help COMMAND ARGS...` becomes `agora COMMAND --help`.
// AGORA_MASTER / AGORA_SCHEDULER_ENDPOINT apply when the flags are absent.
// Subcommands may override both again with their own flags.
Result<CommandLine> parseCommandLine(const std::vector<std::string>& argv, const Environment& env);

// The client configuration: the file named by --config or AGORA_CONFIG
// (which must exist), else ~/.agora/config, else the one `agora dev` keeps
// for its default work dir (~/.agora/dev/security/config); none is fine.
// Fills what flags and environment left unset (master, token, CurveZMQ keys)
// and sets the process's HTTP credentials (token, TLS files).
Status applyClientConfig(GlobalOptions& global, const Environment& env);

// Where schedulers subscribe: with masters found through ZooKeeper
// (--master zk://...) and no --scheduler-endpoint of its own, the zk:// URL
// (the SDK follows the leader); else the scheduler endpoint as tcp://.
std::string schedulerAddress(const GlobalOptions& global);
// "HOST:PORT" -> "tcp://HOST:PORT"; endpoints with a scheme are kept.
std::string toZmqEndpoint(const std::string& address);
// "HOST:PORT" or "http://HOST:PORT" -> "http://HOST:PORT" (no trailing slash).
using sdk::toHttpBase;

// Splits `args` at the first "--": before (options) and after (a command).
std::pair<std::vector<std::string>, std::vector<std::string>> splitAtDoubleDash(
    const std::vector<std::string>& args);

}  // namespace agora::cli
