#pragma once
// Small helpers shared by the load drivers.

#include <capnp/message.h>

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
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

// CPU seconds (user + system) a process has used, from /proc/PID/stat, or
// one of its threads with `tid` (the main thread's tid is the pid); 0 if
// unknown.
inline double cpuSeconds(pid_t pid, pid_t tid = 0) {
  std::string path = "/proc/" + std::to_string(pid) +
                     (tid != 0 ? "/task/" + std::to_string(tid) : std::string()) + "/stat";
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return 0;
  char text[1024];
  size_t size = std::fread(text, 1, sizeof(text) - 1, file);
  std::fclose(file);
  text[size] = '\0';
  // The fields after the command (in parentheses, which may hold spaces):
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime.
  const char* after = std::strrchr(text, ')');
  unsigned long long utime = 0, stime = 0;
  if (after == nullptr ||
      std::sscanf(after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
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
