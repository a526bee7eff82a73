#pragma once
// The parts of an OCI / Docker image configuration a container needs, and the
// Docker rules that combine them with a task's command.

#include <string>
#include <string_view>
#include <vector>

#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent::images {

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string workingDir;
  std::string user;
  std::string os;
  std::string architecture;
  std::vector<std::string> diffIds;  // rootfs.diff_ids, bottom to top
};

// Parses the config blob. Missing fields are empty; fields of the wrong JSON
// type are kProtocol errors naming the field.
Result<ImageConfig> parseImageConfig(std::string_view json);

// What to exec in the container.
struct ProcessSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "K=V", image first, task values override
  std::string workingDir;        // never empty ("/" by default)
  std::string user;              // empty: root
};

// Docker's rules, with a Mesos CommandInfo:
// - shell command (shell=true, value set): ["/bin/sh", "-c", value]; the image's
//   Entrypoint and Cmd are both ignored;
// - shell=false with a value: the value replaces the Entrypoint, `arguments`
//   (argv[1..] as in Mesos, argv[0] dropped) replace the Cmd;
// - shell=false without a value: Entrypoint + arguments when arguments are
//   given, else Entrypoint + Cmd.
// The task's environment and user override the image's. kInvalidArgument when
// nothing is left to run.
Result<ProcessSpec> mergeCommand(const ImageConfig& image, const CommandInfo& command);

}  // namespace agora::agent::images
