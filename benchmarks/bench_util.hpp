#pragma once
// Small helpers shared by the load drivers.

#include <capnp/message.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/codec.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora::bench {

inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// A free loopback TCP port, found through a throwaway ZeroMQ bind.
inline uint16_t pickPort() {
  zmq::socket_t s(zmqContext(), zmq::socket_type::router);
  s.bind("tcp://127.0.0.1:*");
  std::string endpoint = s.get(zmq::sockopt::last_endpoint);
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// Sends one scheduler call for `frameworkId` (empty before SUBSCRIBED).
inline void sendCall(ClientTransport& client, const std::string& frameworkId,
                     const std::function<void(schema::Call::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto call = message.initRoot<schema::Call>();
  call.setVersion(schema::PROTOCOL_VERSION);
  call.setFrameworkId(frameworkId);
  fill(call);
  client.send(kSchedulerProtocol, encodePacked(message));
}

}  // namespace agora::bench
