#pragma once
// The executor's link to its agent while its container starts. The ZeroMQ
// link starts threads and a handshake with the agent, milliseconds that a
// launch need not wait for: until attach(), each frame is written at once to
// the start socket the agent handed over at the executor's start (one
// SOCK_SEQPACKET message per frame, executor protocol only) and kept, and
// attach() replays the kept frames in order on the real link, which carries
// everything from then on. The agent takes status updates from the start
// socket without acknowledging them; it acknowledges their replay (the same
// uuids: the duplicates are dropped). Registration and everything the agent
// sends go over the real link only.
//
// Thread: the executor's loop thread.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/transport.hpp"

namespace agora::agent {

class StartLink : public ClientTransport {
 public:
  // startFd: the start socket, owned from here (-1: none, frames are only
  // kept); identity: the real link's, until it is attached.
  StartLink(int startFd, std::string identity);
  ~StartLink() override;
  StartLink(const StartLink&) = delete;
  StartLink& operator=(const StartLink&) = delete;

  // Replays the kept frames on `link`, which must outlive this object, and
  // closes the start socket.
  void attach(ClientTransport& link);
  bool attached() const { return link_ != nullptr; }

  void setHandler(Handler handler) override;
  bool send(std::string_view protocol, std::string_view payload) override;
  const std::string& identity() const override;
  const TransportStats& stats() const override;
  void setConnectedHandler(std::function<void()> handler) override;

 private:
  void closeStartFd();

  int fd_;
  std::string identity_;
  ClientTransport* link_ = nullptr;
  Handler handler_;
  std::function<void()> connected_;
  std::vector<std::pair<std::string, std::string>> kept_;  // (protocol, payload)
  TransportStats stats_;
};

}  // namespace agora::agent
