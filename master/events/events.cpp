#include "master/events/events.hpp"

#include <type_traits>

namespace agora::master::events {

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

const char* typeName(const Body& body) {
  return std::visit(
      Overloaded{
          [](const AgentChanged& e) {
            switch (e.kind) {
              case AgentChanged::Kind::kAdded: return "agent_added";
              case AgentChanged::Kind::kReregistered: return "agent_reregistered";
              case AgentChanged::Kind::kUnreachable: return "agent_unreachable";
              case AgentChanged::Kind::kRemoved: return "agent_removed";
            }
            return "agent_changed";
          },
          [](const FrameworkChanged& e) {
            switch (e.kind) {
              case FrameworkChanged::Kind::kSubscribed: return "framework_subscribed";
              case FrameworkChanged::Kind::kFailedOver: return "framework_failed_over";
              case FrameworkChanged::Kind::kDisconnected: return "framework_disconnected";
              case FrameworkChanged::Kind::kRemoved: return "framework_removed";
            }
            return "framework_changed";
          },
          [](const TaskStateChanged&) { return "task_state_changed"; },
          [](const OfferSent&) { return "offer_sent"; },
          [](const OfferRemoved&) { return "offer_removed"; },
          [](const ReservationChanged&) { return "reservation_changed"; },
          [](const QuotaChanged&) { return "quota_changed"; },
          [](const WeightChanged&) { return "weight_changed"; },
          [](const LeadershipChanged&) { return "leadership_changed"; },
      },
      body);
}

const char* groupName(const Body& body) {
  return std::visit(Overloaded{
                        [](const AgentChanged&) { return "agent"; },
                        [](const FrameworkChanged&) { return "framework"; },
                        [](const TaskStateChanged&) { return "task"; },
                        [](const OfferSent&) { return "offer"; },
                        [](const OfferRemoved&) { return "offer"; },
                        [](const ReservationChanged&) { return "role"; },
                        [](const QuotaChanged&) { return "role"; },
                        [](const WeightChanged&) { return "role"; },
                        [](const LeadershipChanged&) { return "master"; },
                    },
                    body);
}

const std::vector<std::string>& groupNames() {
  static const std::vector<std::string> names = {"agent", "framework", "task",
                                                 "offer", "role",      "master"};
  return names;
}

const std::string& frameworkOf(const Body& body) {
  static const std::string none;
  return std::visit(
      [](const auto& e) -> const std::string& {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, FrameworkChanged> || std::is_same_v<T, TaskStateChanged> ||
                      std::is_same_v<T, OfferSent> || std::is_same_v<T, OfferRemoved>) {
          return e.frameworkId;
        } else {
          return none;
        }
      },
      body);
}

}  // namespace agora::master::events
