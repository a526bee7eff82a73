#pragma once
// One isolation mechanism (cgroups, namespaces, volumes, ...) applied to
// every container by PosixContainerizer, in order:
//   prepare()  before the executor is forked (create cgroups, directories);
//   joinFiles() files the forked executor writes "0" into before it execs
//              (ProcessOptions::joinFiles): it moves itself into cgroups;
//   isolate()  with the executor forked but stopped before exec (attach the
//              pid), so no code of the container runs unisolated; called
//              only for isolators whose joinFiles() is empty;
//   cleanup()  after every process of the container is gone, also after a
//              failed launch. Must tolerate a container it never prepared.
// and, between isolate() and cleanup():
//   kill()        SIGKILL every process the isolator tracks (on destroy and
//                 when the executor exited);
//   usage()       adds what it measures to the container's statistics;
//   limitation()  the limit the container hit, checked when its task failed.
// The last three default to "nothing tracked".
// recover() replaces prepare() + isolate() for a container adopted after an
// agent restart (its processes already run isolated); it must take over
// what prepare() set up, not recreate it.
// Thread: the agent's loop thread.

#include <sys/types.h>

#include <optional>
#include <string>

#include "agent/containerizer.hpp"
#include "common/result.hpp"

namespace agora::agent {

class Isolator {
 public:
  virtual ~Isolator() = default;
  virtual std::string name() const = 0;
  virtual Status prepare(const ContainerConfig& config) = 0;
  virtual std::vector<std::string> joinFiles(const std::string& /*containerId*/) const {
    return {};
  }
  virtual Status isolate(const std::string& containerId, pid_t pid) = 0;
  virtual Status cleanup(const std::string& containerId) = 0;

  virtual Status recover(const ContainerConfig& /*config*/) { return {}; }
  // True when every process of a container (daemonized ones included) is
  // held by this isolator, kill() kills them all and usage() counts them all:
  // the containerizer then need not scan /proc for the executor's session.
  virtual bool holdsAllProcesses() const { return false; }
  virtual Status kill(const std::string& /*containerId*/) { return {}; }
  virtual void usage(const std::string& /*containerId*/, ResourceStatistics& /*stats*/) const {}
  virtual std::optional<ContainerLimitation> limitation(const std::string& /*containerId*/) const {
    return std::nullopt;
  }
};

}  // namespace agora::agent
