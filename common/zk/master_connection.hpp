#pragma once
// A client's link to the leading master (agents, schedulers). The address is
// either a fixed ZeroMQ endpoint ("tcp://10.0.0.1:5055") or
// zk://HOST:PORT[,HOST:PORT]/PATH: the leader is found through ZooKeeper and
// followed when it changes; each change reconnects with the same identity and
// tells the owner, who registers or subscribes again. Until a leader is
// known, send() drops messages (returns false); callers retry anyway.
//
// Thread: the loop's. stats() counts the current connection only.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "common/zmq_transport.hpp"
#include "common/zk/election.hpp"

namespace agora::zk {

class ZkSession;
class LeaderDetector;

class MasterConnection final : public ClientTransport {
 public:
  // kInvalidArgument for a malformed zk:// URL; kUnavailable when the
  // endpoint cannot be connected. REQUIRES: loop outlives the connection.
  static Result<std::unique_ptr<MasterConnection>> create(EventLoop& loop,
                                                          const std::string& address,
                                                          const std::string& identity,
                                                          Duration zkSessionTimeout = seconds(10),
                                                          std::optional<CurveClientKeys> curve = {});
  ~MasterConnection() override;

  // Runs on the loop each time the connection moves to a leader (the first
  // one included). Only zk:// addresses ever call it.
  void setLeaderHandler(std::function<void(const MasterInfo&)> handler) {
    onLeader_ = std::move(handler);
  }
  // The endpoint messages go to; empty while no leader is known.
  const std::string& endpoint() const { return endpoint_; }
  // A standby master named the leader (fixed-endpoint mode only; with zk://
  // the detector decides): from the next loop turn on, messages go to
  // `endpoint` (tcp:// only) with the same identity, and the connected
  // handler runs once connected. Empty: back to the configured endpoint
  // (the leader it was sent to went silent). Safe to call from this
  // connection's own handlers.
  void redirect(const std::string& endpoint);

  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  bool send(std::string_view protocol, std::string_view payload) override;
  const std::string& identity() const override { return identity_; }
  const TransportStats& stats() const override;
  void setConnectedHandler(std::function<void()> handler) override;

 private:
  MasterConnection(EventLoop& loop, std::string identity);
  Status connect(const std::string& endpoint);
  void onLeader(const std::optional<MasterInfo>& leader);

  EventLoop& loop_;
  std::string identity_;
  std::string endpoint_;
  Handler handler_;
  std::function<void(const MasterInfo&)> onLeader_;
  std::function<void()> onConnected_;
  std::string leaderId_;    // the leader followed now (zk:// only)
  std::string configured_;  // the fixed endpoint given to create() (not zk://)
  // Every master shares one server key (an HA set is one service to its
  // clients): the pair and the pinned key apply to whichever master leads.
  std::optional<CurveClientKeys> curve_;
  LifetimeGuard lifetime_;
  std::unique_ptr<ClientTransport> client_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<LeaderDetector> detector_;
  TransportStats idleStats_;
};

}  // namespace agora::zk
