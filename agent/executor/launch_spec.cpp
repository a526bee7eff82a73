#include "agent/executor/launch_spec.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "common/checkpoint_file.hpp"
#include "common/codec.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {

namespace {

template <typename Builder>
void setTexts(Builder list, const std::vector<std::string>& values) {
  for (unsigned i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

std::vector<std::string> texts(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto item : list) out.emplace_back(item);
  return out;
}

void rootfsToCapnp(const ImageRootfs& in, schema::ImageRootfs::Builder out) {
  out.setReference(in.reference);
  out.setImageId(in.imageId);
  setTexts(out.initLayerDirs(static_cast<unsigned>(in.layerDirs.size())), in.layerDirs);
  out.setUpperDir(in.upperDir);
  out.setWorkDir(in.workDir);
  out.setMountPoint(in.mountPoint);
  setTexts(out.initArgv(static_cast<unsigned>(in.argv.size())), in.argv);
  setTexts(out.initEnv(static_cast<unsigned>(in.env.size())), in.env);
  out.setWorkingDir(in.workingDir);
  out.setUser(in.user);
  out.setMemoryLayerDir(in.memoryLayerDir);
  out.setMemoryLayerBytes(in.memoryLayerBytes);
}

ImageRootfs rootfsFromCapnp(schema::ImageRootfs::Reader in) {
  ImageRootfs out;
  out.reference = in.getReference();
  out.imageId = in.getImageId();
  out.layerDirs = texts(in.getLayerDirs());
  out.upperDir = in.getUpperDir();
  out.workDir = in.getWorkDir();
  out.mountPoint = in.getMountPoint();
  out.argv = texts(in.getArgv());
  out.env = texts(in.getEnv());
  out.workingDir = in.getWorkingDir();
  out.user = in.getUser();
  out.memoryLayerDir = in.getMemoryLayerDir();
  out.memoryLayerBytes = in.getMemoryLayerBytes();
  return out;
}

void seccompToCapnp(const SeccompProgram& in, schema::SeccompProgram::Builder out) {
  out.setCapabilities(in.capabilities);
  out.setProgram(kj::arrayPtr(reinterpret_cast<const kj::byte*>(in.program.data()),
                              in.program.size() * sizeof(sock_filter)));
}

Result<SeccompProgram> seccompFromCapnp(schema::SeccompProgram::Reader in) {
  auto bytes = in.getProgram();
  if (bytes.size() % sizeof(sock_filter) != 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "launch spec: a seccomp program of " + std::to_string(bytes.size()) +
                         " bytes is not a whole number of BPF instructions");
  }
  SeccompProgram out;
  out.capabilities = in.getCapabilities();
  out.program.resize(bytes.size() / sizeof(sock_filter));
  if (bytes.size() > 0) std::memcpy(out.program.data(), bytes.begin(), bytes.size());
  return out;
}

}  // namespace

bool SeccompProgram::operator==(const SeccompProgram& other) const {
  return capabilities == other.capabilities && program.size() == other.program.size() &&
         (program.empty() ||
          std::memcmp(program.data(), other.program.data(), program.size() * sizeof(sock_filter)) ==
              0);
}

std::string encodeLaunchSpec(const LaunchSpec& spec) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::LaunchSpec>();
  root.setContainerId(spec.containerId);
  root.setFrameworkId(spec.frameworkId);
  toCapnp(spec.task, root.initTask());
  root.setSandbox(spec.sandbox);
  root.setAgentEndpoint(spec.agentEndpoint);
  root.setNamespaces(spec.namespaces);
  if (spec.rootfs) rootfsToCapnp(*spec.rootfs, root.initRootfs());
  auto mounts = root.initMounts(static_cast<unsigned>(spec.mounts.size()));
  for (unsigned i = 0; i < spec.mounts.size(); ++i) {
    const MountEntry& m = spec.mounts[i];
    mounts[i].setSource(m.source);
    mounts[i].setTarget(m.target);
    mounts[i].setType(m.type);
    mounts[i].setFlags(m.flags);
    mounts[i].setOptions(m.options);
    mounts[i].setDescription(m.description);
  }
  if (spec.seccomp) seccompToCapnp(*spec.seccomp, root.initSeccomp());
  root.setSecret(spec.secret);
  return encodePacked(message);
}

Result<LaunchSpec> decodeLaunchSpec(std::string_view bytes) {
  auto decoded = Decoded::parse(bytes);
  if (!decoded) return makeError(decoded.error());
  LaunchSpec spec;
  Status fieldsOk;
  Status read = catchDecode([&] {
    auto root = decoded->root<schema::LaunchSpec>();
    spec.containerId = root.getContainerId();
    spec.frameworkId = root.getFrameworkId();
    spec.sandbox = root.getSandbox();
    spec.agentEndpoint = root.getAgentEndpoint();
    spec.namespaces = root.getNamespaces();
    spec.secret = root.getSecret();
    if (root.hasRootfs() && root.getRootfs().getReference().size() > 0) {
      spec.rootfs = rootfsFromCapnp(root.getRootfs());
    }
    for (auto m : root.getMounts()) {
      spec.mounts.push_back(MountEntry{m.getSource(), m.getTarget(), m.getType(), m.getFlags(),
                                       m.getOptions(), m.getDescription()});
    }
    if (root.hasSeccomp()) {
      auto seccomp = seccompFromCapnp(root.getSeccomp());
      if (!seccomp) {
        fieldsOk = makeError(seccomp.error());
        return;
      }
      spec.seccomp = std::move(*seccomp);
    }
    auto task = fromCapnp(root.getTask());
    if (!task) {
      fieldsOk = makeError(task.error());
      return;
    }
    spec.task = std::move(*task);
  });
  if (!read) return makeError(read.error());
  if (!fieldsOk) return makeError(fieldsOk.error());
  if (spec.containerId.empty() || spec.sandbox.empty() || spec.agentEndpoint.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "launch spec lacks a container ID, sandbox or agent endpoint");
  }
  if (spec.rootfs && (spec.rootfs->layerDirs.empty() || spec.rootfs->upperDir.empty() ||
                      spec.rootfs->workDir.empty() || spec.rootfs->mountPoint.empty() ||
                      spec.rootfs->argv.empty())) {
    return makeError(ErrorCode::kInvalidArgument,
                     "launch spec: the rootfs of image '" + spec.rootfs->reference +
                         "' lacks layers, overlay dirs or a command");
  }
  if (spec.rootfs && !spec.rootfs->memoryLayerDir.empty()) {
    const std::string& layer = spec.rootfs->memoryLayerDir;
    auto directlyIn = [&](const std::string& dir) {
      return dir.size() > layer.size() + 1 && dir.compare(0, layer.size(), layer) == 0 &&
             dir[layer.size()] == '/' && dir.find('/', layer.size() + 1) == std::string::npos;
    };
    if (layer.front() != '/' || !directlyIn(spec.rootfs->upperDir) ||
        !directlyIn(spec.rootfs->workDir)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "launch spec: the overlay dirs of image '" + spec.rootfs->reference +
                           "' are not directly in its memory layer " + layer);
    }
  }
  return spec;
}

Status writeLaunchSpec(const std::string& path, const LaunchSpec& spec) {
  std::string bytes = encodeLaunchSpec(spec);
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return makeError(errnoError("open " + tmp, errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return makeError(errnoError("write " + tmp, err));
    }
    done += static_cast<size_t>(n);
  }
  // No fsync: the executor reads it right away; crash-safe checkpointing is separate.
  if (close(fd) != 0) return makeError(errnoError("close " + tmp, errno));
  if (rename(tmp.c_str(), path.c_str()) != 0) return makeError(errnoError("rename " + path, errno));
  return {};
}

Result<LaunchSpec> readLaunchSpec(const std::string& path) {
  // Plain read(2): an executor's first iostream would cost it the locale's
  // set-up (and its page faults) on the launch's path.
  auto bytes = readWholeFile(path);
  if (!bytes) return makeError(bytes.error());
  auto spec = decodeLaunchSpec(*bytes);
  if (!spec) return makeError(spec.error().withContext("read launch spec " + path));
  return spec;
}

}  // namespace agora::agent
