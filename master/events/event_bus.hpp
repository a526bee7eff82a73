#pragma once
// Delivers the master's events to its consumers, in publication order, on
// the master's loop thread. A consumer that publishes while handling an
// event has its event delivered after the current one reached everyone, so
// every consumer sees one order.
//
// Thread: the loop's (publish, subscribe, unsubscribe).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>

#include "common/clock.hpp"
#include "master/events/events.hpp"

namespace agora::master::events {

class EventBus {
 public:
  // Events are shared, immutable: a consumer may keep one without a copy.
  using Handler = std::function<void(const std::shared_ptr<const Event>&)>;
  using SubscriptionId = uint64_t;

  // `clock` stamps events (wall time). REQUIRES: it outlives the bus.
  explicit EventBus(const Clock& clock) : clock_(clock) {}

  SubscriptionId subscribe(Handler handler);
  void unsubscribe(SubscriptionId id);
  // Whether anyone listens: publishers may skip building events otherwise.
  bool active() const { return !handlers_.empty(); }

  // Numbers the event and delivers it to every subscriber. No-op (the
  // event is not numbered) while nobody listens.
  void publish(Body body);
  // The ID of the last event published; 0 before the first.
  uint64_t lastId() const { return lastId_; }

 private:
  const Clock& clock_;
  std::map<SubscriptionId, Handler> handlers_;
  SubscriptionId nextSubscription_ = 1;
  uint64_t lastId_ = 0;
  std::deque<std::shared_ptr<const Event>> pending_;  // published during delivery
  bool delivering_ = false;
};

}  // namespace agora::master::events
