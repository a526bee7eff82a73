#pragma once
// `agora teardown FRAMEWORK_ID`: removes a framework for good through the
// master (POST /api/v1/teardown): its scheduler is told, its tasks are
// killed, its ID is never reused. The master's ACLs (teardown_frameworks)
// decide whose frameworks the caller may tear down.

#include <string>
#include <vector>

#include "cli/global_options.hpp"

namespace agora::cli {

int teardownCommand(const std::vector<std::string>& args, GlobalOptions global);

}  // namespace agora::cli
