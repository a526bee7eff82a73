#pragma once
// The cluster as its events describe it: agents (and whether reachable),
// frameworks (and whether connected), every task's latest state and agent,
// and the outstanding offers, folded from the event stream alone. What a
// consumer such as DNS, a load balancer or a UI keeps; also the check that
// the master's events are complete (the property test compares it with the
// master's own state).

#include <map>
#include <string>
#include <utility>

#include "master/events/events.hpp"

namespace agora::master::events {

struct ClusterView {
  struct AgentView {
    std::string hostname;
    bool reachable = true;
  };
  struct FrameworkView {
    std::string name;
    bool connected = true;
  };
  struct TaskView {
    std::string agentId;
    TaskState state = TaskState::STAGING;
  };
  struct OfferView {
    std::string frameworkId;
    std::string agentId;
  };

  std::map<std::string, AgentView> agents;
  std::map<std::string, FrameworkView> frameworks;
  std::map<std::pair<std::string, std::string>, TaskView> tasks;  // (framework, task)
  std::map<std::string, OfferView> offers;

  void apply(const Event& event);
};

}  // namespace agora::master::events
