#pragma once
// `agora service`: the service framework's apps from the terminal (apply,
// list, status, scale, restart, rollback, promote, delete, history, why,
// deployments).

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int serviceCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
