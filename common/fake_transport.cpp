#include "common/fake_transport.hpp"

#include <glog/logging.h>

namespace agora {

FakeNetwork::~FakeNetwork() { lifetime_.invalidate(); }

std::unique_ptr<FakeServer> FakeNetwork::bind(const std::string& endpoint) {
  CHECK(!servers_.count(endpoint)) << "endpoint in use: " << endpoint;
  return std::make_unique<FakeServer>(*this, endpoint);
}

std::unique_ptr<FakeClient> FakeNetwork::connect(const std::string& endpoint,
                                                 const std::string& identity) {
  return std::make_unique<FakeClient>(*this, endpoint, identity);
}

void FakeNetwork::deliverToServer(const std::string& endpoint, const std::string& from,
                                  std::string protocol, std::string payload) {
  if (cutOff_.count(from)) return;
  loop_.post(lifetime_.wrap(
      [this, endpoint, from, protocol = std::move(protocol), payload = std::move(payload)] {
        auto it = servers_.find(endpoint);
        if (it == servers_.end() || cutOff_.count(from)) return;
        it->second->stats_.framesIn++;
        it->second->current_ = from;
        if (it->second->handler_) it->second->handler_(from, protocol, payload);
      }));
}

void FakeNetwork::deliverToClient(const std::string& identity, std::string protocol,
                                  std::string payload) {
  loop_.post(lifetime_.wrap(
      [this, identity, protocol = std::move(protocol), payload = std::move(payload)] {
        auto it = clients_.find(identity);
        if (it == clients_.end() || cutOff_.count(identity)) return;
        it->second->stats_.framesIn++;
        if (it->second->handler_) it->second->handler_(protocol, payload);
      }));
}

FakeServer::FakeServer(FakeNetwork& network, std::string endpoint)
    : network_(network), endpoint_(std::move(endpoint)) {
  network_.servers_[endpoint_] = this;
}

FakeServer::~FakeServer() { network_.servers_.erase(endpoint_); }

bool FakeServer::send(const std::string& peer, std::string_view protocol,
                      std::string_view payload) {
  if (!network_.clients_.count(peer) || network_.cutOff_.count(peer)) {
    stats_.sendFailures++;
    return false;
  }
  stats_.framesOut++;
  network_.deliverToClient(peer, std::string(protocol), std::string(payload));
  return true;
}

FakeClient::FakeClient(FakeNetwork& network, std::string endpoint, std::string identity)
    : network_(network), endpoint_(std::move(endpoint)), identity_(std::move(identity)) {
  network_.clients_[identity_] = this;
}

FakeClient::~FakeClient() {
  auto it = network_.clients_.find(identity_);
  if (it != network_.clients_.end() && it->second == this) network_.clients_.erase(it);
}

bool FakeClient::send(std::string_view protocol, std::string_view payload) {
  stats_.framesOut++;
  network_.deliverToServer(endpoint_, identity_, std::string(protocol), std::string(payload));
  return true;
}

}  // namespace agora
