#include "common/zk/leader_detector.hpp"

#include <glog/logging.h>

namespace agora::zk {

LeaderDetector::LeaderDetector(ZkSession& session, std::string path)
    : session_(session), path_(std::move(path)) {}

LeaderDetector::~LeaderDetector() {
  lifetime_.invalidate();
  if (listener_) session_.removeListener(listener_);
}

void LeaderDetector::start(OnChange onChange) {
  CHECK(!listener_) << "LeaderDetector::start() called twice";
  onChange_ = std::move(onChange);
  listener_ = session_.addListener([this](ZkSession::Event event) {
    if (event == ZkSession::Event::kExpired) childrenWatched_ = pathWatched_ = false;
    if (event == ZkSession::Event::kConnected) detect();
  });
  if (session_.connected()) detect();
}

// At most one watch of each kind is outstanding: detect() runs on every
// reconnect and every change, and the session keeps each watch it is given.
void LeaderDetector::detect() {
  ZkSession::Watch watch;
  if (!childrenWatched_) {
    childrenWatched_ = true;
    watch = guarded([this] {
      childrenWatched_ = false;
      detect();
    });
  }
  session_.getChildren(path_, std::move(watch),
                       guarded([this](Result<std::vector<std::string>> children) {
                         if (children) return onChildren(*children);
                         childrenWatched_ = false;
                         if (children.error().code != ErrorCode::kNotFound)
                           return;  // reconnect re-detects
                         // No election yet: wait for the path to appear.
                         report(std::nullopt, "");
                         if (pathWatched_) return;
                         pathWatched_ = true;
                         session_.exists(path_, guarded([this] {
                                           pathWatched_ = false;
                                           detect();
                                         }),
                                         guarded([this](Result<bool> exists) {
                                           if (!exists) pathWatched_ = false;
                                           if (exists && *exists) detect();
                                         }));
                       }));
}

void LeaderDetector::onChildren(const std::vector<std::string>& children) {
  auto node = leaderOf(children);
  if (!node) return report(std::nullopt, "");
  if (*node == leaderNode_) return;
  session_.get(path_ + "/" + *node, guarded([this, node = *node](Result<std::string> data) {
                 if (!data) {
                   // Gone already: the children watch fires and re-detects.
                   if (data.error().code != ErrorCode::kNotFound) {
                     LOG(WARNING) << "cannot read the leader: " << data.error().message;
                   }
                   return;
                 }
                 auto info = decodeMasterInfo(*data);
                 if (!info) {
                   LOG(WARNING) << "ignoring leader node " << node << ": " << info.error().message;
                   return report(std::nullopt, node);
                 }
                 report(std::move(*info), node);
               }));
}

void LeaderDetector::report(std::optional<MasterInfo> leader, std::string node) {
  leaderNode_ = std::move(node);
  if (leader == leader_) return;
  leader_ = std::move(leader);
  if (leader_) {
    LOG(INFO) << "leading master: " << leader_->id << " (" << leader_->endpoint << ", http "
              << leader_->httpAddress << ")";
  } else {
    LOG(INFO) << "no leading master at " << path_;
  }
  if (onChange_) onChange_(leader_);
}

}  // namespace agora::zk
