#pragma once
// Cluster-wide state for framework authors: follows the master's event
// stream (GET /api/v1/events; each event's JSON as master/events/event_json.hpp
// describes it) on a thread of its own and hands every event to a handler,
// in order. The first is a "snapshot" (the /api/v1/state body under
// "state") unless Options::snapshot is off; then every change. A dropped
// connection is resumed where it stopped (Last-Event-ID); when the master
// cannot resume (it restarted, another master leads, or the follower fell
// too far behind) the next event is a new snapshot: treat it as a reset.
//
// Thread: the handler runs on the follower's thread, one event at a time.

#include <atomic>
#include <mutex>
#include <stop_token>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace agora::sdk {

class ClusterEvents {
 public:
  struct Options {
    // The master's HTTP API: HOST:PORT or http://HOST:PORT, or a comma list
    // of them (highly available masters: tried in turn; a standby's
    // redirect to the leader is followed).
    std::string master;
    std::string types;        // comma list of agent, framework, task, offer, role, master
    std::string frameworkId;  // only this framework's events
    bool snapshot = true;     // start with the cluster's state
    Duration reconnectDelay = seconds(1);
  };
  using Handler = std::function<void(const nlohmann::json& event)>;

  // Starts following. kInvalidArgument for an empty master address.
  static Result<std::unique_ptr<ClusterEvents>> start(Options options, Handler onEvent);
  ~ClusterEvents();  // stops and joins
  ClusterEvents(const ClusterEvents&) = delete;
  ClusterEvents& operator=(const ClusterEvents&) = delete;

  // Connections made after the first (each resumed or started over).
  uint64_t reconnects() const { return reconnects_.load(); }
  // The master's last answer when it refused the stream (a bad filter,
  // say), or the last connection error; empty while streaming.
  std::string lastError() const;

 private:
  ClusterEvents(Options options, Handler onEvent);
  void run(std::stop_token stop);
  // Streams from `base` until it ends; false when it could not connect.
  bool follow(const std::string& base, std::stop_token stop, int redirects);

  const Options options_;
  const Handler onEvent_;
  std::vector<std::string> bases_;
  std::string lastEventId_;
  std::atomic<uint64_t> reconnects_{0};
  mutable std::mutex errorMutex_;
  std::string lastError_;
  std::jthread thread_;
};

}  // namespace agora::sdk
