#pragma once
// `agora dev [--work-dir DIR] [--clean]`: a one-machine cluster (agora-master and
// agora-agent from this binary's directory) on the default ports, until
// Ctrl-C. Exits non-zero if a daemon fails to start or dies.

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int devCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
