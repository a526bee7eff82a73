#pragma once
// A candidate in ZooKeeper's leader-election recipe: it creates an
// EPHEMERAL|SEQUENTIAL node holding `data` under the election path and leads
// while its node has the lowest sequence number. It watches only its
// predecessor (no herd effect when a leader goes away).
//
// Leadership ends when the session expires (or ZooKeeper was unreachable for
// the session timeout) or the node is deleted: onLost runs once and the
// contender does not lead again until it wins a later election. A candidate
// that was not leading just enters the election again.
//
// Thread: the session's loop.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/lifetime.hpp"
#include "common/zk/zk_session.hpp"

namespace agora::zk {

class LeaderContender {
 public:
  // REQUIRES: session outlives the contender; path is absolute.
  LeaderContender(ZkSession& session, std::string path, std::string data);
  ~LeaderContender();
  LeaderContender(const LeaderContender&) = delete;
  LeaderContender& operator=(const LeaderContender&) = delete;

  void start(std::function<void()> onElected, std::function<void(const std::string&)> onLost);

  bool elected() const { return elected_; }
  // The candidate node's name ("info_<session>-0000000007"), empty while none.
  const std::string& node() const { return node_; }

 private:
  void onSessionEvent(ZkSession::Event event);
  void contend();
  void createNode();
  void check();
  void onChildren(const std::vector<std::string>& children);
  void lose(const std::string& why);
  // Wraps a callback so it does nothing once the contender is gone.
  template <class F>
  auto guarded(F fn) {
    return lifetime_.wrap(std::move(fn));
  }

  ZkSession& session_;
  const std::string path_;
  const std::string data_;
  std::function<void()> onElected_;
  std::function<void(const std::string&)> onLost_;
  int listener_ = 0;
  bool started_ = false;
  bool contending_ = false;  // a create is in flight
  bool elected_ = false;
  std::string node_;
  std::string watched_;  // the predecessor whose exists-watch is outstanding
  LifetimeGuard lifetime_;
};

}  // namespace agora::zk
