#pragma once
// Follows who leads an election path (leader_contender.hpp): watches the
// candidates and reports the leader's MasterInfo whenever it changes, or
// nullopt while there is none. While ZooKeeper is unreachable it keeps the
// last known leader (which may well still lead) and re-reads on reconnect.
//
// Thread: the session's loop.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/lifetime.hpp"
#include "common/zk/election.hpp"
#include "common/zk/zk_session.hpp"

namespace agora::zk {

class LeaderDetector {
 public:
  using OnChange = std::function<void(const std::optional<MasterInfo>&)>;

  // REQUIRES: session outlives the detector; path is absolute.
  LeaderDetector(ZkSession& session, std::string path);
  ~LeaderDetector();
  LeaderDetector(const LeaderDetector&) = delete;
  LeaderDetector& operator=(const LeaderDetector&) = delete;

  void start(OnChange onChange);
  const std::optional<MasterInfo>& leader() const { return leader_; }

 private:
  void detect();
  void onChildren(const std::vector<std::string>& children);
  void report(std::optional<MasterInfo> leader, std::string node);
  template <class F>
  auto guarded(F fn) {
    return lifetime_.wrap(std::move(fn));
  }

  ZkSession& session_;
  const std::string path_;
  OnChange onChange_;
  int listener_ = 0;
  std::optional<MasterInfo> leader_;
  std::string leaderNode_;
  bool childrenWatched_ = false;
  bool pathWatched_ = false;
  LifetimeGuard lifetime_;
};

}  // namespace agora::zk
