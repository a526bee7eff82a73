#pragma once
// Several instances of one framework, one leading: each contends in a
// ZooKeeper election (common/zk), the leader acts (subscribes, launches),
// the others wait and send their callers to the leader (leaderHttp()). A
// leader whose session is lost — ZooKeeper unreachable for the session
// timeout, or the session expired — hears onLost at once and must stop
// acting: never two leaders launching.
//
// Thread: the loop given to create().

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/zk/leader_contender.hpp"
#include "common/zk/leader_detector.hpp"
#include "common/zk/zk_session.hpp"

namespace agora::kit {

class Election {
 public:
  struct Options {
    std::string zkUrl;        // zk://HOST:PORT[,...]/PATH, one path per framework
    std::string instanceId;   // this instance, for logs and the leader record
    std::string httpAddress;  // HOST:PORT (or a URL) of this instance's API
    Duration sessionTimeout = std::chrono::seconds(10);
  };

  // kInvalidArgument for a bad URL or an empty address.
  static Result<std::unique_ptr<Election>> create(EventLoop& loop, Options options);

  // onElected: start acting. onLost: stop acting now (this instance enters
  // the election again by being created anew; a lost leader should exit).
  // onLeader (optional): the leading instance's HTTP address whenever it
  // changes (nullopt while none is known).
  void start(std::function<void()> onElected, std::function<void(const std::string&)> onLost,
             std::function<void(const std::optional<std::string>&)> onLeader = nullptr);
  bool leading() const { return contender_->elected(); }
  // The leading instance's HTTP address, nullopt while none is known.
  std::optional<std::string> leaderHttp() const;
  std::optional<std::string> leaderId() const;
  // The absolute path of this instance's candidate node (ephemeral: gone with
  // its session), empty while it has none. A leader fences its ZkStore on it.
  std::string nodePath() const;

 private:
  Election() = default;

  // Declared first, destroyed last: the contender and detector use it.
  std::unique_ptr<zk::ZkSession> session_;
  std::unique_ptr<zk::LeaderContender> contender_;
  std::unique_ptr<zk::LeaderDetector> detector_;
  std::string path_;  // the election's node
};

}  // namespace agora::kit
