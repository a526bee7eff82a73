#include "frameworks/sdk/messages.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "common/codec.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora::sdk {
namespace {

TEST(MessagesTest, AcceptRoundTripsWithTasksAndFilters) {
  TaskInfo task;
  task.taskId = "t1";
  task.agentId = "a1";
  task.resources = *Resources::parse("cpus:0.5;mem:64");
  task.command.value = "echo hi";
  task.command.environment = {{"K", "V"}};
  Call call{"fw-1", call::Accept{{"o1", "o2"}, {Operation::launch({task})}, 12.5}};

  auto decoded = decodeCall(encodeCall(call));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->frameworkId, "fw-1");
  auto* accept = std::get_if<call::Accept>(&decoded->body);
  ASSERT_NE(accept, nullptr);
  EXPECT_EQ(accept->offerIds, (std::vector<std::string>{"o1", "o2"}));
  EXPECT_DOUBLE_EQ(accept->refuseSeconds, 12.5);
  ASSERT_EQ(accept->operations.size(), 1u);
  ASSERT_EQ(accept->operations[0].tasks.size(), 1u);
  const TaskInfo& got = accept->operations[0].tasks[0];
  EXPECT_EQ(got.taskId, "t1");
  EXPECT_EQ(got.resources, task.resources);
  EXPECT_EQ(got.command.environment, task.command.environment);
}

TEST(MessagesTest, SubscribeCarriesTheFrameworksWebuiUrl) {
  FrameworkInfo info;
  info.name = "web";
  info.roles = {"eng"};
  info.failoverTimeoutSec = 60;
  info.webuiUrl = "https://web.example:8443/ui";
  auto decoded = decodeCall(encodeCall(Call{"", call::Subscribe{info}}));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  auto* subscribe = std::get_if<call::Subscribe>(&decoded->body);
  ASSERT_NE(subscribe, nullptr);
  EXPECT_EQ(subscribe->framework.webuiUrl, "https://web.example:8443/ui");
  EXPECT_EQ(subscribe->framework.name, "web");
  EXPECT_DOUBLE_EQ(subscribe->framework.failoverTimeoutSec, 60);
}

TEST(MessagesTest, EventsRoundTrip) {
  TaskStatus status;
  status.taskId = "t1";
  status.state = TaskState::FAILED;
  status.exitCode = 3;
  status.uuid = std::string("\x00\x01\xff", 3);
  auto decoded = decodeEvent(encodeEvent(Event{event::Update{status}}));
  ASSERT_TRUE(decoded.has_value());
  auto* update = std::get_if<event::Update>(&decoded->body);
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->status.state, TaskState::FAILED);
  EXPECT_EQ(update->status.exitCode, 3);
  EXPECT_EQ(update->status.uuid, status.uuid);

  auto failure = decodeEvent(encodeEvent(Event{event::Failure{"a1", "e1", std::nullopt}}));
  ASSERT_TRUE(failure.has_value());
  EXPECT_FALSE(std::get<event::Failure>(failure->body).status.has_value());
  EXPECT_STREQ(eventName(failure->body), "FAILURE");
}

TEST(MessagesTest, RejectsGarbageAndUnknownVersions) {
  EXPECT_FALSE(decodeEvent("").has_value());
  EXPECT_FALSE(decodeCall("\x07garbage-that-is-not-capnp").has_value());

  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Event>();
  root.setVersion(99);
  root.setHeartbeat();
  auto decoded = decodeEvent(encodePacked(message));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message.find("version 99"), std::string::npos);
}

}  // namespace
}  // namespace agora::sdk
