#pragma once
// Small helpers shared by the load drivers.

#include <capnp/message.h>

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
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

// The resident set of `pid` in bytes (VmRSS of /proc/PID/status), 0 if unknown.
inline double residentBytes(pid_t pid) {
  FILE* status = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (status == nullptr) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  }
  std::fclose(status);
  return kb * 1024;
}

// Waits until the resident set of `pid` moves less than `toleranceBytes` in
// 200 ms (allocations settle after a burst; at most 10 s), then returns it.
inline double settledResidentBytes(pid_t pid, double toleranceBytes = 64 * 1024) {
  double last = residentBytes(pid);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    double now = residentBytes(pid);
    if (std::abs(now - last) < toleranceBytes) return now;
    last = now;
  }
  return last;
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
