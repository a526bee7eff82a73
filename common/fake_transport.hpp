#pragma once
// In-process transport for unit tests: servers and clients on one FakeNetwork
// exchange messages through EventLoop::post (asynchronously, like sockets),
// with no threads and no sockets. Peers can be cut off to simulate partitions.

#include <map>
#include <memory>
#include <set>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/transport.hpp"

namespace agora {

class FakeServer;
class FakeClient;

class FakeNetwork {
 public:
  // REQUIRES: loop outlives the network and every endpoint on it.
  explicit FakeNetwork(EventLoop& loop) : loop_(loop) {}
  ~FakeNetwork();

  std::unique_ptr<FakeServer> bind(const std::string& endpoint);
  std::unique_ptr<FakeClient> connect(const std::string& endpoint, const std::string& identity);

  // Drops every message to and from `identity` while cut off.
  void cutOff(const std::string& identity) { cutOff_.insert(identity); }
  void restore(const std::string& identity) { cutOff_.erase(identity); }

 private:
  friend class FakeServer;
  friend class FakeClient;
  void deliverToServer(const std::string& endpoint, const std::string& from, std::string protocol,
                       std::string payload);
  void deliverToClient(const std::string& identity, std::string protocol, std::string payload);

  EventLoop& loop_;
  std::map<std::string, FakeServer*> servers_;
  std::map<std::string, FakeClient*> clients_;
  std::set<std::string> cutOff_;
  LifetimeGuard lifetime_;
};

class FakeServer final : public ServerTransport {
 public:
  FakeServer(FakeNetwork& network, std::string endpoint);
  ~FakeServer() override;
  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  std::string principal() const override {
    auto it = principals_.find(current_);
    return it == principals_.end() ? std::string() : it->second;
  }
  // As an authenticating transport would: frames from `peer` carry `principal`.
  void setPrincipal(const std::string& peer, const std::string& principal) {
    principals_[peer] = principal;
  }
  bool send(const std::string& peer, std::string_view protocol, std::string_view payload) override;
  std::string endpoint() const override { return endpoint_; }
  const TransportStats& stats() const override { return stats_; }

 private:
  friend class FakeNetwork;
  FakeNetwork& network_;
  std::string endpoint_;
  Handler handler_;
  TransportStats stats_;
  std::map<std::string, std::string> principals_;  // by peer
  std::string current_;                            // peer of the frame being handled
};

class FakeClient final : public ClientTransport {
 public:
  FakeClient(FakeNetwork& network, std::string endpoint, std::string identity);
  ~FakeClient() override;
  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  bool send(std::string_view protocol, std::string_view payload) override;
  const std::string& identity() const override { return identity_; }
  const TransportStats& stats() const override { return stats_; }
  void setConnectedHandler(std::function<void()> handler) override {
    onConnected_ = std::move(handler);
  }
  // As if the connection had dropped and come back (e.g. the server
  // restarted): runs the connected handler now.
  void simulateReconnect() {
    if (onConnected_) onConnected_();
  }

 private:
  friend class FakeNetwork;
  FakeNetwork& network_;
  std::string endpoint_;
  std::string identity_;
  Handler handler_;
  std::function<void()> onConnected_;
  TransportStats stats_;
};

}  // namespace agora
