#pragma once
// Who holds a TCP port: for a test that could not bind one (EADDRINUSE),
// the sockets bound to it and the processes that have them open, read from
// the kernel's tables (/proc/net/tcp{,6} of the port's network namespace,
// then every /proc/PID/fd). Root sees every process; others only their own.
//
// Typical use, after a daemon failed to listen:
//   LOG(ERROR) << describePortHolders(port, link->namespacePath());
//   // "port 48541: LISTEN 10.254.0.2:48541 inode 123 held by pid 4242
//   //  (agora-executor --launch-file ...)"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace agora::testing {

struct PortSocket {
  std::string state;    // "LISTEN", "ESTABLISHED", "TIME_WAIT", ...
  std::string local;    // "10.254.0.2:48541"
  uint64_t inode = 0;   // 0 for sockets no process owns (TIME_WAIT)
  std::vector<pid_t> holders;
};

// The sockets bound to local `port` in the network namespace at
// `netnsPath` ("": this process's). Empty when none, or when the tables
// cannot be read.
std::vector<PortSocket> portSockets(uint16_t port, const std::string& netnsPath = "");

// One line per socket, with each holder's pid and command line; says so
// when nothing holds the port.
std::string describePortHolders(uint16_t port, const std::string& netnsPath = "");

}  // namespace agora::testing
