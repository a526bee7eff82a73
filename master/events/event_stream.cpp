#include "master/events/event_stream.hpp"

#include <glog/logging.h>

#include <limits>
#include <sstream>

#include "common/sse.hpp"
#include "common/transport.hpp"
#include "master/events/event_json.hpp"

namespace agora::master::events {

EventStream::EventStream(EventLoop& loop, EventBus& bus, SnapshotFn snapshot, Metrics& metrics,
                         Options options)
    : loop_(loop),
      bus_(bus),
      snapshot_(std::move(snapshot)),
      options_(options),
      streamId_(hexEncode(randomUuidBytes().substr(0, 6))),
      clientsGauge_(
          metrics.gauge("agora_event_stream_clients", "Clients following GET /api/v1/events")),
      delivered_(metrics.counter("agora_event_stream_events_delivered_total",
                                 "Events written to GET /api/v1/events clients")),
      dropped_(metrics.counter("agora_event_stream_clients_dropped_total",
                               "Event stream clients dropped for falling too far behind")) {
  subscription_ = bus_.subscribe([this](const EventPtr& event) { onEvent(event); });
  thread_ = std::thread([this] { run(); });
}

EventStream::~EventStream() {
  lifetime_.invalidate();
  bus_.unsubscribe(subscription_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (auto& [id, client] : clients_) client.writer->close();
  for (auto& pending : attaching_) pending.writer->close();
}

Result<EventStream::Request> EventStream::parseRequest(const http::Request& http) {
  Request r;
  std::string from = http.queryOr("from", "snapshot");
  if (from == "snapshot") {
    r.from = Request::From::kSnapshot;
  } else if (from == "oldest") {
    r.from = Request::From::kOldest;
  } else if (from == "now") {
    r.from = Request::From::kNow;
  } else {
    return makeError(ErrorCode::kInvalidArgument,
                     "from: '" + from + "' is not snapshot, oldest or now");
  }
  std::string follow = http.queryOr("follow", "true");
  if (follow != "true" && follow != "false" && follow != "1" && follow != "0") {
    return makeError(ErrorCode::kInvalidArgument, "follow: '" + follow + "' is not true or false");
  }
  r.follow = follow == "true" || follow == "1";
  r.groups = http::parseEventTypes(http.queryOr("types", ""));
  for (const auto& group : r.groups) {
    const auto& valid = groupNames();
    if (std::find(valid.begin(), valid.end(), group) == valid.end()) {
      std::string names;
      for (const auto& name : valid) names += (names.empty() ? "" : ", ") + name;
      return makeError(ErrorCode::kInvalidArgument,
                       "types: unknown type '" + group + "' (valid: " + names + ")");
    }
  }
  r.frameworkId = http.queryOr("framework_id", "");
  auto header = http.headers.find("last-event-id");
  r.lastEventId = header != http.headers.end() ? header->second : http.queryOr("last_event_id", "");
  return r;
}

void EventStream::install(http::HttpServer& server) {
  http::StreamOptions options;
  // send() bounds what waits for a client; the writer's own bound only
  // backs it up (a snapshot may be larger than the per-client bound).
  options.maxQueuedBytes = std::numeric_limits<size_t>::max() / 2;
  // What the kernel holds for a client counts too: a few round trips' worth.
  options.socketSendBuffer =
      static_cast<int>(std::min(options_.maxClientQueueBytes, size_t{256} << 10));
  server.routeStream(
      "GET", "/api/v1/events",
      [this](const http::Request& http,
             std::shared_ptr<http::StreamWriter> writer) -> std::optional<http::Response> {
        auto request = parseRequest(http);
        if (!request) return http::errorResponse(400, request.error().message);
        if (clientCount_.fetch_add(1) >= options_.maxClients) {
          --clientCount_;
          return http::errorResponse(
              503, "too many event stream clients (" + std::to_string(options_.maxClients) + ")");
        }
        loop_.post([this, alive = lifetime_.token(), writer, r = std::move(*request)]() mutable {
          if (!LifetimeGuard::live(alive)) return writer->close();
          // Behind every event published so far; with the state as of them
          // when it may need a snapshot.
          Attach attach{
              std::move(writer), std::move(r), bus_.lastId(), loop_.clock().wallSeconds(), {}};
          if (attach.request.from == Request::From::kSnapshot ||
              !attach.request.lastEventId.empty()) {
            attach.snapshot = snapshot_();
          }
          {
            std::lock_guard<std::mutex> lock(mutex_);
            attaching_.push_back(std::move(attach));
            woken_ = true;
          }
          wake_.notify_one();
        });
        return std::nullopt;
      },
      options);
}

void EventStream::onEvent(const EventPtr& event) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    buffer_.push_back(event);
    if (buffer_.size() > options_.bufferedEvents) buffer_.pop_front();
    // Once per batch, and only for a thread with clients.
    wake = serving_.load(std::memory_order_relaxed) && !woken_;
    woken_ = woken_ || wake;
  }
  if (wake) wake_.notify_one();
}

void EventStream::run() {
  auto nextKeepalive = std::chrono::steady_clock::now() + options_.keepalive;
  std::deque<Attach> attaching;
  std::vector<EventPtr> fresh;
  bool gap = false;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Events published before this thread said it serves did not wake it.
      wake_.wait_until(lock, nextKeepalive, [this] {
        return stopping_ || woken_ ||
               (!clients_.empty() && !buffer_.empty() && buffer_.back()->id > handled_);
      });
      if (stopping_) return;
      woken_ = false;
      attaching.swap(attaching_);
      // The events this thread has not handled yet.
      fresh.clear();
      if (!clients_.empty() && !buffer_.empty() && buffer_.front()->id > handled_ + 1) {
        gap = true;  // some left the buffer before this thread saw them
      }
      if (!clients_.empty() || !attaching.empty()) {
        for (auto it = buffer_.rbegin(); it != buffer_.rend() && (*it)->id > handled_; ++it) {
          fresh.push_back(*it);
        }
        std::reverse(fresh.begin(), fresh.end());
      }
      if (!buffer_.empty()) handled_ = std::max(handled_, buffer_.back()->id);
    }
    if (gap) {
      // Never a silent gap: its clients reconnect and resume, or start over.
      LOG(WARNING) << "event stream fell more than " << options_.bufferedEvents
                   << " events behind; dropping its " << clients_.size() << " clients";
      while (!clients_.empty()) {
        auto it = clients_.begin();
        dropped_.Increment();
        it->second.writer->close();
        clients_.erase(it);
        --clientCount_;
      }
      updateGauge();
      gap = false;
    }
    for (Attach& pending : attaching) attach(pending);
    attaching.clear();
    fanOut(fresh);
    if (std::chrono::steady_clock::now() >= nextKeepalive) {
      keepalive();
      nextKeepalive = std::chrono::steady_clock::now() + options_.keepalive;
    }
    serving_.store(!clients_.empty(), std::memory_order_relaxed);
    // Let a burst gather: one wakeup takes many events.
    if (!clients_.empty()) std::this_thread::sleep_for(kBatchInterval);
  }
}

std::optional<uint64_t> EventStream::resumePoint(const std::string& lastEventId, uint64_t at,
                                                 uint64_t oldest) const {
  size_t colon = lastEventId.rfind(':');
  if (colon == std::string::npos || lastEventId.substr(0, colon) != streamId_) return std::nullopt;
  try {
    size_t used = 0;
    uint64_t n = std::stoull(lastEventId.substr(colon + 1), &used);
    if (used != lastEventId.size() - colon - 1 || n > at) return std::nullopt;
    if (n + 1 < oldest) return std::nullopt;  // what followed it is gone
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void EventStream::attach(Attach& pending) {
  uint64_t id = nextClient_++;
  Client& client = clients_[id] = Client{std::move(pending.writer), std::move(pending.request), 0};
  updateGauge();
  const Request& r = client.request;
  // The buffered events up to `at` (the loop queued the client after them).
  std::vector<EventPtr> held;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const EventPtr& event : buffer_) {
      if (event->id <= pending.at) held.push_back(event);
    }
  }
  uint64_t oldest = held.empty() ? pending.at + 1 : held.front()->id;
  // Where to start: after the event it saw last when this stream still
  // holds what followed (else a snapshot: never a silent gap), after what
  // it asked for otherwise; none: a snapshot.
  std::optional<uint64_t> after;
  if (!r.lastEventId.empty()) {
    after = resumePoint(r.lastEventId, pending.at, oldest);
  } else if (r.from == Request::From::kOldest) {
    after = oldest - 1;
  } else if (r.from == Request::From::kNow) {
    after = pending.at;
  }
  if (after) {
    for (const EventPtr& event : held) {
      if (event->id <= *after || !wants(r, *event)) continue;
      if (!send(id, client, frameOf(*event))) return;
    }
  } else {
    nlohmann::json snapshot = {
        {"id", pending.at}, {"type", "snapshot"}, {"time", pending.time}, {"stream", streamId_}};
    std::string json = snapshot.dump();
    // The state is spliced in as rendered (it can be large).
    json.pop_back();
    json += ",\"state\":" + pending.snapshot + "}";
    if (!send(id, client, http::sseFrame("", streamId_ + ":" + std::to_string(pending.at), json))) return;
  }
  client.sent = pending.at;
  if (!r.follow) {
    client.writer->close();
    clients_.erase(id);
    --clientCount_;
    updateGauge();
  }
}

bool EventStream::wants(const Request& request, const Event& event) {
  if (!request.groups.empty() && !request.groups.count(groupName(event.body))) return false;
  return request.frameworkId.empty() || frameworkOf(event.body) == request.frameworkId;
}

std::string EventStream::frameOf(const Event& event) const {
  return http::sseFrame("", streamId_ + ":" + std::to_string(event.id), renderJson(event));
}

bool EventStream::send(uint64_t clientId, Client& client, const std::string& frame) {
  // A frame always goes to a client that has caught up, however large (a
  // snapshot of a big cluster).
  size_t queued = client.writer->queuedBytes();
  bool behind = queued > 0 && queued + frame.size() > options_.maxClientQueueBytes;
  if (!behind && client.writer->write(frame)) {
    if (frame[0] != ':') delivered_.Increment();
    return true;
  }
  if (behind) {
    dropped_.Increment();
    LOG(WARNING) << "dropping event stream client " << clientId << ": " << queued
                 << " bytes wait for it";
  }
  client.writer->close();
  clients_.erase(clientId);
  --clientCount_;
  updateGauge();
  return false;
}

void EventStream::fanOut(const std::vector<EventPtr>& events) {
  for (const EventPtr& event : events) {
    if (clients_.empty()) return;
    std::string frame;  // rendered once, for the first client that wants it
    for (auto it = clients_.begin(); it != clients_.end();) {
      auto next = std::next(it);
      Client& client = it->second;
      if (event->id > client.sent) {
        client.sent = event->id;
        if (wants(client.request, *event)) {
          if (frame.empty()) frame = frameOf(*event);
          send(it->first, client, frame);
        }
      }
      it = next;
    }
  }
}

void EventStream::keepalive() {
  static const std::string kComment = ": keepalive\n\n";
  for (auto it = clients_.begin(); it != clients_.end();) {
    auto next = std::next(it);
    send(it->first, it->second, kComment);
    it = next;
  }
}

void EventStream::updateGauge() { clientsGauge_.Set(static_cast<double>(clients_.size())); }

}  // namespace agora::master::events
