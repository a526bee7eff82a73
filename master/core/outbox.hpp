#pragma once
// Where the master's messages leave: one Cap'n Proto frame per message to an
// agent or a scheduler, counted by type. Loop thread only.

#include <functional>
#include <string>

#include "common/transport.hpp"
#include "master/core/master_metrics.hpp"
#include "master/core/records.hpp"
#include "schemas/master_agent.capnp.h"
#include "schemas/scheduler.capnp.h"

namespace agora::master {

class Outbox {
 public:
  // REQUIRES: transport and metrics outlive it.
  Outbox(ServerTransport& transport, MasterMetrics& metrics)
      : transport_(transport), metrics_(metrics) {}

  // False when the peer is not connected (its connection closed).
  bool toAgent(const std::string& peer, const char* type,
               const std::function<void(schema::AgentEnvelope::Builder)>& fill);
  void toScheduler(const std::string& peer, const char* type,
                   const std::function<void(schema::Event::Builder)>& fill);
  // An ERROR event: the scheduler's call was refused, and why.
  void schedulerError(const std::string& peer, const std::string& message);
  // A task's status update to a connected framework; dropped for a
  // disconnected one (the agent resends reliable updates).
  void update(const Framework& framework, const TaskStatus& status);

 private:
  ServerTransport& transport_;
  MasterMetrics& metrics_;
};

}  // namespace agora::master
