#pragma once
// `agora secret`: named secrets kept by a framework for its tasks (set,
// list, delete); values go in from a file or stdin and never come back out.

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int secretCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
