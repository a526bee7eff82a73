#pragma once
// Message transport between components. A server (the master, or an agent for
// its executors) binds and talks to many identified peers; a client connects
// to one server with a stable identity. Each message is a protocol tag
// ("agora.agent.v1", ...) and one opaque payload (a packed Cap'n Proto
// message). Handlers run on the owning EventLoop's thread.
//
// Implementations: ZeroMQ (zmq_transport.hpp) and an in-process fake
// (fake_transport.hpp) for unit tests.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agora {

inline constexpr std::string_view kAgentProtocol = "agora.agent.v1";
inline constexpr std::string_view kSchedulerProtocol = "agora.scheduler.v1";
inline constexpr std::string_view kExecutorProtocol = "agora.executor.v1";

// Largest payload accepted; bigger frames are dropped and counted.
inline constexpr size_t kMaxMessageBytes = 16 << 20;

struct TransportStats {
  std::atomic<uint64_t> framesIn{0};
  std::atomic<uint64_t> framesOut{0};
  std::atomic<uint64_t> bytesIn{0};
  std::atomic<uint64_t> bytesOut{0};
  std::atomic<uint64_t> malformedFrames{0};  // wrong frame count, oversized
  std::atomic<uint64_t> sendFailures{0};     // unknown peer, queue full
};

class ServerTransport {
 public:
  using Handler =
      std::function<void(const std::string& peer, std::string_view protocol, std::string_view payload)>;
  virtual ~ServerTransport() = default;
  virtual void setHandler(Handler handler) = 0;
  // Inside the handler: the authenticated principal the frame came from
  // (CurveZMQ's ZAP user id, e.g. "agent:rack1-07"); empty on links without
  // authentication.
  virtual std::string principal() const { return {}; }
  // False when the peer is unknown or its queue is full (the message is dropped).
  virtual bool send(const std::string& peer, std::string_view protocol, std::string_view payload) = 0;
  virtual std::string endpoint() const = 0;
  virtual const TransportStats& stats() const = 0;
};

class ClientTransport {
 public:
  using Handler = std::function<void(std::string_view protocol, std::string_view payload)>;
  virtual ~ClientTransport() = default;
  virtual void setHandler(Handler handler) = 0;
  // Inside the handler: the authenticated principal the frame came from
  // (CurveZMQ's ZAP user id, e.g. "agent:rack1-07"); empty on links without
  // authentication.
  virtual std::string principal() const { return {}; }
  // Queues the message; delivery happens once connected. False if dropped.
  virtual bool send(std::string_view protocol, std::string_view payload) = 0;
  virtual const std::string& identity() const = 0;
  virtual const TransportStats& stats() const = 0;
  // Runs on the loop each time a connection to the server is established,
  // the first one and every reconnection (e.g. to a restarted server), so the
  // owner can register again at once instead of waiting for a timeout.
  // Transports without connections (the in-process fake) never call it.
  virtual void setConnectedHandler(std::function<void()> handler) { (void)handler; }
};

// A random identity such as "agent-3f9c0a1b2c3d4e5f".
std::string randomIdentity(const std::string& prefix);
// 16 random bytes (status update UUIDs) and their hex form.
std::string randomUuidBytes();
std::string hexEncode(std::string_view bytes);

}  // namespace agora
