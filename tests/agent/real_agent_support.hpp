#pragma once
// Shared by the agent tests that run real executors: a minimal master that
// admits the agent and acknowledges every update, and a bounded wait that
// keeps the agent's loop and child reaper turning.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/envelope.hpp"
#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/model.hpp"
#include "common/transport.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::agent::testing {

// The master's acknowledgement of `status` (framework `frameworkId`).
inline std::string statusAckFrame(const std::string& frameworkId, const TaskStatus& status) {
  return buildEnvelope<schema::AgentEnvelope>([&](auto e) {
    auto a = e.initStatusUpdateAck();
    a.setFrameworkId(frameworkId);
    a.setTaskId(status.taskId);
    a.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(status.uuid.data()),
                           status.uuid.size()));
  });
}

// Answers one frame from the agent `agentIdentity` as the master would:
// registration gets agent ID "A1"; a status update is recorded and acknowledged.
inline void answerAsMaster(ServerTransport& master, const std::string& agentIdentity,
                           std::string_view payload, std::vector<TaskStatus>& updates) {
  using schema::AgentEnvelope;
  auto decoded = Decoded::parse(payload);
  if (!decoded) return;
  auto root = decoded->root<AgentEnvelope>();
  if (root.which() == AgentEnvelope::REGISTER_AGENT ||
      root.which() == AgentEnvelope::REREGISTER_AGENT) {
    master.send(agentIdentity, kAgentProtocol, buildEnvelope<AgentEnvelope>([](auto e) {
                  auto m = e.initAgentRegistered();
                  m.setAgentId("A1");
                  m.setPingIntervalSec(60);
                }));
  } else if (root.which() == AgentEnvelope::STATUS_UPDATE) {
    auto status = *fromCapnp(root.getStatusUpdate().getStatus());
    updates.push_back(status);
    master.send(agentIdentity, kAgentProtocol, statusAckFrame("fw", status));
  }
}

// Runs the loop and reaps children until `done` or the timeout (real time).
inline bool runUntil(EventLoop& loop, ChildReaper& reaper, const std::function<bool()>& done,
                     Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    loop.runUntilIdle();
    reaper.poll();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

}  // namespace agora::agent::testing
