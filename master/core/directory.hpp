#pragma once
// Read-only lookups of agents and frameworks for the components that do not
// own them (the offer book, the task table, operations). The agents and
// frameworks components implement them; nobody else changes those records.

#include <string>

#include "master/core/records.hpp"

namespace agora::master {

class AgentDirectory {
 public:
  virtual ~AgentDirectory() = default;
  // Any known agent (registered, unreachable or recovering), or null.
  virtual const Agent* findAgent(const std::string& id) const = 0;
  // Removed after being unreachable past the timeout (remembered, bounded).
  virtual bool isGone(const std::string& id) const = 0;

  // A registered agent (one messages can be sent to), or null.
  const Agent* registeredAgent(const std::string& id) const {
    const Agent* agent = findAgent(id);
    return agent != nullptr && agent->status == AgentStatus::kRegistered ? agent : nullptr;
  }
};

class FrameworkDirectory {
 public:
  virtual ~FrameworkDirectory() = default;
  // A known framework (connected or not), or null.
  virtual const Framework* findFramework(const std::string& id) const = 0;
};

}  // namespace agora::master
