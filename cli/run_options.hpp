#pragma once
// `agora run` arguments and the task they describe (pure; no I/O besides --help).

#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/model.hpp"
#include "common/result.hpp"
#include "frameworks/kit/offer_match.hpp"

namespace agora::cli {

struct RunOptions {
  double cpus = 0.1;
  double memMb = 32;
  std::string name = "agora-run";
  std::string role;  // empty: the master's default role
  std::string user;  // --user: the task's; empty: the framework's (this user)
  std::vector<AttributeConstraint> constraints;  // --constraint: offer constraints
  Duration timeout = std::chrono::seconds(30);   // for a fitting offer, not for the task
  KeyValues env;                                 // --env K=V
  // --network, --hostname, --image, --volume, --tmpfs, --read-only, --cap-add, --cap-drop
  ContainerInfo container;
  std::vector<std::string> command;
  double diskMb = 0;                   // --disk: 0 asks for none
  std::vector<std::string> portNames;  // --port NAME: one port each, $PORT_NAME in the task
  std::string volumeId;                // --volume-id: a persistent volume to mount
  std::string volumePath;              // its PATH part, checked against the volume's
  bool detach = false;                 // --detach: leave the task running, exit once it runs
  // --curve-key / --master-public-key: a CurveZMQ link to the master.
  std::string curveKey, masterPublicKey;
  bool help = false;  // usage printed
};

// The environment variable a --port NAME reaches the task in.
using kit::portVariable;
// How long the master keeps a --detach task's framework (and the task) after
// the CLI exits; `agora kill` ends the task before.
constexpr double kDetachFailoverTimeoutSec = 365 * 24 * 3600.0;

// Parses `agora run [flags] -- CMD ARGS...`; also applies --master and
// --scheduler-endpoint to `global`.
Result<RunOptions> parseRunOptions(const std::vector<std::string>& args, GlobalOptions& global);

// --volume SOURCE:CONTAINER[:ro|:rw]: an absolute SOURCE is a host path,
// a relative one a path in the task's sandbox.
Result<Volume> parseVolumeFlag(const std::string& value);
// --tmpfs CONTAINER[:SIZE_MB] (default kDefaultTmpfsMb).
constexpr uint64_t kDefaultTmpfsMb = 64;
Result<Volume> parseTmpfsFlag(const std::string& value);

// One CMD string runs through /bin/sh -c; several words run as argv. With
// --image the words replace the image's Cmd (none: its Entrypoint and Cmd run).
Result<TaskInfo> buildTask(const RunOptions& options, const std::string& taskId);

}  // namespace agora::cli
