#pragma once
// Plain C++ forms of the scheduler protocol envelopes (schemas/scheduler.capnp)
// and their packed encodings. The driver encodes Calls and decodes Events; the
// FakeMaster does the reverse. Decoding never throws: malformed input, an
// unknown version or an invalid field becomes an Error.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"

namespace agora::sdk {

inline constexpr double kDefaultRefuseSeconds = 5.0;

struct TaskRef {
  std::string taskId;
  std::string agentId;
  bool operator==(const TaskRef&) const = default;
};

// One operation of an ACCEPT call. Launch operations use `tasks`; the
// reservation and volume operations use `resources`.
struct Operation {
  enum class Type { kLaunch, kLaunchGroup, kReserve, kUnreserve, kCreate, kDestroy };
  Type type = Type::kLaunch;
  std::vector<TaskInfo> tasks;
  Resources resources;

  static Operation launch(std::vector<TaskInfo> tasks) {
    return Operation{Type::kLaunch, std::move(tasks), {}};
  }
};

namespace call {
struct Subscribe {
  FrameworkInfo framework;
};
struct Accept {
  std::vector<std::string> offerIds;
  std::vector<Operation> operations;
  double refuseSeconds = kDefaultRefuseSeconds;
};
struct Decline {
  std::vector<std::string> offerIds;
  double refuseSeconds = kDefaultRefuseSeconds;
};
struct Revive {
  std::vector<std::string> roles;
};
struct Suppress {
  std::vector<std::string> roles;
};
struct Kill {
  TaskRef task;
};
struct Acknowledge {
  std::string agentId;
  std::string taskId;
  std::string uuid;  // raw bytes
};
struct Reconcile {
  std::vector<TaskRef> tasks;
};  // empty: implicit (all tasks)
struct Message {
  std::string agentId;
  std::string data;
};
struct Teardown {};
struct Heartbeat {};
}  // namespace call

struct Call {
  using Body = std::variant<call::Subscribe, call::Accept, call::Decline, call::Revive,
                            call::Suppress, call::Kill, call::Acknowledge, call::Reconcile,
                            call::Message, call::Teardown, call::Heartbeat>;
  std::string frameworkId;  // empty only in the first SUBSCRIBE
  Body body;
};

namespace event {
struct Subscribed {
  std::string frameworkId;
  double heartbeatIntervalSec = 0;
  std::string masterId;
};
struct Offers {
  std::vector<Offer> offers;
};
struct Rescind {
  std::string offerId;
};
struct Update {
  TaskStatus status;
};
struct Failure {
  std::string agentId;
  std::string executorId;
  std::optional<int> status;
};
struct Error {
  std::string message;
};
struct Heartbeat {};
struct InverseOffers {
  std::vector<Offer> offers;
};
struct Message {
  std::string agentId;
  std::string data;
};
// From a standby master: talk to the leader at leaderEndpoint instead.
struct NotLeader {
  std::string leaderId;
  std::string leaderEndpoint;
};
}  // namespace event

struct Event {
  using Body = std::variant<event::Subscribed, event::Offers, event::Rescind, event::Update,
                            event::Failure, event::Error, event::Heartbeat, event::InverseOffers,
                            event::Message, event::NotLeader>;
  Body body;
};

std::string encodeCall(const Call& call);
Result<Call> decodeCall(std::string_view payload);
std::string encodeEvent(const Event& event);
Result<Event> decodeEvent(std::string_view payload);

// "SUBSCRIBE", "OFFERS", ... for logs.
const char* callName(const Call::Body& body);
const char* eventName(const Event::Body& body);

}  // namespace agora::sdk
