#pragma once
// High availability: this master as a candidate in a ZooKeeper election
// (`--zk zk://HOST:PORT/PATH`, common/zk/). Only the leader serves agents and
// schedulers: frames reach the Master, and the Master's messages leave, only
// through the gate this class puts around the ZeroMQ transport, open while
// elected. A standby answers the HTTP API with 307 redirects to the leader
// (same path and query); /health and /metrics answer locally. It answers
// every agent or scheduler frame with `notLeader` naming the leader's
// ZeroMQ endpoint (nothing while no leader is known), so that clients given
// a fixed endpoint find the leader.
//
// Leadership is never regained in-process: a master that loses it must stop
// (its state is no longer authoritative) and be restarted by its supervisor,
// as a Mesos master does.
//
// Thread: the loop's, except install()'s filter (HTTP threads), which reads
// an atomically published view.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http_server.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "common/zk/election.hpp"

namespace agora::zk {
class ZkSession;
class LeaderContender;
class LeaderDetector;
}  // namespace agora::zk

namespace agora::master {

// A ServerTransport that passes traffic only while open. Between election
// and opening (the registry takeover) it holds what arrives and delivers it,
// in order, when it opens: clients that learned of the new leader from
// ZooKeeper as soon as it did are served then, not at their next retry.
class GatedTransport final : public ServerTransport {
 public:
  // Frames held at most; later ones are dropped (their senders retry).
  static constexpr size_t kMaxHeld = 10000;

  // REQUIRES: inner outlives the gate.
  explicit GatedTransport(ServerTransport& inner);
  // Holds frames from now on until open().
  void hold() { holding_ = true; }
  // Opens and delivers the held frames to the handler.
  void open();
  bool isOpen() const { return open_; }
  size_t held() const { return held_.size(); }

  void setHandler(Handler handler) override { handler_ = std::move(handler); }
  // Runs for each frame that arrives while closed and not holding (the
  // standby's answer).
  void setClosedHandler(std::function<void(const std::string& peer, std::string_view protocol)> h) {
    closedHandler_ = std::move(h);
  }
  bool send(const std::string& peer, std::string_view protocol, std::string_view payload) override;
  // Sends even while closed (a standby's redirects only).
  bool sendDirect(const std::string& peer, std::string_view protocol, std::string_view payload) {
    return inner_.send(peer, protocol, payload);
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  // The sender's, also for a held frame delivered later (kept with it).
  std::string principal() const override {
    return delivering_ != nullptr ? delivering_->principal : inner_.principal();
  }
  const TransportStats& stats() const override { return inner_.stats(); }

 private:
  struct Frame {
    std::string peer, protocol, payload, principal;
  };
  void onFrame(const std::string& peer, std::string_view protocol, std::string_view payload);

  ServerTransport& inner_;
  Handler handler_;
  std::function<void(const std::string&, std::string_view)> closedHandler_;
  bool open_ = false;
  bool holding_ = false;
  std::vector<Frame> held_;
  const Frame* delivering_ = nullptr;  // the held frame being delivered
};

class Leadership {
 public:
  // What the HTTP threads see.
  struct View {
    bool leading = false;
    std::string leaderId;
    std::string leaderHttp;  // empty while no leader is known
  };

  // Connects to ZooKeeper (zkUrl: zk://HOST:PORT[,HOST:PORT]/PATH; the
  // timeout: "10s", "500ms"). kInvalidArgument for a bad URL or timeout.
  // REQUIRES: loop and inner outlive it.
  static Result<std::unique_ptr<Leadership>> create(EventLoop& loop, ServerTransport& inner,
                                                    const std::string& zkUrl,
                                                    const std::string& sessionTimeout);
  ~Leadership();

  // The transport to give the Master.
  ServerTransport& transport() { return gate_; }
  // The redirect filter and GET /health ({"status":"ok","role":"leader"|"standby",
  // "leader":{"id","http"}}). REQUIRES: called before the server starts; the
  // Leadership outlives the server.
  void install(http::HttpServer& server) const;
  // Runs on election, before the gate opens: `node` is the full path of this
  // master's election znode (writes fence on it); `ready` opens the gate.
  // A takeover that cannot complete never calls `ready` (the owner stops).
  using Takeover = std::function<void(const std::string& node, std::function<void()> ready)>;

  // Enters the election as `self`. onLost runs (once, on the loop) when
  // leadership is lost. Without `takeover` the gate opens when elected.
  void start(zk::MasterInfo self, std::function<void(const std::string& why)> onLost,
             Takeover takeover = {});

  // For the ZooKeeper registry: the session and the election path.
  zk::ZkSession& session() { return *session_; }
  const std::string& electionPath() const { return path_; }
  const std::string& servers() const { return servers_; }

  bool leading() const { return gate_.isOpen(); }
  std::shared_ptr<const View> view() const { return view_.load(); }

 private:
  Leadership(EventLoop& loop, ServerTransport& inner, std::string zkUrl, std::string path);
  void publish();
  void replyNotLeader(const std::string& peer, std::string_view protocol);
  void lead();

  EventLoop& loop_;
  const std::string zkUrl_;
  const std::string path_;
  std::string servers_;
  zk::MasterInfo self_;
  Takeover takeover_;
  GatedTransport gate_;
  std::unique_ptr<zk::ZkSession> session_;
  std::unique_ptr<zk::LeaderContender> contender_;
  std::unique_ptr<zk::LeaderDetector> detector_;
  std::function<void(const std::string&)> onLost_;
  // The leader's ZeroMQ endpoint and ID as last seen by the detector.
  std::string leaderEndpoint_;
  std::string leaderId_;
  std::atomic<std::shared_ptr<const View>> view_{std::make_shared<const View>()};
  LifetimeGuard lifetime_;
};

// The redirect for a standby: 307 to http://LEADER<target>, or 503 when no
// leader is known. nullopt when `view` leads or the request is answered
// locally (/health, /metrics).
std::optional<http::Response> standbyResponse(const Leadership::View& view,
                                              const http::Request& request);

}  // namespace agora::master
