#include "master/leadership.hpp"

#include <glog/logging.h>

#include "common/codec.hpp"
#include "common/zk/leader_contender.hpp"
#include "common/zk/leader_detector.hpp"
#include "common/zk/zk_session.hpp"
#include "common/zk/zk_url.hpp"
#include "schemas/master_agent.capnp.h"
#include "schemas/scheduler.capnp.h"

namespace agora::master {

GatedTransport::GatedTransport(ServerTransport& inner) : inner_(inner) {
  inner_.setHandler([this](const std::string& peer, std::string_view protocol,
                           std::string_view payload) { onFrame(peer, protocol, payload); });
}

void GatedTransport::onFrame(const std::string& peer, std::string_view protocol,
                             std::string_view payload) {
  if (open_) {
    if (handler_) handler_(peer, protocol, payload);
    return;
  }
  if (holding_) {
    if (held_.size() < kMaxHeld) {
      held_.push_back(
          {peer, std::string(protocol), std::string(payload), inner_.principal()});
    } else {
      LOG_EVERY_N(WARNING, 1000) << "taking over: dropping a frame from " << peer;
    }
    return;
  }
  LOG_EVERY_N(INFO, 100) << "not the leading master: redirecting a frame from " << peer;
  if (closedHandler_) closedHandler_(peer, protocol);
}

void GatedTransport::open() {
  open_ = true;
  holding_ = false;
  std::vector<Frame> held = std::move(held_);
  held_.clear();
  if (!held.empty()) LOG(INFO) << "delivering " << held.size() << " frames held during takeover";
  for (const Frame& frame : held) {
    delivering_ = &frame;
    if (handler_) handler_(frame.peer, frame.protocol, frame.payload);
  }
  delivering_ = nullptr;
}

bool GatedTransport::send(const std::string& peer, std::string_view protocol,
                          std::string_view payload) {
  return open_ && inner_.send(peer, protocol, payload);
}

std::optional<http::Response> standbyResponse(const Leadership::View& view,
                                              const http::Request& request) {
  if (view.leading || request.path == "/health" || request.path == "/metrics") return std::nullopt;
  if (view.leaderHttp.empty()) {
    return http::errorResponse(503, "this master is a standby and no leader is elected yet");
  }
  http::Response response = http::errorResponse(307, "not the leading master; see Location");
  // The leader's address carries its scheme when it serves HTTPS.
  std::string base = view.leaderHttp.find("://") == std::string::npos
                         ? "http://" + view.leaderHttp
                         : view.leaderHttp;
  response.headers.emplace_back("Location", base + request.target);
  return response;
}

Result<std::unique_ptr<Leadership>> Leadership::create(EventLoop& loop, ServerTransport& inner,
                                                       const std::string& zkUrl,
                                                       const std::string& sessionTimeout) {
  auto url = zk::parseZkUrl(zkUrl);
  if (!url) return makeError(url.error().withContext("--zk"));
  auto timeout = zk::parseTimeout(sessionTimeout);
  if (!timeout) return makeError(timeout.error().withContext("--zk-session-timeout"));
  std::unique_ptr<Leadership> leadership(new Leadership(loop, inner, zkUrl, url->path));
  auto session = zk::ZkSession::create(loop, zk::ZkSession::Options{url->servers, *timeout});
  if (!session) return makeError(session.error().withContext("--zk"));
  leadership->session_ = std::move(*session);
  leadership->servers_ = url->servers;
  leadership->detector_ = std::make_unique<zk::LeaderDetector>(*leadership->session_, url->path);
  return leadership;
}

Leadership::Leadership(EventLoop& loop, ServerTransport& inner, std::string zkUrl, std::string path)
    : loop_(loop), zkUrl_(std::move(zkUrl)), path_(std::move(path)), gate_(inner) {}

Leadership::~Leadership() {
  lifetime_.invalidate();
  detector_.reset();
  contender_.reset();
  session_.reset();
}

void Leadership::start(zk::MasterInfo self, std::function<void(const std::string&)> onLost,
                       Takeover takeover) {
  self_ = std::move(self);
  onLost_ = std::move(onLost);
  takeover_ = std::move(takeover);
  contender_ = std::make_unique<zk::LeaderContender>(*session_, path_, zk::encodeMasterInfo(self_));
  gate_.setClosedHandler([this](const std::string& peer, std::string_view protocol) {
    replyNotLeader(peer, protocol);
  });
  detector_->start([this](const std::optional<zk::MasterInfo>& leader) {
    leaderEndpoint_ = leader ? leader->endpoint : "";
    leaderId_ = leader ? leader->id : "";
    publish();
  });
  contender_->start(
      [this] {
        gate_.hold();
        if (!takeover_) return lead();
        LOG(INFO) << "this master (" << self_.id << ") is elected: taking over the registry";
        takeover_(path_ + "/" + contender_->node(), lifetime_.wrap([this] {
          if (contender_->elected()) lead();
        }));
      },
      [this](const std::string& why) {
        publish();
        if (onLost_) onLost_(why);
      });
  LOG(INFO) << "master " << self_.id << " is a candidate at " << zkUrl_;
}

void Leadership::lead() {
  LOG(INFO) << "this master (" << self_.id << ") is the leader: serving agents and schedulers";
  gate_.open();
  publish();
}

void Leadership::publish() {
  auto view = std::make_shared<View>();
  // Leading only while elected: a lost election closes nothing here, the
  // owner stops the master.
  view->leading = gate_.isOpen() && contender_ && contender_->elected();
  if (const auto& leader = detector_->leader()) {
    view->leaderId = leader->id;
    view->leaderHttp = leader->httpAddress;
  }
  if (view->leading) {
    view->leaderId = self_.id;
    view->leaderHttp = self_.httpAddress;
  }
  view_.store(std::move(view));
}

void Leadership::replyNotLeader(const std::string& peer, std::string_view protocol) {
  if (leaderEndpoint_.empty() || leaderId_ == self_.id) return;
  auto fill = [&](schema::NotLeader::Builder out) {
    out.setLeaderId(leaderId_);
    out.setLeaderEndpoint(leaderEndpoint_);
  };
  capnp::MallocMessageBuilder message;
  if (protocol == kAgentProtocol) {
    auto envelope = message.initRoot<schema::AgentEnvelope>();
    envelope.setVersion(schema::PROTOCOL_VERSION);
    fill(envelope.initNotLeader());
  } else if (protocol == kSchedulerProtocol) {
    auto event = message.initRoot<schema::Event>();
    event.setVersion(schema::PROTOCOL_VERSION);
    fill(event.initNotLeader());
  } else {
    return;
  }
  gate_.sendDirect(peer, protocol, encodePacked(message));
}

void Leadership::install(http::HttpServer& server) const {
  server.addFilter([this](const http::Request& request) -> std::optional<http::Response> {
    auto view = view_.load();
    if (request.path == "/health" && request.method == "GET") {
      nlohmann::json body{{"status", "ok"}, {"role", view->leading ? "leader" : "standby"}};
      if (!view->leaderHttp.empty()) {
        body["leader"] = {{"id", view->leaderId}, {"http", view->leaderHttp}};
      }
      return http::jsonResponse(200, body);
    }
    return standbyResponse(*view, request);
  });
}

}  // namespace agora::master
