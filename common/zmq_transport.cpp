#include "common/zmq_transport.hpp"

#include <glog/logging.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <zmq_addon.hpp>

namespace agora {

namespace {

constexpr int kHighWaterMark = 200000;
constexpr int kListenBacklog = 4096;

void setCommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
  socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxMessageBytes + 4096));
}

// ZMTP heartbeats run only from the client: it PINGs every 2 s and
// reconnects when nothing came back for 10 s. The server neither PINGs nor
// asks for a TTL: libzmq 4.3 cancels a connection's heartbeat timers on
// every frame it receives by scanning all of its I/O thread's timers
// (poller_base_t::cancel_timer is linear), so heartbeat timers on a server
// with N peers cost O(N^2) per heartbeat interval: 40-55% of a core for
// 4,000 idle peers, and at 10,000 it could no longer accept connections in
// time. Without them the server only answers PINGs, linear in N (5% of a
// core for 4,000 idle peers; tests/common/zmq_many_peers_test.cpp). A peer
// that vanishes is noticed by the protocols' own pings; the kernel closes
// its connection: keepalive probes after 30 s idle, and no more than 45 s of
// unacknowledged data (TCP_USER_TIMEOUT).
void setClientHeartbeats(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::heartbeat_ivl, 2000);
  socket.set(zmq::sockopt::heartbeat_timeout, 10000);
}

void setServerKeepalive(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::tcp_keepalive, 1);
  socket.set(zmq::sockopt::tcp_keepalive_idle, 30);
  socket.set(zmq::sockopt::tcp_keepalive_intvl, 5);
  socket.set(zmq::sockopt::tcp_keepalive_cnt, 3);
  socket.set(zmq::sockopt::tcp_maxrt, 45000);
}

template <size_t N>
bool sendParts(zmq::socket_t& socket, const std::array<zmq::const_buffer, N>& parts,
               size_t payloadBytes, TransportStats& stats) {
  try {
    if (!zmq::send_multipart(socket, parts, zmq::send_flags::dontwait)) {
      stats.sendFailures++;
      return false;
    }
  } catch (const zmq::error_t& e) {
    stats.sendFailures++;
    VLOG(1) << "send failed: " << e.what();
    return false;
  }
  stats.framesOut++;
  stats.bytesOut += payloadBytes;
  return true;
}

// Hands each well-formed message (exactly `expectedParts` parts, payload last
// and within kMaxMessageBytes) to onMessage; counts the rest as malformed.
// Stops after a bounded batch (kDrainBatch frames, or kDrainBudget of the
// loop's time) so one busy socket cannot starve timers and other sockets;
// returns true when it stopped early (more may be waiting).
constexpr int kDrainBatch = 1024;
constexpr Duration kDrainBudget = std::chrono::milliseconds(2);

template <class OnMessage>
bool drain(const Clock& clock, zmq::socket_t& socket, size_t expectedParts, TransportStats& stats,
           const OnMessage& onMessage) {
  std::vector<zmq::message_t> parts;
  TimePoint start = clock.now();
  for (int i = 0; i < kDrainBatch; ++i) {
    if (i % 16 == 15 && clock.now() - start >= kDrainBudget) return true;
    parts.clear();
    try {
      if (!zmq::recv_multipart(socket, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        return false;
      }
    } catch (const zmq::error_t& e) {
      LOG_EVERY_N(WARNING, 100) << "receive failed: " << e.what();
      stats.malformedFrames++;
      continue;
    }
    if (parts.size() != expectedParts || parts.back().size() > kMaxMessageBytes) {
      stats.malformedFrames++;
      LOG_EVERY_N(WARNING, 100) << "dropping malformed frame of " << parts.size() << " parts";
      continue;
    }
    stats.framesIn++;
    stats.bytesIn += parts.back().size();
    onMessage(parts);
  }
  return true;
}

}  // namespace

bool printableIdentity(std::string_view identity) {
  if (identity.empty()) return false;
  return std::all_of(identity.begin(), identity.end(),
                     [](char c) { return c >= 0x21 && c <= 0x7e; });
}

namespace {

int socketLimit = 0;  // limitZmqSockets(); 0: the descriptor limit

// ZeroMQ allows 1023 sockets per context by default; a process may want as
// many as its descriptor limit allows (each socket costs at least one).
zmq::context_t* newContext() {
  auto* context = new zmq::context_t(1);
  if (socketLimit > 0) {
    context->set(zmq::ctxopt::max_sockets, socketLimit);
    return context;
  }
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
      files.rlim_cur > 1024) {
    int limit = static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20));
    try {
      context->set(zmq::ctxopt::max_sockets, limit);
    } catch (const zmq::error_t& e) {
      LOG(WARNING) << "cannot raise ZeroMQ's socket limit to " << limit << ": " << e.what();
    }
  }
  return context;
}

}  // namespace

void limitZmqSockets(int maxSockets) { socketLimit = maxSockets; }

zmq::context_t& zmqContext() {
  static zmq::context_t* context = newContext();  // never destroyed: sockets may outlive statics
  return *context;
}

Result<std::unique_ptr<ZmqServer>> ZmqServer::create(EventLoop& loop, const std::string& endpoint,
                                                     const CurveServerKeys* curve) {
  static std::atomic<uint64_t> servers{0};
  try {
    zmq::socket_t socket(zmqContext(), zmq::socket_type::router);
    setCommonOptions(socket);
    std::string domain;
    if (curve != nullptr) {
      domain = "agora-server-" + std::to_string(++servers);
      CurveAuthenticator::instance().allow(domain, curve->allowed);
      socket.set(zmq::sockopt::curve_server, 1);
      socket.set(zmq::sockopt::curve_secretkey, curve->keys.secretKey);
      socket.set(zmq::sockopt::zap_domain, domain);
    }
    setServerKeepalive(socket);
    // Thousands of agents reconnect at once after a master restart; with
    // libzmq's default of 100 pending connections the kernel dropped their
    // SYNs and each waited for its retransmission (1 s, then 3 s, 7 s...).
    // The kernel caps this at net.core.somaxconn.
    socket.set(zmq::sockopt::backlog, kListenBacklog);
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::router_handover, 1);
    socket.bind(endpoint);
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<ZmqServer>(
        new ZmqServer(loop, std::move(socket), std::move(bound), std::move(domain)));
  } catch (const zmq::error_t& e) {
    return makeError(ErrorCode::kUnavailable, "cannot bind " + endpoint + ": " + e.what());
  }
}

ZmqServer::ZmqServer(EventLoop& loop, zmq::socket_t socket, std::string endpoint,
                     std::string domain)
    : loop_(loop),
      socket_(std::move(socket)),
      endpoint_(std::move(endpoint)),
      domain_(std::move(domain)) {
  loop_.addSocket(socket_, [this] { onReadable(); });
}

ZmqServer::~ZmqServer() {
  loop_.removeSocket(socket_);
  if (!domain_.empty()) CurveAuthenticator::instance().forget(domain_);
}

void ZmqServer::allow(std::map<std::string, std::string> keys) {
  if (!domain_.empty()) CurveAuthenticator::instance().allow(domain_, std::move(keys));
}

std::string ZmqServer::principal() const {
  if (domain_.empty() || current_ == nullptr) return {};
  // ZAP's user id for the connection, carried by each of its messages.
  try {
    const char* user = current_->gets("User-Id");
    return user != nullptr ? user : "";
  } catch (const zmq::error_t&) {
    return {};
  }
}

uint64_t ZmqServer::refusedHandshakes() const {
  return domain_.empty() ? 0 : CurveAuthenticator::instance().refused(domain_);
}

bool ZmqServer::send(const std::string& peer, std::string_view protocol, std::string_view payload) {
  std::array<zmq::const_buffer, 3> parts = {zmq::buffer(peer), zmq::buffer(protocol),
                                            zmq::buffer(payload)};
  return sendParts(socket_, parts, payload.size(), stats_);
}

void ZmqServer::onReadable() {
  bool more = drain(loop_.clock(), socket_, 3, stats_, [this](std::vector<zmq::message_t>& parts) {
    if (!printableIdentity(parts[0].to_string_view())) {
      // Peer identities end up in logs and in the HTTP API: one with control
      // bytes could forge log lines. Every Agora client names itself in
      // printable ASCII; ZeroMQ's own (a zero byte and four random ones)
      // never reaches us because clients always set one.
      stats_.malformedFrames++;
      LOG_EVERY_N(WARNING, 100) << "dropping a frame from a peer whose identity is not printable";
      return;
    }
    current_ = &parts[2];
    if (handler_) {
      handler_(parts[0].to_string(), parts[1].to_string_view(), parts[2].to_string_view());
    }
    current_ = nullptr;
  });
  // More may be waiting: come back after other work.
  if (more) {
    loop_.post(lifetime_.wrap([this] { onReadable(); }));
  }
}

void setCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.serverKey);
  socket.set(zmq::sockopt::curve_publickey, keys.keys.publicKey);
  socket.set(zmq::sockopt::curve_secretkey, keys.keys.secretKey);
}

Result<std::unique_ptr<ZmqClient>> ZmqClient::create(EventLoop& loop, const std::string& endpoint,
                                                     const std::string& identity,
                                                     const CurveClientKeys* curve) {
  try {
    zmq::socket_t socket(zmqContext(), zmq::socket_type::dealer);
    setCommonOptions(socket);
    if (curve != nullptr) setCurveClient(socket, *curve);
    // A local ipc socket cannot be left half-open: the kernel closes it when
    // its peer dies. ZMTP heartbeats over it would only wake both ends (an
    // agent with 1,000 executors answered 500 PINGs a second).
    bool local = endpoint.rfind("ipc://", 0) == 0;
    if (!local) setClientHeartbeats(socket);
    socket.set(zmq::sockopt::routing_id, identity);
    socket.set(zmq::sockopt::reconnect_ivl, 100);
    // Over tcp, back off to 2 s between attempts. A local ipc socket is cheap
    // to retry and its server (the agent, for executors) is expected back
    // soon after a restart: retry every 100 ms without backoff.
    socket.set(zmq::sockopt::reconnect_ivl_max, local ? 0 : 2000);
    socket.connect(endpoint);
    return std::unique_ptr<ZmqClient>(new ZmqClient(loop, std::move(socket), identity));
  } catch (const zmq::error_t& e) {
    return makeError(ErrorCode::kUnavailable, "cannot connect to " + endpoint + ": " + e.what());
  }
}

ZmqClient::ZmqClient(EventLoop& loop, zmq::socket_t socket, std::string identity)
    : loop_(loop), socket_(std::move(socket)), identity_(std::move(identity)) {
  loop_.addSocket(socket_, [this] { onReadable(); });
}

ZmqClient::~ZmqClient() {
  if (monitor_) {
    loop_.removeSocket(*monitor_);
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
  }
  loop_.removeSocket(socket_);
}

void ZmqClient::setConnectedHandler(std::function<void()> handler) {
  onConnected_ = std::move(handler);
  if (monitor_ || !onConnected_) return;
  // Handshake events tell the owner that a (re)connection is up. Only
  // clients that ask pay for the monitor's extra socket.
  static std::atomic<uint64_t> monitors{0};
  std::string address = "inproc://agora-client-monitor-" + std::to_string(monitors++);
  try {
    if (zmq_socket_monitor(socket_.handle(), address.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
      throw zmq::error_t();
    }
    auto monitor = std::make_unique<zmq::socket_t>(zmqContext(), zmq::socket_type::pair);
    monitor->set(zmq::sockopt::linger, 0);
    monitor->connect(address);
    monitor_ = std::move(monitor);
    loop_.addSocket(*monitor_, [this] { onMonitorEvent(); });
  } catch (const zmq::error_t& e) {
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
    LOG(ERROR) << "cannot watch the connection of " << identity_ << ": " << e.what()
               << "; reconnections are noticed only by the protocol's timeouts";
  }
}

void ZmqClient::onMonitorEvent() {
  // Each event is two frames: [uint16 event, uint32 value][endpoint].
  bool connected = false;
  for (int i = 0; i < 64; ++i) {
    std::vector<zmq::message_t> parts;
    try {
      if (!zmq::recv_multipart(*monitor_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        break;
      }
    } catch (const zmq::error_t& e) {
      LOG_EVERY_N(WARNING, 100) << "monitor receive failed: " << e.what();
      break;
    }
    uint16_t event = 0;
    if (!parts.empty() && parts[0].size() >= sizeof(event)) {
      std::memcpy(&event, parts[0].data(), sizeof(event));
    }
    connected = connected || event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
  }
  if (connected && onConnected_) onConnected_();
}

bool ZmqClient::send(std::string_view protocol, std::string_view payload) {
  std::array<zmq::const_buffer, 2> parts = {zmq::buffer(protocol), zmq::buffer(payload)};
  return sendParts(socket_, parts, payload.size(), stats_);
}

void ZmqClient::onReadable() {
  bool more = drain(loop_.clock(), socket_, 2, stats_, [this](std::vector<zmq::message_t>& parts) {
    if (handler_) handler_(parts[0].to_string_view(), parts[1].to_string_view());
  });
  if (more) {
    loop_.post(lifetime_.wrap([this] { onReadable(); }));
  }
}

}  // namespace agora
