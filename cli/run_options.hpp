#pragma once
// `agora run` arguments and the task they describe (pure; no I/O besides --help).

#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::cli {

struct RunOptions {
  double cpus = 0.1;
  double memMb = 32;
  std::string name = "agora-run";
  std::string role;        // empty: the master's default role
  std::vector<AttributeConstraint> constraints;  // --constraint: offer constraints
  double timeoutSec = 30;  // for a fitting offer, not for the task
  KeyValues env;           // --env K=V
  // --network, --hostname, --image, --volume, --tmpfs, --read-only, --cap-add, --cap-drop
  ContainerInfo container;
  std::vector<std::string> command;
  bool help = false;  // usage printed
};

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
