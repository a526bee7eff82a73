#include "common/zmq_transport.hpp"

#include <glog/logging.h>

#include <array>
#include <zmq_addon.hpp>

namespace agora {

namespace {

constexpr int kHighWaterMark = 200000;

void setCommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
  socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxMessageBytes + 4096));
  socket.set(zmq::sockopt::heartbeat_ivl, 2000);
  socket.set(zmq::sockopt::heartbeat_timeout, 10000);
  socket.set(zmq::sockopt::heartbeat_ttl, 10000);
}

// Receives every part of one multipart message; returns false when none is waiting.
bool receiveParts(zmq::socket_t& socket, std::vector<zmq::message_t>& parts) {
  parts.clear();
  auto result = zmq::recv_multipart(socket, std::back_inserter(parts), zmq::recv_flags::dontwait);
  return result.has_value();
}

}  // namespace

zmq::context_t& zmqContext() {
  static zmq::context_t* context = new zmq::context_t(1);  // never destroyed: sockets may outlive statics
  return *context;
}

Result<std::unique_ptr<ZmqServer>> ZmqServer::create(EventLoop& loop, const std::string& endpoint) {
  try {
    zmq::socket_t socket(zmqContext(), zmq::socket_type::router);
    setCommonOptions(socket);
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::router_handover, 1);
    socket.bind(endpoint);
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<ZmqServer>(new ZmqServer(loop, std::move(socket), bound));
  } catch (const zmq::error_t& e) {
    return makeError(ErrorCode::kUnavailable, "cannot bind " + endpoint + ": " + e.what());
  }
}

ZmqServer::ZmqServer(EventLoop& loop, zmq::socket_t socket, std::string endpoint)
    : loop_(loop), socket_(std::move(socket)), endpoint_(std::move(endpoint)) {
  loop_.addSocket(socket_, [this] { onReadable(); });
}

ZmqServer::~ZmqServer() { loop_.removeSocket(socket_); }

bool ZmqServer::send(const std::string& peer, std::string_view protocol, std::string_view payload) {
  try {
    std::array<zmq::const_buffer, 3> parts = {zmq::buffer(peer), zmq::buffer(protocol),
                                              zmq::buffer(payload)};
    auto sent = zmq::send_multipart(socket_, parts, zmq::send_flags::dontwait);
    if (!sent) {
      stats_.sendFailures++;
      return false;
    }
    stats_.framesOut++;
    stats_.bytesOut += payload.size();
    return true;
  } catch (const zmq::error_t& e) {
    stats_.sendFailures++;
    VLOG(1) << "send to " << peer << " failed: " << e.what();
    return false;
  }
}

void ZmqServer::onReadable() {
  std::vector<zmq::message_t> parts;
  // Bounded batch so one busy socket cannot starve timers and other sockets.
  for (int i = 0; i < 1024; ++i) {
    bool got = false;
    try {
      got = receiveParts(socket_, parts);
    } catch (const zmq::error_t& e) {
      LOG(WARNING) << "receive on " << endpoint_ << " failed: " << e.what();
      stats_.malformedFrames++;
      continue;
    }
    if (!got) return;
    if (parts.size() != 3 || parts[2].size() > kMaxMessageBytes) {
      stats_.malformedFrames++;
      LOG_EVERY_N(WARNING, 100) << "dropping malformed frame (" << parts.size() << " parts) from "
                                << (parts.empty() ? "?" : parts[0].to_string());
      continue;
    }
    stats_.framesIn++;
    stats_.bytesIn += parts[2].size();
    if (handler_) handler_(parts[0].to_string(), parts[1].to_string_view(), parts[2].to_string_view());
  }
  // More may be waiting: come back after other work.
  loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.lock()) onReadable();
  });
}

Result<std::unique_ptr<ZmqClient>> ZmqClient::create(EventLoop& loop, const std::string& endpoint,
                                                     const std::string& identity) {
  try {
    zmq::socket_t socket(zmqContext(), zmq::socket_type::dealer);
    setCommonOptions(socket);
    socket.set(zmq::sockopt::routing_id, identity);
    socket.set(zmq::sockopt::reconnect_ivl, 100);
    socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
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

ZmqClient::~ZmqClient() { loop_.removeSocket(socket_); }

bool ZmqClient::send(std::string_view protocol, std::string_view payload) {
  try {
    std::array<zmq::const_buffer, 2> parts = {zmq::buffer(protocol), zmq::buffer(payload)};
    auto sent = zmq::send_multipart(socket_, parts, zmq::send_flags::dontwait);
    if (!sent) {
      stats_.sendFailures++;
      return false;
    }
    stats_.framesOut++;
    stats_.bytesOut += payload.size();
    return true;
  } catch (const zmq::error_t& e) {
    stats_.sendFailures++;
    return false;
  }
}

void ZmqClient::onReadable() {
  std::vector<zmq::message_t> parts;
  for (int i = 0; i < 1024; ++i) {
    bool got = false;
    try {
      got = receiveParts(socket_, parts);
    } catch (const zmq::error_t& e) {
      stats_.malformedFrames++;
      continue;
    }
    if (!got) return;
    if (parts.size() != 2 || parts[1].size() > kMaxMessageBytes) {
      stats_.malformedFrames++;
      continue;
    }
    stats_.framesIn++;
    stats_.bytesIn += parts[1].size();
    if (handler_) handler_(parts[0].to_string_view(), parts[1].to_string_view());
  }
  loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.lock()) onReadable();
  });
}

}  // namespace agora
