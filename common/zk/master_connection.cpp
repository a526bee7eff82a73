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
                                                                   Duration zkSessionTimeout) {
  std::unique_ptr<MasterConnection> connection(new MasterConnection(loop, identity));
  if (!isZkUrl(address)) {
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
  detector_.reset();
  session_.reset();
}

Status MasterConnection::connect(const std::string& endpoint) {
  auto client = ZmqClient::create(loop_, endpoint, identity_);
  if (!client) return makeError(client.error());
  client_ = std::move(*client);
  client_->setHandler([this](std::string_view protocol, std::string_view payload) {
    if (handler_) handler_(protocol, payload);
  });
  endpoint_ = endpoint;
  return {};
}

void MasterConnection::onLeader(const std::optional<MasterInfo>& leader) {
  // No leader: keep the old connection; the next leader replaces it.
  if (!leader || leader->endpoint == endpoint_) return;
  client_.reset();
  endpoint_.clear();
  if (Status s = connect(leader->endpoint); !s) {
    LOG(ERROR) << "cannot reach the leading master " << leader->id << ": " << s.error().message;
    return;
  }
  LOG(INFO) << "connected to the leading master " << leader->id << " at " << endpoint_;
  if (onLeader_) onLeader_(*leader);
}

bool MasterConnection::send(std::string_view protocol, std::string_view payload) {
  return client_ && client_->send(protocol, payload);
}

const TransportStats& MasterConnection::stats() const {
  return client_ ? client_->stats() : idleStats_;
}

}  // namespace agora::zk
