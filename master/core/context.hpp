#pragma once
// What every master component shares: the loop, the master's identity, where
// messages go, the registry, the allocator, the event bus and the
// directories of agents and frameworks. Master owns it and every service it
// names; components borrow it. Loop thread only.

#include <functional>
#include <string>

#include "common/authorizer.hpp"
#include "common/event_loop.hpp"
#include "master/allocator/allocator.hpp"
#include "master/core/directory.hpp"
#include "master/core/master_metrics.hpp"
#include "master/core/outbox.hpp"
#include "master/core/persister.hpp"
#include "master/events/event_bus.hpp"

namespace agora::master {

// Asked, before an operator's change to something a principal owns (a
// framework, a volume), whether the caller may touch that principal's
// things; its error is returned and nothing changes.
using PrincipalCheck = std::function<Status(const std::string& principal)>;

struct MasterContext {
  EventLoop& loop;
  std::string masterId;
  double startTime = 0;  // wall seconds
  MasterMetrics& metrics;
  Outbox& outbox;
  Persister& registry;
  Allocator& allocator;
  events::EventBus& bus;
  // The views changed: the snapshot is rendered anew when next read.
  std::function<void()> markChanged;
  // Resources came back or someone may take offers: an allocation pass runs
  // soon (once, however often it is asked meanwhile).
  std::function<void()> scheduleAllocation;
  // Set by Master once the agents and frameworks components exist.
  const AgentDirectory* agentDirectory = nullptr;
  const FrameworkDirectory* frameworkDirectory = nullptr;
  // Set by Master: what principals may do (its --acls).
  const acl::Authorizer* authorizer = nullptr;

  const Clock& clock() const { return loop.clock(); }
  double wallNow() const { return loop.clock().wallSeconds(); }
  const AgentDirectory& agents() const { return *agentDirectory; }
  const FrameworkDirectory& frameworks() const { return *frameworkDirectory; }
  const acl::Authorizer& acls() const { return *authorizer; }
  // A frame or call refused: counted under `reason` (a snake_case token) and
  // logged, rate-limited.
  void reject(const std::string& reason, const std::string& detail);
};

}  // namespace agora::master
