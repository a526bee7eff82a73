#pragma once
// A Containerizer for unit tests of the agent's logic: records launches and
// destroys, reports terminations when told, and adopts on recover() the
// containers listed in `survivors`.

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/containerizer.hpp"

namespace agora::agent::testing {

class FakeContainerizer final : public Containerizer {
 public:
  ~FakeContainerizer() override {
    for (const auto& [id, fd] : startFds) close(fd);
  }
  void setTerminationHandler(TerminationHandler handler) override { handler_ = std::move(handler); }
  Result<pid_t> launch(const ContainerConfig& config) override {
    if (failLaunch) return makeError(ErrorCode::kNotFound, "exec /nope: No such file or directory");
    launched.push_back(config);
    // The executor's end of the start socket, as an executor would keep it.
    if (config.startFd >= 0)
      startFds[config.containerId] = fcntl(config.startFd, F_DUPFD_CLOEXEC, 3);
    live[config.containerId] = true;
    return 4242;
  }
  Result<bool> recover(const ContainerConfig& config, pid_t pid, uint64_t startTime) override {
    recovered[config.containerId] = {pid, startTime};
    if (!survivors.count(config.containerId)) return false;
    live[config.containerId] = true;
    return true;
  }
  Status destroy(const std::string& id) override {
    destroyed.push_back(id);
    return {};
  }
  std::vector<std::string> containers() const override {
    std::vector<std::string> ids;
    for (const auto& [id, alive] : live) ids.push_back(id);
    return ids;
  }
  Result<ResourceStatistics> usage(const std::string& id) const override {
    usageCalls[id]++;
    return ResourceStatistics{};
  }
  std::optional<ContainerLimitation> limitation(const std::string& id) const override {
    auto it = limitations.find(id);
    if (it == limitations.end()) return std::nullopt;
    return it->second;
  }
  void terminate(const std::string& id, int waitStatus) {
    live.erase(id);
    handler_(id, waitStatus);
  }

  bool failLaunch = false;
  std::vector<ContainerConfig> launched;
  std::map<std::string, int> startFds;  // by container ID
  std::vector<std::string> destroyed;
  std::map<std::string, bool> live;
  mutable std::map<std::string, int> usageCalls;
  std::map<std::string, ContainerLimitation> limitations;
  std::set<std::string> survivors;
  std::map<std::string, std::pair<pid_t, uint64_t>> recovered;

 private:
  TerminationHandler handler_;
};

}  // namespace agora::agent::testing
