#pragma once
// `agora run [options] -- CMD [ARGS...]`: runs one task as its own framework,
// streams its output and exits with its exit code (see run_options.cpp usage).

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int runCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
