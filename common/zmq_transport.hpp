#pragma once
// ZeroMQ transport: the server binds a ROUTER, clients connect DEALERs with a
// stable identity. Frames on the wire: [protocol][payload] (the ROUTER adds
// the peer identity). ZMTP heartbeats detect dead TCP peers (not used over
// ipc, where the kernel closes a dead peer's socket); clients reconnect on
// their own. Application-level liveness (pings) is the protocols' job.

#include <map>
#include <memory>
#include <zmq.hpp>

#include "common/curve.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"

namespace agora {

// The process-wide ZeroMQ context.
zmq::context_t& zmqContext();
// Caps the process's ZeroMQ sockets (default: its descriptor limit). The
// context keeps a slot per possible socket (8 bytes each, written when it
// starts): a process needing a handful, such as an executor, should say so
// before its first socket. No effect once the context exists.
void limitZmqSockets(int maxSockets);

// True for a non-empty identity of printable ASCII without spaces: the only
// peers a ZmqServer serves.
bool printableIdentity(std::string_view identity);

// CurveZMQ (common/curve.hpp) for a server: its key pair, and the public
// keys allowed to connect with their principals. A peer with another key, or
// none, is refused in the handshake: none of its frames reaches the handler.
struct CurveServerKeys {
  CurveKeyPair keys;
  std::map<std::string, std::string> allowed;  // public key -> principal
};
// For a client: its key pair and the server's public key (pinned: a server
// with another key is never talked to).
struct CurveClientKeys {
  CurveKeyPair keys;
  std::string serverKey;
};
// Makes `socket` a CURVE client with `keys`. REQUIRES: before connect().
void setCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

class ZmqServer final : public ServerTransport {
 public:
  // endpoint: "tcp://127.0.0.1:5055", "tcp://127.0.0.1:0" (any free port) or "ipc://PATH".
  // With `curve`, every link is encrypted and only its allowed keys connect.
  static Result<std::unique_ptr<ZmqServer>> create(EventLoop& loop, const std::string& endpoint,
                                                   const CurveServerKeys* curve = nullptr);
  ~ZmqServer() override;
  // CURVE only: replaces the allowed keys (links already up stay).
  void allow(std::map<std::string, std::string> keys);
  // CURVE only: handshakes refused so far (unknown key, or not CURVE).
  uint64_t refusedHandshakes() const;

  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  std::string principal() const override;
  bool send(const std::string& peer, std::string_view protocol, std::string_view payload) override;
  // The bound endpoint, with the real port when bound to port 0.
  std::string endpoint() const override { return endpoint_; }
  const TransportStats& stats() const override { return stats_; }

 private:
  ZmqServer(EventLoop& loop, zmq::socket_t socket, std::string endpoint, std::string domain);
  void onReadable();

  EventLoop& loop_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string domain_;     // its ZAP domain with CURVE; empty without
  // The frame being handled (its ZAP user id is read only when asked).
  zmq::message_t* current_ = nullptr;
  Handler handler_;
  TransportStats stats_;
  // Shared with callbacks posted to the loop so they can tell the transport is gone.
  LifetimeGuard lifetime_;
};

class ZmqClient final : public ClientTransport {
 public:
  static Result<std::unique_ptr<ZmqClient>> create(EventLoop& loop, const std::string& endpoint,
                                                   const std::string& identity,
                                                   const CurveClientKeys* curve = nullptr);
  ~ZmqClient() override;

  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  bool send(std::string_view protocol, std::string_view payload) override;
  const std::string& identity() const override { return identity_; }
  const TransportStats& stats() const override { return stats_; }
  // Called on each completed ZMTP handshake after this call (a socket
  // monitor, started by the first call).
  void setConnectedHandler(std::function<void()> handler) override;

 private:
  ZmqClient(EventLoop& loop, zmq::socket_t socket, std::string identity);
  void onReadable();
  void onMonitorEvent();

  EventLoop& loop_;
  zmq::socket_t socket_;
  // PAIR socket receiving socket_'s monitor events; null until asked for.
  std::unique_ptr<zmq::socket_t> monitor_;
  std::string identity_;
  Handler handler_;
  std::function<void()> onConnected_;
  TransportStats stats_;
  // Shared with callbacks posted to the loop so they can tell the transport is gone.
  LifetimeGuard lifetime_;
};

}  // namespace agora
