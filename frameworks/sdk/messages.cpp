#include "frameworks/sdk/messages.hpp"

#include <capnp/message.h>

#include "common/codec.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora::sdk {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

capnp::Data::Reader bytesOf(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string stringOf(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

void setStrings(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& in) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, in[i]);
}
std::vector<std::string> getStrings(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> out;
  for (auto s : in) out.emplace_back(s);
  return out;
}

void setTaskRefs(capnp::List<schema::TaskRef>::Builder out, const std::vector<TaskRef>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setTaskId(in[i].taskId);
    out[i].setAgentId(in[i].agentId);
  }
}

void setTasks(capnp::List<schema::TaskInfo>::Builder out, const std::vector<TaskInfo>& in) {
  for (unsigned i = 0; i < in.size(); ++i) toCapnp(in[i], out[i]);
}

Result<std::vector<TaskInfo>> getTasks(capnp::List<schema::TaskInfo>::Reader in) {
  std::vector<TaskInfo> out;
  for (auto t : in) {
    auto task = fromCapnp(t);
    if (!task) return makeError(task.error());
    out.push_back(std::move(*task));
  }
  return out;
}

Result<std::vector<Offer>> getOffers(capnp::List<schema::Offer>::Reader in) {
  std::vector<Offer> out;
  for (auto o : in) {
    auto offer = fromCapnp(o);
    if (!offer) return makeError(offer.error());
    out.push_back(std::move(*offer));
  }
  return out;
}

void setOperation(const Operation& op, schema::Operation::Builder out) {
  auto n = [](const auto& v) { return static_cast<unsigned>(v.size()); };
  switch (op.type) {
    case Operation::Type::kLaunch:
      setTasks(out.initLaunch(n(op.tasks)), op.tasks);
      return;
    case Operation::Type::kLaunchGroup:
      setTasks(out.initLaunchGroup(n(op.tasks)), op.tasks);
      return;
    case Operation::Type::kReserve:
      op.resources.toCapnp(out.initReserve(op.resources.count()));
      return;
    case Operation::Type::kUnreserve:
      op.resources.toCapnp(out.initUnreserve(op.resources.count()));
      return;
    case Operation::Type::kCreate:
      op.resources.toCapnp(out.initCreate(op.resources.count()));
      return;
    case Operation::Type::kDestroy:
      op.resources.toCapnp(out.initDestroy(op.resources.count()));
      return;
  }
}

Result<Operation> getOperation(schema::Operation::Reader in) {
  auto resources = [&](capnp::List<schema::Resource>::Reader list,
                       Operation::Type type) -> Result<Operation> {
    auto parsed = Resources::fromCapnp(list);
    if (!parsed) return makeError(parsed.error());
    return Operation{type, {}, std::move(*parsed)};
  };
  auto tasks = [&](capnp::List<schema::TaskInfo>::Reader list,
                   Operation::Type type) -> Result<Operation> {
    auto parsed = getTasks(list);
    if (!parsed) return makeError(parsed.error());
    return Operation{type, std::move(*parsed), {}};
  };
  switch (in.which()) {
    case schema::Operation::LAUNCH:
      return tasks(in.getLaunch(), Operation::Type::kLaunch);
    case schema::Operation::LAUNCH_GROUP:
      return tasks(in.getLaunchGroup(), Operation::Type::kLaunchGroup);
    case schema::Operation::RESERVE:
      return resources(in.getReserve(), Operation::Type::kReserve);
    case schema::Operation::UNRESERVE:
      return resources(in.getUnreserve(), Operation::Type::kUnreserve);
    case schema::Operation::CREATE:
      return resources(in.getCreate(), Operation::Type::kCreate);
    case schema::Operation::DESTROY:
      return resources(in.getDestroy(), Operation::Type::kDestroy);
  }
  return makeError(ErrorCode::kProtocol, "unknown operation type");
}

Result<Call::Body> readCallBody(schema::Call::Reader in) {
  switch (in.which()) {
    case schema::Call::SUBSCRIBE: {
      auto framework = fromCapnp(in.getSubscribe());
      if (!framework) return makeError(framework.error());
      return call::Subscribe{std::move(*framework)};
    }
    case schema::Call::ACCEPT: {
      auto accept = in.getAccept();
      call::Accept out{
          getStrings(accept.getOfferIds()), {}, accept.getFilters().getRefuseSeconds()};
      for (auto op : accept.getOperations()) {
        auto parsed = getOperation(op);
        if (!parsed) return makeError(parsed.error());
        out.operations.push_back(std::move(*parsed));
      }
      return out;
    }
    case schema::Call::DECLINE: {
      auto decline = in.getDecline();
      return call::Decline{getStrings(decline.getOfferIds()),
                           decline.getFilters().getRefuseSeconds()};
    }
    case schema::Call::REVIVE:
      return call::Revive{getStrings(in.getRevive())};
    case schema::Call::SUPPRESS:
      return call::Suppress{getStrings(in.getSuppress())};
    case schema::Call::KILL:
      return call::Kill{TaskRef{in.getKill().getTaskId(), in.getKill().getAgentId()}};
    case schema::Call::ACKNOWLEDGE: {
      auto ack = in.getAcknowledge();
      return call::Acknowledge{ack.getAgentId(), ack.getTaskId(), stringOf(ack.getUuid())};
    }
    case schema::Call::RECONCILE: {
      call::Reconcile out;
      for (auto ref : in.getReconcile()) out.tasks.push_back({ref.getTaskId(), ref.getAgentId()});
      return out;
    }
    case schema::Call::MESSAGE:
      return call::Message{in.getMessage().getAgentId(), stringOf(in.getMessage().getData())};
    case schema::Call::TEARDOWN:
      return call::Teardown{};
    case schema::Call::HEARTBEAT:
      return call::Heartbeat{};
  }
  return makeError(ErrorCode::kProtocol, "unknown call type");
}

Result<Event::Body> readEventBody(schema::Event::Reader in) {
  switch (in.which()) {
    case schema::Event::SUBSCRIBED: {
      auto s = in.getSubscribed();
      return event::Subscribed{s.getFrameworkId(), s.getHeartbeatIntervalSec(), s.getMasterId()};
    }
    case schema::Event::OFFERS: {
      auto offers = getOffers(in.getOffers());
      if (!offers) return makeError(offers.error());
      return event::Offers{std::move(*offers)};
    }
    case schema::Event::RESCIND:
      return event::Rescind{in.getRescind()};
    case schema::Event::UPDATE: {
      auto status = fromCapnp(in.getUpdate());
      if (!status) return makeError(status.error());
      return event::Update{std::move(*status)};
    }
    case schema::Event::FAILURE: {
      auto f = in.getFailure();
      event::Failure out{f.getAgentId(), f.getExecutorId(), std::nullopt};
      if (f.getHasStatus()) out.status = f.getStatus();
      return out;
    }
    case schema::Event::ERROR:
      return event::Error{in.getError()};
    case schema::Event::HEARTBEAT:
      return event::Heartbeat{};
    case schema::Event::INVERSE_OFFERS: {
      auto offers = getOffers(in.getInverseOffers());
      if (!offers) return makeError(offers.error());
      return event::InverseOffers{std::move(*offers)};
    }
    case schema::Event::MESSAGE:
      return event::Message{in.getMessage().getAgentId(), stringOf(in.getMessage().getData())};
    case schema::Event::NOT_LEADER:
      return event::NotLeader{in.getNotLeader().getLeaderId(),
                              in.getNotLeader().getLeaderEndpoint()};
  }
  return makeError(ErrorCode::kProtocol, "unknown event type");
}

// Parses an envelope of type T, checks its version and reads it with `read`.
template <class T, class Out, class Read>
Result<Out> decodeEnvelope(std::string_view payload, Read read) {
  auto decoded = Decoded::parse(payload);
  if (!decoded) return makeError(decoded.error());
  Result<Out> out = makeError(ErrorCode::kProtocol, "empty message");
  Status status = catchDecode([&] {
    auto root = decoded->template root<T>();
    if (root.getVersion() != schema::PROTOCOL_VERSION) {
      out = makeError(ErrorCode::kProtocol,
                      "unsupported protocol version " + std::to_string(root.getVersion()));
      return;
    }
    out = read(root);
  });
  if (!status) return makeError(status.error());
  return out;
}

}  // namespace

std::string encodeCall(const Call& c) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Call>();
  out.setVersion(schema::PROTOCOL_VERSION);
  out.setFrameworkId(c.frameworkId);
  auto n = [](const auto& v) { return static_cast<unsigned>(v.size()); };
  std::visit(
      Overloaded{
          [&](const call::Subscribe& s) { toCapnp(s.framework, out.initSubscribe()); },
          [&](const call::Accept& a) {
            auto accept = out.initAccept();
            setStrings(accept.initOfferIds(n(a.offerIds)), a.offerIds);
            auto ops = accept.initOperations(n(a.operations));
            for (unsigned i = 0; i < a.operations.size(); ++i)
              setOperation(a.operations[i], ops[i]);
            accept.initFilters().setRefuseSeconds(a.refuseSeconds);
          },
          [&](const call::Decline& d) {
            auto decline = out.initDecline();
            setStrings(decline.initOfferIds(n(d.offerIds)), d.offerIds);
            decline.initFilters().setRefuseSeconds(d.refuseSeconds);
          },
          [&](const call::Revive& r) { setStrings(out.initRevive(n(r.roles)), r.roles); },
          [&](const call::Suppress& s) { setStrings(out.initSuppress(n(s.roles)), s.roles); },
          [&](const call::Kill& k) {
            auto kill = out.initKill();
            kill.setTaskId(k.task.taskId);
            kill.setAgentId(k.task.agentId);
          },
          [&](const call::Acknowledge& a) {
            auto ack = out.initAcknowledge();
            ack.setAgentId(a.agentId);
            ack.setTaskId(a.taskId);
            ack.setUuid(bytesOf(a.uuid));
          },
          [&](const call::Reconcile& r) { setTaskRefs(out.initReconcile(n(r.tasks)), r.tasks); },
          [&](const call::Message& m) {
            auto msg = out.initMessage();
            msg.setAgentId(m.agentId);
            msg.setData(bytesOf(m.data));
          },
          [&](const call::Teardown&) { out.setTeardown(); },
          [&](const call::Heartbeat&) { out.setHeartbeat(); },
      },
      c.body);
  return encodePacked(message);
}

Result<Call> decodeCall(std::string_view payload) {
  return decodeEnvelope<schema::Call, Call>(payload, [](schema::Call::Reader root) -> Result<Call> {
    auto body = readCallBody(root);
    if (!body) return makeError(body.error());
    return Call{root.getFrameworkId(), std::move(*body)};
  });
}

std::string encodeEvent(const Event& e) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Event>();
  out.setVersion(schema::PROTOCOL_VERSION);
  auto setOffers = [](capnp::List<schema::Offer>::Builder list, const std::vector<Offer>& offers) {
    for (unsigned i = 0; i < offers.size(); ++i) toCapnp(offers[i], list[i]);
  };
  auto n = [](const auto& v) { return static_cast<unsigned>(v.size()); };
  std::visit(Overloaded{
                 [&](const event::Subscribed& s) {
                   auto sub = out.initSubscribed();
                   sub.setFrameworkId(s.frameworkId);
                   sub.setHeartbeatIntervalSec(s.heartbeatIntervalSec);
                   sub.setMasterId(s.masterId);
                 },
                 [&](const event::Offers& o) { setOffers(out.initOffers(n(o.offers)), o.offers); },
                 [&](const event::Rescind& r) { out.setRescind(r.offerId); },
                 [&](const event::Update& u) { toCapnp(u.status, out.initUpdate()); },
                 [&](const event::Failure& f) {
                   auto failure = out.initFailure();
                   failure.setAgentId(f.agentId);
                   failure.setExecutorId(f.executorId);
                   failure.setHasStatus(f.status.has_value());
                   failure.setStatus(f.status.value_or(0));
                 },
                 [&](const event::Error& err) { out.setError(err.message); },
                 [&](const event::Heartbeat&) { out.setHeartbeat(); },
                 [&](const event::InverseOffers& o) {
                   setOffers(out.initInverseOffers(n(o.offers)), o.offers);
                 },
                 [&](const event::Message& m) {
                   auto msg = out.initMessage();
                   msg.setAgentId(m.agentId);
                   msg.setData(bytesOf(m.data));
                 },
                 [&](const event::NotLeader& m) {
                   auto notLeader = out.initNotLeader();
                   notLeader.setLeaderId(m.leaderId);
                   notLeader.setLeaderEndpoint(m.leaderEndpoint);
                 },
             },
             e.body);
  return encodePacked(message);
}

Result<Event> decodeEvent(std::string_view payload) {
  return decodeEnvelope<schema::Event, Event>(payload,
                                              [](schema::Event::Reader root) -> Result<Event> {
                                                auto body = readEventBody(root);
                                                if (!body) return makeError(body.error());
                                                return Event{std::move(*body)};
                                              });
}

const char* callName(const Call::Body& body) {
  static const char* kNames[] = {"SUBSCRIBE", "ACCEPT",   "DECLINE",     "REVIVE",
                                 "SUPPRESS",  "KILL",     "ACKNOWLEDGE", "RECONCILE",
                                 "MESSAGE",   "TEARDOWN", "HEARTBEAT"};
  return kNames[body.index()];
}

const char* eventName(const Event::Body& body) {
  static const char* kNames[] = {"SUBSCRIBED", "OFFERS",    "RESCIND",   "UPDATE",
                                 "FAILURE",    "ERROR",     "HEARTBEAT", "INVERSE_OFFERS",
                                 "MESSAGE",    "NOT_LEADER"};
  return kNames[body.index()];
}

}  // namespace agora::sdk
