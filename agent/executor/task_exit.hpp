#pragma once
// The executor's record of how its task ended (schema::TaskExit in
// WORK_DIR/containers/<containerId>/exit.ckpt, a checksummed file): written
// before the terminal update is first sent, so an agent that was down while
// the task ended, and finds the executor gone too, reports the same update
// (same uuid, so a copy the executor already delivered is dropped).

#include <optional>
#include <string>

#include "common/model.hpp"
#include "common/result.hpp"

namespace agora::agent {

Status writeTaskExit(const std::string& path, const TaskStatus& terminal);
// nullopt when the file does not exist; an error naming the path when it is corrupt.
Result<std::optional<TaskStatus>> readTaskExit(const std::string& path);

}  // namespace agora::agent
