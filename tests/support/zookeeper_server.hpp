#pragma once
// A real ZooKeeper server for tests: standalone, on a free port of a local
// address (loopback by default, or an address of the test's own network
// namespace setup), its data in a directory the caller owns; SIGKILLed and
// reaped on destruction.

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/cluster.hpp"

namespace agora::testing {

class ZooKeeperServer {
 public:
  // False (with the reason) when ZooKeeper or Java is not installed.
  static bool available(std::string* why);

  // Starts ZooKeeper with its files under `dir` and waits until it answers
  // `ruok`. tickTime is 100 ms so sessions as short as 0.2 s are granted.
  // It listens on `host` only (an IPv4 address of this host).
  // Throws std::runtime_error when it does not come up.
  explicit ZooKeeperServer(const std::string& dir, std::string host = "127.0.0.1");
  ~ZooKeeperServer();

  // "HOST:PORT"
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  std::string url(const std::string& path) const { return "zk://" + address() + path; }
  bool ruok() const;
  // SIGKILL: every client loses its connection; nothing expires until restart.
  void kill();
  // Starts again on the same port and data (sessions survive if within their timeout).
  void restart();

 private:
  void start();

  std::string dir_;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<Child> process_;
};

}  // namespace agora::testing
