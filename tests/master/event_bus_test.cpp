// The master's event bus and the events' JSON, apart from the master.

#include "master/events/event_bus.hpp"

#include <gtest/gtest.h>

#include "master/events/event_json.hpp"

namespace agora::master::events {
namespace {

TaskStateChanged taskEvent(const std::string& id, TaskState state) {
  TaskStateChanged e;
  e.frameworkId = "F1";
  e.taskId = id;
  e.agentId = "A1";
  e.state = state;
  return e;
}

TEST(EventBusTest, EveryConsumerSeesEveryEventInOneOrder) {
  SimulatedClock clock;
  EventBus bus(clock);
  bus.publish(taskEvent("ignored", TaskState::RUNNING));  // nobody listens: not numbered
  EXPECT_EQ(bus.lastId(), 0u);
  std::vector<std::string> first, second;
  auto label = [](const Event& e) {
    return std::to_string(e.id) + ":" + std::get<TaskStateChanged>(e.body).taskId;
  };
  bus.subscribe([&](const std::shared_ptr<const Event>& shared) {
    const Event& e = *shared;
    first.push_back(label(e));
    // A consumer that publishes while handling one: its event comes after
    // the current one has reached everyone.
    if (std::get<TaskStateChanged>(e.body).taskId == "t1") {
      bus.publish(taskEvent("from-consumer", TaskState::KILLED));
    }
  });
  bus.subscribe([&](const std::shared_ptr<const Event>& e) { second.push_back(label(*e)); });
  bus.publish(taskEvent("t1", TaskState::STAGING));
  bus.publish(taskEvent("t2", TaskState::RUNNING));
  std::vector<std::string> expected = {"1:t1", "2:from-consumer", "3:t2"};
  EXPECT_EQ(first, expected);
  EXPECT_EQ(second, expected);
  EXPECT_EQ(bus.lastId(), 3u);
}

TEST(EventBusTest, AConsumerMayLeaveWhileAnEventIsDelivered) {
  SimulatedClock clock;
  EventBus bus(clock);
  int seenByLater = 0;
  EventBus::SubscriptionId later = 0;
  bus.subscribe([&](const std::shared_ptr<const Event>&) { bus.unsubscribe(later); });
  later = bus.subscribe([&](const std::shared_ptr<const Event>&) { ++seenByLater; });
  bus.publish(taskEvent("t1", TaskState::STAGING));
  EXPECT_EQ(seenByLater, 0);
  EXPECT_TRUE(bus.active());
}

TEST(EventJsonTest, ATaskEventCarriesTheApisFieldsAndItsGroup) {
  TaskStateChanged e = taskEvent("t1", TaskState::FAILED);
  e.reason = TaskReason::CONTAINER_LIMITATION_MEMORY;
  e.source = StatusSource::AGENT;
  e.message = "Memory limit exceeded";
  e.exitCode = 137;
  e.resources = *Resources::parse("cpus:0.5;mem:64");
  auto json = toJson(Event{7, 1.7e9, e});
  EXPECT_EQ(json["id"], 7);
  EXPECT_EQ(json["type"], "task_state_changed");
  EXPECT_EQ(json["task"]["id"], "t1");
  EXPECT_EQ(json["task"]["framework_id"], "F1");
  EXPECT_EQ(json["task"]["state"], "TASK_FAILED");
  EXPECT_EQ(json["task"]["reason"], "REASON_CONTAINER_LIMITATION_MEMORY");
  EXPECT_EQ(json["task"]["source"], "agent");
  EXPECT_EQ(json["task"]["exit_code"], 137);
  EXPECT_EQ(json["task"]["resources"]["mem"], 64);
  EXPECT_EQ(groupName(e), std::string("task"));
  EXPECT_EQ(frameworkOf(e), "F1");
  AgentChanged gone{AgentChanged::Kind::kRemoved, "A1", "h", "", {}, {}, "unreachable for 10m"};
  auto agent = toJson(Event{8, 1.7e9, gone});
  EXPECT_EQ(agent["type"], "agent_removed");
  EXPECT_EQ(agent["agent"]["reason"], "unreachable for 10m");
  EXPECT_EQ(frameworkOf(gone), "");
}

TEST(EventJsonTest, TheFastRenderingOfATaskEventIsItsJson) {
  TaskStateChanged e = taskEvent("t\"1\\", TaskState::RUNNING);
  e.message = "line\nbreak \x01 caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  e.containerId = "c1";
  e.healthy = true;
  e.resources = *Resources::parse("cpus:0.25;mem:64;ports:[31000-31002]");
  Event event{42, 1.7e9 + 0.125, e};
  auto fast = nlohmann::json::parse(renderJson(event));
  EXPECT_EQ(fast, toJson(event)) << renderJson(event);
  // Bytes that are not UTF-8 (a task's own message may hold anything)
  // become U+FFFD instead of breaking the stream.
  e.message = "bad \xFF\xC3 end \xED\xA0\x80";
  auto replaced = nlohmann::json::parse(renderJson(Event{43, 1.7e9, e}));
  EXPECT_EQ(replaced["task"]["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD end \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_NO_THROW(renderJson(Event{44, 1.7e9, QuotaChanged{"r\xFF", std::nullopt, std::nullopt}}));
}

}  // namespace
}  // namespace agora::master::events
