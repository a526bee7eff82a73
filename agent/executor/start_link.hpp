#pragma once
// The executor's link to its agent while its container starts. The ZeroMQ
// link starts threads and a handshake with the agent, milliseconds that a
// launch need not wait for: until attach(), each frame is written at once to
// the start socket the agent handed over at the executor's start (one
// SOCK_SEQPACKET message per frame, executor protocol only; a frame the
// socket cannot take is dropped), and the real link carries everything from
// then on. The agent takes status updates from the start socket without
// acknowledging them, so the executor resends them on the real link once it
// is attached (Executor::resync); the agent drops the duplicates by uuid.
// Registration and everything the agent sends go over the real link only.
//
// Thread: the executor's loop thread.

#include <functional>
#include <string>

#include "common/transport.hpp"

namespace agora::agent {

class StartLink : public ClientTransport {
 public:
  // startFd: the start socket, owned from here (-1: none, frames are
  // dropped); identity: the real link's, until it is attached.
  StartLink(int startFd, std::string identity);
  ~StartLink() override;
  StartLink(const StartLink&) = delete;
  StartLink& operator=(const StartLink&) = delete;

  // Sends everything from now on over `link`, which must outlive this
  // object, moves the handlers there and closes the start socket.
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
  TransportStats stats_;
};

}  // namespace agora::agent
