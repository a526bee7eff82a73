#include "agent/executor/task_exit.hpp"

#include "common/checkpoint_file.hpp"
#include "common/codec.hpp"
#include "schemas/checkpoint.capnp.h"

namespace agora::agent {

Status writeTaskExit(const std::string& path, const TaskStatus& terminal) {
  capnp::MallocMessageBuilder message;
  toCapnp(terminal, message.initRoot<schema::TaskExit>().initStatus());
  // Per boot, like the agent's container checkpoints (agent/checkpoints.hpp).
  return writeCheckpointFile(path, encodePacked(message), Durability::kProcessCrash);
}

Result<std::optional<TaskStatus>> readTaskExit(const std::string& path) {
  auto bytes = readCheckpointFile(path);
  if (!bytes) {
    if (bytes.error().code == ErrorCode::kNotFound) return std::optional<TaskStatus>();
    return makeError(bytes.error());
  }
  auto decoded = Decoded::parse(*bytes);
  if (!decoded) return makeError(decoded.error().withContext("checkpoint " + path));
  Result<TaskStatus> status = makeError(ErrorCode::kIo, "unread");
  Status read = catchDecode(
      [&] { status = fromCapnp(decoded->root<schema::TaskExit>().getStatus()); });
  if (!read) return makeError(read.error().withContext("checkpoint " + path));
  if (!status) return makeError(status.error().withContext("checkpoint " + path));
  if (!isTerminal(status->state)) {
    return makeError(ErrorCode::kIo, "checkpoint " + path + " holds a non-terminal state");
  }
  return std::optional<TaskStatus>(std::move(*status));
}

}  // namespace agora::agent
