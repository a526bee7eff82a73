// Master: each frame decoded and routed to the component that owns what it
// is about. Handlers read every field they need before changing state, so a
// corrupt pointer surfaces as an exception (caught here) before anything is
// half-applied.

#include <glog/logging.h>

#include <cmath>

#include "common/codec.hpp"
#include "master/master.hpp"

namespace agora::master {

namespace {

const char* agentMessageName(schema::AgentEnvelope::Which which) {
  using W = schema::AgentEnvelope::Which;
  switch (which) {
    case W::REGISTER_AGENT:
      return "registerAgent";
    case W::REREGISTER_AGENT:
      return "reregisterAgent";
    case W::AGENT_REGISTERED:
      return "agentRegistered";
    case W::RUN_TASK:
      return "runTask";
    case W::KILL_TASK:
      return "killTask";
    case W::STATUS_UPDATE:
      return "statusUpdate";
    case W::STATUS_UPDATE_ACK:
      return "statusUpdateAck";
    case W::PING:
      return "ping";
    case W::PONG:
      return "pong";
    case W::SHUTDOWN_FRAMEWORK:
      return "shutdownFramework";
    case W::SHUTDOWN_AGENT:
      return "shutdownAgent";
    case W::NOT_LEADER:
      return "notLeader";
    case W::DESTROY_VOLUMES:
      return "destroyVolumes";
    case W::VOLUMES_DESTROYED:
      return "volumesDestroyed";
  }
  return "unknown";
}

const char* callName(schema::Call::Which which) {
  using W = schema::Call::Which;
  switch (which) {
    case W::SUBSCRIBE:
      return "subscribe";
    case W::ACCEPT:
      return "accept";
    case W::DECLINE:
      return "decline";
    case W::REVIVE:
      return "revive";
    case W::SUPPRESS:
      return "suppress";
    case W::KILL:
      return "kill";
    case W::ACKNOWLEDGE:
      return "acknowledge";
    case W::RECONCILE:
      return "reconcile";
    case W::MESSAGE:
      return "message";
    case W::TEARDOWN:
      return "teardown";
    case W::HEARTBEAT:
      return "heartbeat";
  }
  return "unknown";
}

double refuseSecondsOf(double requested) {
  // A non-finite or negative value means the scheduler did not mean it: use the default.
  return std::isfinite(requested) && requested >= 0 ? requested : 5.0;
}

std::vector<std::string> textList(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto item : list) out.emplace_back(item);
  return out;
}

}  // namespace

void Master::onFrame(const std::string& peer, std::string_view protocol, std::string_view payload) {
  if (strikes_.banned(peer, loop_.clock().now())) {
    ctx_.reject("banned_peer", "frame from " + peer);
  } else if (payload.size() > kMaxMessageBytes) {
    ctx_.reject("oversized", "frame of " + std::to_string(payload.size()) + " bytes from " + peer);
  } else if (protocol == kAgentProtocol) {
    onAgentFrame(peer, payload);
  } else if (protocol == kSchedulerProtocol) {
    onSchedulerFrame(peer, payload);
  } else {
    ctx_.reject("unknown_protocol", "frame with protocol tag of " +
                                        std::to_string(protocol.size()) + " bytes from " + peer);
  }
}

void Master::rejectUndecodable(const std::string& peer, const char* who, const Error& error) {
  if (error.code != ErrorCode::kTooLarge) {
    ctx_.reject("malformed", std::string(who) + " " + peer + ": " + error.message);
    return;
  }
  ctx_.reject("oversized", std::string(who) + " " + peer + ": " + error.message);
  if (strikes_.strike(peer, loop_.clock().now())) {
    LOG(WARNING) << "turning away " << who << " " << peer
                 << " for a while: it keeps sending frames that unpack past the limit";
  }
}

void Master::onAgentFrame(const std::string& peer, std::string_view payload) {
  using schema::AgentEnvelope;
  auto decoded = Decoded::parse(payload, kAgentMessageLimits);
  if (!decoded) return rejectUndecodable(peer, "agent", decoded.error());
  Status status = catchDecode([&] {
    auto envelope = decoded->root<AgentEnvelope>();
    if (envelope.getVersion() != schema::PROTOCOL_VERSION) {
      ctx_.reject("bad_version",
                  "agent " + peer + " speaks version " + std::to_string(envelope.getVersion()));
      return;
    }
    auto which = envelope.which();
    const char* type = agentMessageName(which);
    if (which == AgentEnvelope::REGISTER_AGENT) {
      metrics_.messageIn(kAgentProtocol, type);
      agents_->onRegister(peer, transport_.principal(), envelope.getRegisterAgent());
      return;
    }
    if (which == AgentEnvelope::REREGISTER_AGENT) {
      metrics_.messageIn(kAgentProtocol, type);
      agents_->onReregister(peer, transport_.principal(), envelope.getReregisterAgent());
      return;
    }
    const Agent* agent = agents_->byPeer(peer);
    if (agent == nullptr || agent->status != AgentStatus::kRegistered) {
      ctx_.reject("unregistered_agent", std::string(type) + " from unregistered agent " + peer);
      // Tells the agent to register again (PROTOCOL.md, liveness).
      std::string agentId = agent ? agent->id : "";
      outbox_.toAgent(peer, "ping", [&](AgentEnvelope::Builder out) {
        auto ping = out.initPing();
        ping.setAgentId(agentId);
        ping.setKnown(false);
      });
      return;
    }
    switch (which) {
      case AgentEnvelope::PONG:
        metrics_.messageIn(kAgentProtocol, type);
        agents_->onPong(peer);
        return;
      case AgentEnvelope::STATUS_UPDATE:
        metrics_.messageIn(kAgentProtocol, type);
        tasks_->onStatusUpdate(*agent, envelope.getStatusUpdate());
        return;
      case AgentEnvelope::VOLUMES_DESTROYED:
        metrics_.messageIn(kAgentProtocol, type);
        agents_->onVolumesDestroyed(*agent, envelope.getVolumesDestroyed());
        return;
      default:
        ctx_.reject(std::string(type) == "unknown" ? "unknown_message" : "unexpected_message",
                    std::string(type) + " from agent " + agent->id);
        return;
    }
  });
  if (!status) ctx_.reject("malformed", "agent " + peer + ": " + status.error().message);
}

void Master::onSchedulerFrame(const std::string& peer, std::string_view payload) {
  using schema::Call;
  auto decoded = Decoded::parse(payload, kSchedulerCallLimits);
  if (!decoded) return rejectUndecodable(peer, "scheduler", decoded.error());
  Status status = catchDecode([&] {
    auto call = decoded->root<Call>();
    if (call.getVersion() != schema::PROTOCOL_VERSION) {
      ctx_.reject("bad_version",
                  "scheduler " + peer + " speaks version " + std::to_string(call.getVersion()));
      return;
    }
    auto which = call.which();
    const char* type = callName(which);
    if (which == Call::SUBSCRIBE) {
      metrics_.messageIn(kSchedulerProtocol, type);
      frameworks_->onSubscribe(peer, transport_.principal(), call);
      return;
    }
    std::string frameworkId = call.getFrameworkId();
    const Framework* framework = frameworks_->caller(peer, frameworkId, type);
    if (framework == nullptr) return;
    metrics_.messageIn(kSchedulerProtocol, type);
    switch (which) {
      case Call::ACCEPT:
        operations_->onAccept(*framework, call.getAccept());
        return;
      case Call::DECLINE: {
        std::vector<std::string> offerIds;
        for (auto id : call.getDecline().getOfferIds()) offerIds.emplace_back(id);
        offers_->decline(frameworkId, offerIds,
                         refuseSecondsOf(call.getDecline().getFilters().getRefuseSeconds()));
        return;
      }
      case Call::REVIVE:
        allocator_->revive(frameworkId, textList(call.getRevive()));
        scheduleAllocation();
        return;
      case Call::SUPPRESS:
        allocator_->suppress(frameworkId, textList(call.getSuppress()));
        snapshots_.markChanged();
        return;
      case Call::KILL:
        tasks_->onKill(*framework, call.getKill());
        return;
      case Call::ACKNOWLEDGE:
        tasks_->onAcknowledge(*framework, call.getAcknowledge());
        return;
      case Call::RECONCILE:
        tasks_->onReconcile(*framework, call.getReconcile());
        return;
      case Call::TEARDOWN:
        frameworks_->remove(frameworkId, "torn down by its scheduler");
        return;
      case Call::HEARTBEAT:
        return;
      case Call::MESSAGE:
        ctx_.reject("unsupported_call", "framework messages are not supported yet");
        return;
      default:
        ctx_.reject("unknown_message", "unknown call from scheduler " + peer);
        return;
    }
  });
  if (!status) ctx_.reject("malformed", "scheduler " + peer + ": " + status.error().message);
}

}  // namespace agora::master
