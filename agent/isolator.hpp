#pragma once
// One isolation mechanism (cgroups, namespaces, volumes, ...) applied to
// every container by PosixContainerizer, in order:
//   prepare()  before the executor is forked (create cgroups, directories);
//   isolate()  with the executor forked but stopped before exec (attach the
//              pid), so no code of the container runs unisolated;
//   cleanup()  after every process of the container is gone, also after a
//              failed launch. Must tolerate a container it never prepared.
// Thread: the agent's loop thread.

#include <sys/types.h>

#include <string>

#include "agent/containerizer.hpp"
#include "common/result.hpp"

namespace agora::agent {

class Isolator {
 public:
  virtual ~Isolator() = default;
  virtual std::string name() const = 0;
  virtual Status prepare(const ContainerConfig& config) = 0;
  virtual Status isolate(const std::string& containerId, pid_t pid) = 0;
  virtual Status cleanup(const std::string& containerId) = 0;
};

}  // namespace agora::agent
