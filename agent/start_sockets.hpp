#pragma once
// The start sockets of an agent's executors: one SOCK_SEQPACKET pair per
// launch, the executor's end handed over with its start (ContainerConfig::
// startFd). An executor writes its first frames there while its ZeroMQ link
// is still starting (agent/executor/start_link.hpp); each message is one
// executor-protocol frame. A socket is closed at end-of-file (the executor's
// link is up), when its container ends, or by close().
//
// Thread: the agent's loop thread.

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace agora::agent {

class StartSockets {
 public:
  using Handler = std::function<void(const std::string& containerId, std::string_view frame)>;
  // Frames read at most per wake-up of one socket (the loop comes back).
  static constexpr int kFramesPerWakeup = 16;
  static constexpr size_t kMaxFrameBytes = 64 * 1024;

  StartSockets(EventLoop& loop, Handler handler);
  ~StartSockets();
  StartSockets(const StartSockets&) = delete;
  StartSockets& operator=(const StartSockets&) = delete;

  // A new pair for the container, which must have none; returns the
  // executor's end (close-on-exec), for the caller to close once passed on.
  Result<int> open(const std::string& containerId);
  // No-op for a container without a socket.
  void close(const std::string& containerId);
  size_t size() const { return fds_.size(); }
  // Frames dropped as larger than kMaxFrameBytes.
  uint64_t oversized() const { return oversized_; }

 private:
  void onReadable(std::string containerId, int fd);

  EventLoop& loop_;
  Handler handler_;
  std::map<std::string, int> fds_;  // by container ID: the agent's end
  std::string buffer_;
  uint64_t oversized_ = 0;
};

}  // namespace agora::agent
