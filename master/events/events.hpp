#pragma once
// The master's typed events: every change of the cluster's state the master
// makes, as its components publish them on the EventBus (event_bus.hpp).
// Consumers (the operator event stream, and later DNS, the load balancer and
// the web UI) follow the cluster from these instead of polling snapshots.
//
// Events carry copies of what they describe, never pointers into master
// state: a consumer may keep them (the stream's resume buffer does).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"

namespace agora::master::events {

// An agent was admitted, came back, became unreachable or was removed.
struct AgentChanged {
  enum class Kind { kAdded, kReregistered, kUnreachable, kRemoved };
  Kind kind = Kind::kAdded;
  std::string agentId;
  std::string hostname;
  std::string url;  // its HTTP API
  Resources total;
  KeyValues attributes;
  std::string reason;  // why it became unreachable or was removed
};

// A framework subscribed for the first time, re-subscribed from a new
// connection (failed over), lost its scheduler, or was removed.
struct FrameworkChanged {
  enum class Kind { kSubscribed, kFailedOver, kDisconnected, kRemoved };
  Kind kind = Kind::kSubscribed;
  std::string frameworkId;
  std::string name;
  std::vector<std::string> roles;
  std::string user;
  std::string reason;  // why it disconnected or was removed
  std::string webuiUrl = {};  // FrameworkInfo::webuiUrl
};

// A task's status as the master applied it (from its agent, or made by the
// master: launch, kill of an unknown task, agent loss).
struct TaskStateChanged {
  std::string frameworkId;
  std::string taskId;
  std::string name;
  std::string agentId;
  TaskState state = TaskState::STAGING;
  TaskReason reason = TaskReason::NONE;
  StatusSource source = StatusSource::MASTER;
  std::string message;
  std::optional<bool> healthy;  // the task's check verdicts; unset without checks
  std::optional<bool> ready;
  std::string containerId;
  std::optional<int> exitCode;
  double timestamp = 0;  // the status's own time (wall seconds)
  Resources resources;
};

struct OfferSent {
  std::string offerId;
  std::string frameworkId;
  std::string agentId;
  std::string role;
  Resources resources;
};

// An offer left the book: answered by its framework, or rescinded by the
// master (the reason says which: "accepted", "declined", or the rescind's).
struct OfferRemoved {
  std::string offerId;
  std::string frameworkId;
  std::string agentId;
  std::string reason;
  bool rescinded = false;
};

// The dynamic reservations or persistent volumes of an agent changed
// (by a framework's ACCEPT or an operator).
struct ReservationChanged {
  std::string agentId;
  Resources reserved;  // its dynamic reservations now
  Resources volumes;   // its persistent volumes now
};

struct QuotaChanged {
  std::string role;
  std::optional<Resources> guarantee;  // nullopt: none
  std::optional<Resources> limit;
};

struct WeightChanged {
  std::string role;
  double weight = 1;
};

// This master started leading (or serving, without HA).
struct LeadershipChanged {
  std::string masterId;
  bool leading = true;
};

using Body = std::variant<AgentChanged, FrameworkChanged, TaskStateChanged, OfferSent,
                          OfferRemoved, ReservationChanged, QuotaChanged, WeightChanged,
                          LeadershipChanged>;

// One event as consumers see it: numbered in publication order from 1.
struct Event {
  uint64_t id = 0;
  double time = 0;  // when it was published (wall seconds)
  Body body;
};

// The event's type as the stream names it: "agent_added", "task_state_changed", ...
const char* typeName(const Body& body);
// Its group for stream filters: "agent", "framework", "task", "offer", "role"
// (reservations, quota, weights) or "master".
const char* groupName(const Body& body);
// Every group name, for validating filters.
const std::vector<std::string>& groupNames();
// The framework the event concerns ("" when none: agents, roles, master).
const std::string& frameworkOf(const Body& body);

}  // namespace agora::master::events
