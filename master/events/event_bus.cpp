#include "master/events/event_bus.hpp"

namespace agora::master::events {

EventBus::SubscriptionId EventBus::subscribe(Handler handler) {
  SubscriptionId id = nextSubscription_++;
  handlers_.emplace(id, std::move(handler));
  return id;
}

void EventBus::unsubscribe(SubscriptionId id) { handlers_.erase(id); }

void EventBus::publish(Body body) {
  if (handlers_.empty()) return;
  pending_.push_back(
      std::make_shared<const Event>(Event{++lastId_, clock_.wallSeconds(), std::move(body)}));
  if (delivering_) return;
  delivering_ = true;
  while (!pending_.empty()) {
    std::shared_ptr<const Event> event = std::move(pending_.front());
    pending_.pop_front();
    // A handler may subscribe or unsubscribe others: iterate over a copy of
    // the IDs and skip those gone meanwhile.
    std::vector<SubscriptionId> ids;
    ids.reserve(handlers_.size());
    for (const auto& [id, handler] : handlers_) ids.push_back(id);
    for (SubscriptionId id : ids) {
      auto it = handlers_.find(id);
      if (it != handlers_.end()) it->second(event);
    }
  }
  delivering_ = false;
}

}  // namespace agora::master::events
