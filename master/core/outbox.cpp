#include "master/core/outbox.hpp"

#include <capnp/message.h>
#include <glog/logging.h>

#include "common/codec.hpp"

namespace agora::master {

bool Outbox::toAgent(const std::string& peer, const char* type,
                     const std::function<void(schema::AgentEnvelope::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  fill(envelope);
  metrics_.messageOut(kAgentProtocol, type);
  if (!transport_.send(peer, kAgentProtocol, encodePacked(message))) {
    VLOG(1) << "cannot send " << type << " to agent " << peer;
    return false;
  }
  return true;
}

void Outbox::toScheduler(const std::string& peer, const char* type,
                         const std::function<void(schema::Event::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setVersion(schema::PROTOCOL_VERSION);
  fill(event);
  metrics_.messageOut(kSchedulerProtocol, type);
  if (!transport_.send(peer, kSchedulerProtocol, encodePacked(message))) {
    VLOG(1) << "cannot send " << type << " to scheduler " << peer;
  }
}

void Outbox::schedulerError(const std::string& peer, const std::string& message) {
  toScheduler(peer, "error", [&](schema::Event::Builder event) { event.setError(message); });
}

void Outbox::update(const Framework& framework, const TaskStatus& status) {
  if (!framework.connected) return;
  toScheduler(framework.peer, "update",
              [&](schema::Event::Builder event) { toCapnp(status, event.initUpdate()); });
}

}  // namespace agora::master
