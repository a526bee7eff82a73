#include "common/zk/leader_contender.hpp"

#include <glog/logging.h>

#include <algorithm>

#include "common/zk/election.hpp"

namespace agora::zk {

LeaderContender::LeaderContender(ZkSession& session, std::string path, std::string data)
    : session_(session), path_(std::move(path)), data_(std::move(data)) {}

LeaderContender::~LeaderContender() {
  lifetime_.invalidate();
  if (listener_) session_.removeListener(listener_);
}

void LeaderContender::start(std::function<void()> onElected,
                            std::function<void(const std::string&)> onLost) {
  CHECK(!started_) << "LeaderContender::start() called twice";
  started_ = true;
  onElected_ = std::move(onElected);
  onLost_ = std::move(onLost);
  listener_ = session_.addListener([this](ZkSession::Event e) { onSessionEvent(e); });
  if (session_.connected()) contend();
}

void LeaderContender::onSessionEvent(ZkSession::Event event) {
  switch (event) {
    case ZkSession::Event::kConnected:
      // A reconnect keeps the node and watches; re-check anyway, cheaply.
      return node_.empty() ? contend() : check();
    case ZkSession::Event::kExpired:
      contending_ = false;
      watched_.clear();
      node_.clear();
      return lose("the ZooKeeper session expired");
    case ZkSession::Event::kDisconnected:
      return;
  }
}

void LeaderContender::contend() {
  if (contending_ || !node_.empty() || !session_.connected()) return;
  contending_ = true;
  session_.ensurePath(path_, guarded([this](Status s) {
                        if (!s) {
                          contending_ = false;
                          LOG(WARNING) << "cannot enter the election at " << path_ << ": "
                                       << s.error().message << " (retrying when reconnected)";
                          return;
                        }
                        // A create whose answer was lost to a connection loss may have worked:
                        // look for a node of this session before making another.
                        session_.getChildren(
                            path_, nullptr,
                            guarded([this](Result<std::vector<std::string>> children) {
                              if (!children) {
                                contending_ = false;
                                return;
                              }
                              auto mine = ownedBy(*children, session_.sessionId());
                              if (!mine) return createNode();
                              contending_ = false;
                              node_ = *mine;
                              onChildren(*children);
                            }));
                      }));
}

void LeaderContender::createNode() {
  session_.create(path_ + "/" + candidatePrefix(session_.sessionId()), data_, true,
                  guarded([this](Result<std::string> created) {
                    contending_ = false;
                    if (!created) {
                      LOG(WARNING) << "cannot enter the election: " << created.error().message;
                      return;
                    }
                    node_ = created->substr(created->rfind('/') + 1);
                    LOG(INFO) << "entered the election at " << path_ << " as " << node_;
                    check();
                  }));
}

void LeaderContender::check() {
  if (node_.empty()) return;
  session_.getChildren(path_, nullptr, guarded([this](Result<std::vector<std::string>> children) {
                         // Connection loss: the next kConnected checks again.
                         if (children) onChildren(*children);
                       }));
}

void LeaderContender::onChildren(const std::vector<std::string>& children) {
  if (node_.empty()) return;
  if (std::find(children.begin(), children.end(), node_) == children.end()) {
    node_.clear();
    lose("the candidate node was deleted");
    return contend();
  }
  auto predecessor = predecessorOf(children, node_);
  if (!predecessor) {
    if (elected_) return;
    elected_ = true;
    LOG(INFO) << "elected leader at " << path_ << " (" << node_ << ")";
    if (onElected_) onElected_();
    return;
  }
  std::string watched = path_ + "/" + *predecessor;
  if (watched == watched_) return;  // already watching it
  watched_ = watched;
  session_.exists(watched, guarded([this] {
                    watched_.clear();
                    check();
                  }),
                  guarded([this](Result<bool> exists) {
                    if (!exists) watched_.clear();  // reconnect checks again
                    // Gone between the listing and the watch: the order moved on.
                    if (exists && !*exists) {
                      watched_.clear();
                      check();
                    }
                  }));
}

void LeaderContender::lose(const std::string& why) {
  if (!elected_) return;
  elected_ = false;
  LOG(ERROR) << "lost leadership at " << path_ << ": " << why;
  if (onLost_) onLost_(why);
}

}  // namespace agora::zk
