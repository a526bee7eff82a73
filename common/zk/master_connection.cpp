#include "common/zk/master_connection.hpp"

#include <glog/logging.h>

#include "common/zk/leader_detector.hpp"
#include "common/zk/zk_session.hpp"
#include "common/zk/zk_url.hpp"
#include "common/zmq_transport.hpp"

namespace agora::zk {

Result<std::unique_ptr<MasterConnection>> MasterConnection::create(EventLoop& loop,
                                                                   const std::string& address,
                                                                   const std::string& identity,
                                                                   Duration zkSessionTimeout,
                                                                   std::optional<CurveClientKeys> curve) {
  std::unique_ptr<MasterConnection> connection(new MasterConnection(loop, identity));
  connection->curve_ = std::move(curve);
  if (!isZkUrl(address)) {
    connection->configured_ = address;
    if (Status s = connection->connect(address); !s) return makeError(s.error());
    return connection;
  }
  auto url = parseZkUrl(address);
  if (!url) return makeError(url.error());
  auto session = ZkSession::create(loop, ZkSession::Options{url->servers, zkSessionTimeout});
  if (!session) return makeError(session.error());
  connection->session_ = std::move(*session);
  connection->detector_ = std::make_unique<LeaderDetector>(*connection->session_, url->path);
  connection->detector_->start(
      [c = connection.get()](const std::optional<MasterInfo>& leader) { c->onLeader(leader); });
  LOG(INFO) << "looking for the leading master at " << url->toString();
  return connection;
}

MasterConnection::MasterConnection(EventLoop& loop, std::string identity)
    : loop_(loop), identity_(std::move(identity)) {}

MasterConnection::~MasterConnection() {
  lifetime_.invalidate();
  detector_.reset();
  session_.reset();
}

Status MasterConnection::connect(const std::string& endpoint) {
  auto client = ZmqClient::create(loop_, endpoint, identity_, curve_ ? &*curve_ : nullptr);
  if (!client) return makeError(client.error());
  client_ = std::move(*client);
  client_->setHandler([this](std::string_view protocol, std::string_view payload) {
    if (handler_) handler_(protocol, payload);
  });
  client_->setConnectedHandler([this] {
    if (onConnected_) onConnected_();
  });
  endpoint_ = endpoint;
  return {};
}

void MasterConnection::onLeader(const std::optional<MasterInfo>& leader) {
  // No leader: keep the old connection; the next leader replaces it.
  if (!leader || leader->id == leaderId_) return;
  leaderId_ = leader->id;
  if (leader->endpoint == endpoint_ && client_) {
    // A new master at the same address (restarted): same connection, but
    // the owner must register again.
    LOG(INFO) << "the leading master at " << endpoint_ << " is now " << leader->id;
    if (onLeader_) onLeader_(*leader);
    return;
  }
  client_.reset();
  endpoint_.clear();
  if (Status s = connect(leader->endpoint); !s) {
    LOG(ERROR) << "cannot reach the leading master " << leader->id << ": " << s.error().message;
    leaderId_.clear();
    return;
  }
  LOG(INFO) << "connected to the leading master " << leader->id << " at " << endpoint_;
  if (onLeader_) onLeader_(*leader);
}

bool MasterConnection::send(std::string_view protocol, std::string_view payload) {
  return client_ && client_->send(protocol, payload);
}

void MasterConnection::redirect(const std::string& endpoint) {
  if (detector_ || configured_.empty()) return;
  std::string target = endpoint.empty() ? configured_ : endpoint;
  if (target.rfind("tcp://", 0) != 0 || target == endpoint_) return;
  // Not now: the caller may be running inside the current client's handler.
  loop_.post([this, target, alive = lifetime_.token()] {
    if (!LifetimeGuard::live(alive) || target == endpoint_) return;
    std::string previous = endpoint_;
    client_.reset();
    if (Status s = connect(target); !s) {
      LOG(ERROR) << "cannot follow the master to " << target << ": " << s.error().message;
      if (!connect(previous)) endpoint_.clear();
      return;
    }
    LOG(INFO) << "following the master from " << previous << " to " << target;
  });
}

void MasterConnection::setConnectedHandler(std::function<void()> handler) {
  onConnected_ = std::move(handler);
}

const TransportStats& MasterConnection::stats() const {
  return client_ ? client_->stats() : idleStats_;
}

}  // namespace agora::zk
