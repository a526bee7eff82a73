#pragma once
// Reliable delivery of task status updates to the master (PROTOCOL.md,
// "Status updates are reliable"): per task an ordered stream of
// unacknowledged updates; only the head is in flight, resent with
// exponential backoff (retryMin, doubling, capped at retryMax) until the
// acknowledgement for its uuid arrives, then the next one goes out at once.
// Updates whose uuid the stream has already seen (executor retries) are
// dropped. While paused (not registered) nothing is sent; resume() sends
// every head right away.
//
// Thread: the agent's loop thread.

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "agent/checkpoints.hpp"
#include "common/event_loop.hpp"
#include "common/model.hpp"

namespace agora::agent {

struct StatusUpdate {
  std::string frameworkId;
  TaskStatus status;    // status.uuid: 16 bytes
  std::string sandbox;  // absolute path of the task's sandbox
};

class StatusUpdateManager {
 public:
  struct Options {
    Duration retryMin = seconds(10);
    Duration retryMax = seconds(600);
    size_t rememberedUuids = 4096;  // of finished streams, to drop late duplicates
  };
  struct Stats {
    uint64_t sent = 0;     // first transmissions
    uint64_t retried = 0;  // retransmissions
    uint64_t acked = 0;
    uint64_t duplicates = 0;  // updates dropped because their uuid was seen
    uint64_t staleAcks = 0;   // acks that matched no in-flight update
  };
  enum class Outcome { kAccepted, kDuplicate, kAfterTerminal };
  using Forward = std::function<void(const StatusUpdate&)>;

  // REQUIRES: loop outlives the manager. Starts paused.
  StatusUpdateManager(EventLoop& loop, Options options, Forward forward);
  ~StatusUpdateManager();
  StatusUpdateManager(const StatusUpdateManager&) = delete;
  StatusUpdateManager& operator=(const StatusUpdateManager&) = delete;

  // REQUIRES: update.status.uuid is not empty.
  Outcome update(StatusUpdate update);
  // True if `uuid` was the task's in-flight update (now dropped).
  bool acknowledge(const std::string& frameworkId, const std::string& taskId,
                   const std::string& uuid);

  void pause();
  void resume();
  bool paused() const { return paused_; }
  // Forgets every stream (the agent was shut down by the master).
  void clear();

  // The task's stream as checkpointed (latest left empty): nullopt once the
  // stream is gone (terminal update acknowledged) or never existed.
  std::optional<UpdateStreamState> streamState(const std::string& frameworkId,
                                               const std::string& taskId) const;
  // Recreates a checkpointed stream (agent recovery); its head is sent on resume().
  void restore(const UpdateStreamState& state, const std::string& sandbox);

  // Unacknowledged updates of one task (0 when it has no stream).
  size_t pending(const std::string& frameworkId, const std::string& taskId) const;
  size_t pending() const;
  const Stats& stats() const { return stats_; }

 private:
  using Key = std::pair<std::string, std::string>;  // frameworkId, taskId
  struct Stream {
    std::deque<StatusUpdate> queue;  // front is in flight
    std::set<std::string> seen;      // every uuid accepted on this stream
    bool terminal = false;           // a terminal update was accepted
    Duration backoff{0};
    std::optional<EventLoop::TimerId> timer;
  };

  void sendHead(const Key& key, Stream& stream, bool retry);
  void cancelTimer(Stream& stream);
  void remember(const std::string& uuid);

  EventLoop& loop_;
  const Options options_;
  Forward forward_;
  bool paused_ = true;
  std::map<Key, Stream> streams_;
  std::set<std::string> finishedUuids_;
  std::deque<std::string> finishedOrder_;
  Stats stats_;
};

}  // namespace agora::agent
