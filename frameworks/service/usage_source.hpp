#pragma once
// Where the autoscaler's CPU figures come from: each agent's containers API
// (GET AGENT/api/v1/containers: per task, cumulative CPU seconds and when
// the agent sampled them). The framework turns two samples of a task into a
// utilization. An interface so tests feed samples without agents.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"

namespace agora::service {

struct CpuSample {
  double cpuSeconds = 0;  // user + system, since the container started
  double at = 0;          // wall-clock seconds the agent sampled it
};

using UsageByTask = std::map<std::string, CpuSample>;

class UsageSource {
 public:
  virtual ~UsageSource() = default;
  // Reads every agent in `agentUrls` and runs `done` on the framework's
  // loop with what they answered (an agent that did not answer is missing
  // from it). One read at a time: a call while one runs is dropped.
  virtual void poll(std::vector<std::string> agentUrls, std::function<void(UsageByTask)> done) = 0;
};

// The real one: HTTP on a thread of its own (2 s per agent, the process's
// default client credentials), results posted to `loop`.
std::unique_ptr<UsageSource> makeAgentUsageSource(EventLoop& loop);

}  // namespace agora::service
