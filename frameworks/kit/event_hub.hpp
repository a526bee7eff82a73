#pragma once
// Server-sent events about a framework's own objects (its apps, jobs,
// deployments), for its UI and tools: GET /api/v1/events on the framework's
// API (api.hpp). Each event is
//
//   event: TYPE
//   id: N
//   data: JSON
//
// N counts the hub's events from 1 without gaps. A client first gets a
// `snapshot` event (the JSON of the callback given to setSnapshot(), when one
// is set; its id is the last event it includes), then every event published
// after it, in order. Query: types=A[,B] only sends events of these types
// (the snapshot always comes). There is no resume: a client that reconnects
// gets a new snapshot (Last-Event-ID is ignored). A comment line every
// `keepalive` keeps idle connections (and proxies) open.
//
// A client that stops reading is dropped once `maxQueuedBytes` wait for it;
// publish() never waits for a client: it queues each frame on the clients'
// streams, which the HTTP server's threads write.
//
// Threads: publish() from any thread. The snapshot callback runs on
// Options::loop when given (where the framework's state lives and from
// where it publishes, so the snapshot falls between two events), else on an
// HTTP thread under the hub's lock (it must then be thread-safe and must not
// call publish()). A thread of the hub's own sends the keep-alives.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/http_server.hpp"

namespace agora::kit {

class EventHub {
 public:
  struct Options {
    Duration keepalive = std::chrono::seconds(15);
    // What may wait for one client before it is dropped (a snapshot is
    // always sent whole to a client that has caught up).
    size_t maxQueuedBytes = size_t{1} << 20;
    size_t maxClients = 64;  // more get 503
    // The loop that owns the framework's state; null: see above. REQUIRES:
    // the loop outlives the hub, or the hub is destroyed on its thread.
    EventLoop* loop = nullptr;
  };

  explicit EventHub(Options options);
  EventHub() : EventHub(Options()) {}
  // Closes the clients' streams and joins the keep-alive thread.
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // The `snapshot` event each client gets first. Thread-safe.
  void setSnapshot(std::function<nlohmann::json()> snapshot);

  // Sends `data` as event `type` (letters, digits, '_', '-', '.' and '/';
  // other characters become '_') to every client that wants it; returns
  // its id. Thread-safe; never blocks on a client.
  uint64_t publish(std::string type, nlohmann::json data);

  // Routes GET `path` (/api/v1/events, or an alias). REQUIRES: before the
  // server starts.
  void install(http::HttpServer& server, const std::string& path = "/api/v1/events");

  size_t clients() const;
  uint64_t lastId() const;

 private:
  struct Shared;
  // Shared with the streams' onClose callbacks and callbacks posted to the
  // loop, which may run after the hub is gone.
  std::shared_ptr<Shared> shared_;
  std::thread keepalive_;
};

}  // namespace agora::kit
