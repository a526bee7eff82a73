#include "agent/checkpoints.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "agent/executor/task_exit.hpp"
#include "agent/paths.hpp"
#include "common/checkpoint_file.hpp"
#include "common/codec.hpp"
#include "schemas/checkpoint.capnp.h"

namespace agora::agent::checkpoints {

namespace {

template <class Root, class Fill>
Status writeMessage(const std::string& path, Durability durability, Fill&& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<Root>());
  return writeCheckpointFile(path, encodePacked(message), durability);
}

// Reads `path` and hands its root to `read`, which returns an error for
// fields that do not decode. kNotFound passes through untouched.
template <class Root, class Read>
Status readMessage(const std::string& path, Read&& read) {
  auto bytes = readCheckpointFile(path);
  if (!bytes) return makeError(bytes.error());
  auto decoded = Decoded::parse(*bytes);
  if (!decoded) return makeError(decoded.error().withContext("checkpoint " + path));
  Status fields;
  Status parsed = catchDecode([&] { fields = read(decoded->template root<Root>()); });
  if (!parsed) return makeError(parsed.error().withContext("checkpoint " + path));
  if (!fields) return makeError(fields.error().withContext("checkpoint " + path));
  return {};
}

template <class T>
Status assign(Result<T> value, T& out) {
  if (!value) return makeError(value.error());
  out = std::move(*value);
  return {};
}

kj::ArrayPtr<const kj::byte> bytesOf(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

Result<std::optional<UpdateStreamState>> readStream(const std::string& path) {
  UpdateStreamState stream;
  Status read = readMessage<schema::UpdateStreamCheckpoint>(path, [&](auto root) -> Status {
    stream.frameworkId = root.getFrameworkId();
    stream.taskId = root.getTaskId();
    stream.terminal = root.getTerminal();
    for (auto entry : root.getPending()) {
      TaskStatus status;
      if (Status s = assign(fromCapnp(entry), status); !s) return s;
      if (status.uuid.size() != 16) return makeError(ErrorCode::kIo, "pending update without uuid");
      stream.pending.push_back(std::move(status));
    }
    for (auto uuid : root.getSeenUuids()) {
      stream.seenUuids.emplace_back(reinterpret_cast<const char*>(uuid.begin()), uuid.size());
    }
    if (root.hasLatest()) {
      TaskStatus latest;
      if (Status s = assign(fromCapnp(root.getLatest()), latest); !s) return s;
      stream.latest = std::move(latest);
    }
    return {};
  });
  if (!read) {
    if (read.error().code == ErrorCode::kNotFound) return std::optional<UpdateStreamState>();
    return makeError(read.error());
  }
  return std::optional<UpdateStreamState>(std::move(stream));
}

Result<std::optional<ContainerState>> readContainer(const std::string& path) {
  ContainerState c;
  Status read = readMessage<schema::ContainerCheckpoint>(path, [&](auto root) -> Status {
    c.containerId = root.getContainerId();
    c.sandbox = root.getSandbox();
    c.executorPid = root.getExecutorPid();
    c.executorStartTime = root.getExecutorStartTime();
    c.launchedAt = root.getLaunchedAt();
    c.executorSecret = root.getExecutorSecret();
    if (Status s = assign(fromCapnp(root.getFramework()), c.framework); !s) return s;
    return assign(fromCapnp(root.getTask()), c.task);
  });
  if (!read) {
    if (read.error().code == ErrorCode::kNotFound) return std::optional<ContainerState>();
    return makeError(read.error());
  }
  return std::optional<ContainerState>(std::move(c));
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Status writeAgent(const std::string& workDir, const AgentIdentity& identity) {
  if (Status s = paths::makeDirs(paths::metaDir(workDir), 0700); !s) return s;
  return writeMessage<schema::AgentCheckpoint>(
      paths::agentCheckpoint(workDir), Durability::kHostCrash, [&](auto root) {
    root.setAgentId(identity.agentId);
    root.setBootId(identity.bootId);
    root.setHostname(identity.hostname);
    root.setResources(identity.resources);
  });
}

Status writeContainer(const std::string& runtimeDir, const ContainerState& c) {
  return writeMessage<schema::ContainerCheckpoint>(
      paths::containerCheckpoint(runtimeDir, c.containerId), kPerBoot, [&](auto root) {
        root.setContainerId(c.containerId);
        toCapnp(c.framework, root.initFramework());
        toCapnp(c.task, root.initTask());
        root.setSandbox(c.sandbox);
        root.setExecutorPid(c.executorPid);
        root.setExecutorStartTime(c.executorStartTime);
        root.setLaunchedAt(c.launchedAt);
        root.setExecutorSecret(c.executorSecret);
      });
}

Status writeStream(const std::string& runtimeDir, const std::string& containerId,
                   const UpdateStreamState& stream) {
  return writeMessage<schema::UpdateStreamCheckpoint>(
      paths::updatesCheckpoint(runtimeDir, containerId), kPerBoot, [&](auto root) {
        root.setFrameworkId(stream.frameworkId);
        root.setTaskId(stream.taskId);
        root.setTerminal(stream.terminal);
        auto pending = root.initPending(static_cast<unsigned>(stream.pending.size()));
        for (unsigned i = 0; i < stream.pending.size(); ++i) toCapnp(stream.pending[i], pending[i]);
        auto seen = root.initSeenUuids(static_cast<unsigned>(stream.seenUuids.size()));
        for (unsigned i = 0; i < stream.seenUuids.size(); ++i) seen.set(i, bytesOf(stream.seenUuids[i]));
        if (stream.latest) toCapnp(*stream.latest, root.initLatest());
      });
}

Status removeContainer(const std::string& runtimeDir, const std::string& containerId) {
  // container.ckpt goes first: without it the others are never read, while
  // a container.ckpt left without its update stream (a crash in between)
  // would read as a task that ended unreported.
  for (const std::string& path :
       {paths::containerCheckpoint(runtimeDir, containerId), paths::updatesCheckpoint(runtimeDir, containerId),
        paths::taskExitFile(runtimeDir, containerId)}) {
    if (Status s = removeCheckpointFile(path, kPerBoot); !s) return s;
  }
  unlink(paths::launchFile(runtimeDir, containerId).c_str());
  rmdir(paths::containerDir(runtimeDir, containerId).c_str());  // kept while its rootfs is
  return {};
}

Status removeAll(const std::string& workDir, const std::string& runtimeDir) {
  for (const std::string& id : listDir(paths::containersRoot(runtimeDir))) {
    if (Status s = removeContainer(runtimeDir, id); !s) return s;
  }
  return removeCheckpointFile(paths::agentCheckpoint(workDir));
}

Result<RecoveredState> recover(const std::string& workDir, const std::string& bootId,
                               const std::string& runtime) {
  const std::string& runtimeDir = runtime.empty() ? workDir : runtime;
  RecoveredState state;
  AgentIdentity identity;
  std::string agentPath = paths::agentCheckpoint(workDir);
  Status agent = readMessage<schema::AgentCheckpoint>(agentPath, [&](auto root) -> Status {
    identity.agentId = root.getAgentId();
    identity.bootId = root.getBootId();
    identity.hostname = root.getHostname();
    identity.resources = root.getResources();
    return validateId("agent ID", identity.agentId);
  });
  if (agent) {
    state.agent = std::move(identity);
  } else if (agent.error().code != ErrorCode::kNotFound) {
    return makeError(agent.error());
  }
  // Written without fsync: from an earlier boot they may be torn, and they
  // describe containers that died with it.
  if (!bootId.empty() && state.agent && state.agent->bootId != bootId) return state;
  for (const std::string& id : listDir(paths::containersRoot(runtimeDir))) {
    std::string path = paths::containerCheckpoint(runtimeDir, id);
    auto container = readContainer(path);
    if (!container) return makeError(container.error());
    if (!*container) {
      // Forgotten, with a crash before its other files went: finish the job.
      if (Status s = removeContainer(runtimeDir, id); !s) return makeError(s.error());
      continue;
    }
    if ((*container)->containerId != id) {
      return makeError(ErrorCode::kIo, "checkpoint " + path + " is for container '" +
                                           (*container)->containerId + "', not '" + id + "'");
    }
    RecoveredContainer recovered{std::move(**container), std::nullopt, std::nullopt};
    auto stream = readStream(paths::updatesCheckpoint(runtimeDir, id));
    if (!stream) return makeError(stream.error());
    recovered.stream = std::move(*stream);
    auto exit = readTaskExit(paths::taskExitFile(runtimeDir, id));
    if (!exit) return makeError(exit.error());
    recovered.exit = std::move(*exit);
    state.containers.push_back(std::move(recovered));
  }
  return state;
}

std::vector<ContainerState> readableContainers(const std::string& runtimeDir) {
  std::vector<ContainerState> out;
  for (const std::string& id : listDir(paths::containersRoot(runtimeDir))) {
    auto container = readContainer(paths::containerCheckpoint(runtimeDir, id));
    if (container && *container) out.push_back(std::move(**container));
  }
  return out;
}

Result<std::string> readBootId(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return makeError(ErrorCode::kIo, "cannot read the boot ID from " + path);
  }
  return line;
}

}  // namespace agora::agent::checkpoints
