#pragma once
// GET /api/v1/events: the master's events as server-sent events, one JSON
// object (event_json.hpp) per event:
//
//   id: STREAM:N
//   data: {"id":N,"type":"task_state_changed","time":...,"task":{...}}
//
// STREAM names this master's run (a restart or another leader is another
// stream); N counts its events from 1 without gaps. Query:
//   from=snapshot (default)  first a {"type":"snapshot","state":{/api/v1/state}} event
//                            as of event N, then every change after it
//   from=oldest              the buffered recent events, then every change
//   from=now                 only changes from now on
//   follow=false             end after the snapshot or the buffered events
//   types=G[,G]              only these groups: agent, framework, task, offer, role, master
//   framework_id=F           only events about framework F
// A client reconnecting with Last-Event-ID (header, or last_event_id=) gets
// every event after that one when this stream still holds them (the last
// `bufferedEvents`), else a new snapshot: it never misses one silently.
// A client that stops reading is dropped once `maxClientQueueBytes` wait for
// it (counted); the master's loop never waits for a client. A comment line
// every `keepalive` keeps idle connections (and proxies) open.
//
// Threads: the master's loop only appends each event (shared, immutable)
// to the resume buffer; a thread of the stream's own, woken only while it
// has clients, renders the JSON and writes to them, so neither the number
// of clients nor their speed costs the loop more than that. A new client is
// registered from the loop, after the events it has already seen; its
// snapshot, when it needs one, is rendered there at that point.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/event_loop.hpp"
#include "common/http_server.hpp"
#include "common/lifetime.hpp"
#include "common/metrics.hpp"
#include "master/events/event_bus.hpp"

namespace agora::master::events {

class EventStream {
 public:
  // With clients, the stream's thread takes what queued up at most this
  // often: a burst of events costs a wakeup per batch, not per event.
  static constexpr Duration kBatchInterval = std::chrono::milliseconds(2);

  struct Options {
    size_t bufferedEvents = 10000;
    size_t maxClientQueueBytes = size_t{4} << 20;
    Duration keepalive = std::chrono::seconds(15);
    size_t maxClients = 256;
  };
  // The /api/v1/state JSON as of now, rendered on the loop thread.
  using SnapshotFn = std::function<std::string()>;

  // REQUIRES: loop, bus and metrics outlive the stream; on the loop thread.
  EventStream(EventLoop& loop, EventBus& bus, SnapshotFn snapshot, Metrics& metrics,
              Options options);
  EventStream(EventLoop& loop, EventBus& bus, SnapshotFn snapshot, Metrics& metrics)
      : EventStream(loop, bus, std::move(snapshot), metrics, Options()) {}
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Routes GET /api/v1/events. REQUIRES: before the server starts; the
  // server stops before the stream is destroyed.
  void install(http::HttpServer& server);

  const std::string& streamId() const { return streamId_; }

  // What a request asks for, parsed on the HTTP thread.
  struct Request {
    enum class From { kSnapshot, kOldest, kNow };
    From from = From::kSnapshot;
    bool follow = true;
    std::set<std::string> groups;  // empty: all
    std::string frameworkId;       // empty: any
    std::string lastEventId;       // empty: none
  };
  // kInvalidArgument naming the bad parameter.
  static Result<Request> parseRequest(const http::Request& request);

 private:
  using EventPtr = std::shared_ptr<const Event>;
  struct Client {
    std::shared_ptr<http::StreamWriter> writer;
    Request request;
    uint64_t sent = 0;  // events up to this number were handled for it
  };
  // A client to start serving, queued by the loop after event `at`.
  struct Attach {
    std::shared_ptr<http::StreamWriter> writer;
    Request request;
    uint64_t at = 0;
    double time = 0;       // when it was queued (wall seconds)
    std::string snapshot;  // /api/v1/state as of `at`, when it may need one
  };

  // Loop thread.
  void onEvent(const EventPtr& event);
  // The stream's thread.
  void run();
  void attach(Attach& attach);
  // Writes the events after each client's last one to it.
  void fanOut(const std::vector<EventPtr>& events);
  static bool wants(const Request& request, const Event& event);
  // Writes to a client; drops it (counted) when it is gone or too far behind.
  bool send(uint64_t clientId, Client& client, const std::string& frame);
  void keepalive();
  void updateGauge();
  // The event number in `lastEventId` when it names this stream and every
  // event after it up to `at` is in `held` (the buffer's events after
  // `oldest` - 1).
  std::optional<uint64_t> resumePoint(const std::string& lastEventId, uint64_t at,
                                      uint64_t oldest) const;
  std::string frameOf(const Event& event) const;

  EventLoop& loop_;
  EventBus& bus_;
  SnapshotFn snapshot_;
  const Options options_;
  const std::string streamId_;
  EventBus::SubscriptionId subscription_ = 0;
  std::atomic<size_t> clientCount_{0};  // attached or on their way (HTTP threads read it)
  prometheus::Gauge& clientsGauge_;
  prometheus::Counter& delivered_;
  prometheus::Counter& dropped_;
  // Guards callbacks posted to the loop against a destroyed stream.
  LifetimeGuard lifetime_;

  // Shared by the loop (which appends events and queues clients) and the
  // stream's thread (which reads them). Events stay on the loop thread's
  // side: without clients nothing else touches them.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<EventPtr> buffer_;  // the last bufferedEvents, oldest first
  std::deque<Attach> attaching_;
  bool stopping_ = false;
  bool woken_ = false;  // a wake is pending: no need to notify again
  // Whether the stream's thread has clients (events are then worth waking
  // it for).
  std::atomic<bool> serving_{false};

  // The stream's thread only.
  std::map<uint64_t, Client> clients_;
  uint64_t nextClient_ = 1;
  uint64_t handled_ = 0;  // the last event fanned out
  std::thread thread_;
};

}  // namespace agora::master::events
