// The toolkit's server-sent events (frameworks/kit/event_hub.hpp) on a real
// ApiServer on 127.0.0.1, read with the real HTTP client: the snapshot first,
// then events in order with their ids; types; clients that leave or do not
// read are dropped without publish() waiting; keep-alives; a snapshot taken
// on the framework's loop falls between two of its events.

#include "frameworks/kit/event_hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "frameworks/kit/api.hpp"
#include "tests/common/raw_connection.hpp"
#include "tests/kit/sse_follower.hpp"

namespace agora::kit {
namespace {

using nlohmann::json;
using testing::Follower;
using testing::waitFor;

class EventHubTest : public ::testing::Test {
 protected:
  void start(EventHub::Options events = {}) {
    ApiServer::Options options;
    options.name = "test-fw";
    options.events = events;
    auto created = ApiServer::create(std::move(options));
    ASSERT_TRUE(created) << created.error().message;
    api_ = std::move(*created);
    ASSERT_TRUE(api_->start());
  }
  EventHub& hub() { return api_->events(); }
  std::string eventsUrl(const std::string& query = "") {
    return api_->url() + "/api/v1/events" + query;
  }
  uint16_t port() { return static_cast<uint16_t>(std::stoi(api_->address().substr(10))); }

  std::unique_ptr<ApiServer> api_;
};

TEST_F(EventHubTest, ASnapshotComesFirstThenEachEventInOrderWithItsId) {
  start();
  std::atomic<int> apps{0};
  hub().setSnapshot([&] { return json{{"apps", apps.load()}}; });
  apps = 1;
  EXPECT_EQ(hub().publish("app_added", {{"id", "a"}}), 1u);  // before any client
  Follower follower(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return follower.messages().size() == 1; }));
  EXPECT_EQ(hub().clients(), 1u);
  auto snapshot = follower.messages()[0];
  EXPECT_EQ(snapshot.event, "snapshot");
  EXPECT_EQ(snapshot.id, "1");  // it includes event 1
  EXPECT_EQ(json::parse(snapshot.data), json({{"apps", 1}}));

  EXPECT_EQ(hub().publish("app_added", {{"id", "b"}}), 2u);
  EXPECT_EQ(hub().publish("app_changed", {{"id", "a"}, {"note", "two\nlines"}}), 3u);
  EXPECT_EQ(hub().publish("app removed!", {{"id", "b"}}), 4u);
  ASSERT_TRUE(waitFor([&] { return follower.messages().size() == 4; }));
  auto got = follower.messages();
  EXPECT_EQ(got[1].event, "app_added");
  EXPECT_EQ(got[1].id, "2");
  EXPECT_EQ(json::parse(got[1].data), json({{"id", "b"}}));
  EXPECT_EQ(got[2].event, "app_changed");
  EXPECT_EQ(got[2].id, "3");
  EXPECT_EQ(json::parse(got[2].data)["note"], "two\nlines");
  EXPECT_EQ(got[3].event, "app_removed_");  // a type stays one SSE field
  EXPECT_EQ(got[3].id, "4");
  EXPECT_EQ(hub().lastId(), 4u);
}

TEST_F(EventHubTest, TypesChooseTheEventsAfterTheSnapshot) {
  start();
  hub().setSnapshot([] { return json::object(); });
  Follower some(eventsUrl("?types=app_added,app_removed"));
  Follower all(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return some.messages().size() == 1 && all.messages().size() == 1; }));
  hub().publish("app_changed", {{"id", "a"}});
  hub().publish("app_added", {{"id", "b"}});
  hub().publish("task_changed", {{"id", "t"}});
  hub().publish("app_removed", {{"id", "a"}});
  ASSERT_TRUE(waitFor([&] { return all.messages().size() == 5; }));
  ASSERT_TRUE(waitFor([&] { return some.messages().size() == 3; }));
  auto got = some.messages();
  EXPECT_EQ(got[0].event, "snapshot");
  EXPECT_EQ(got[1].event, "app_added");
  EXPECT_EQ(got[1].id, "2");
  EXPECT_EQ(got[2].event, "app_removed");
  EXPECT_EQ(got[2].id, "4");
}

TEST_F(EventHubTest, AClientThatLeavesIsDropped) {
  start();
  Follower stays(eventsUrl());
  Follower leaves(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return hub().clients() == 2; }));
  leaves.stop();
  ASSERT_TRUE(waitFor([&] {
    hub().publish("tick", json::object());
    return hub().clients() == 1;
  }));
  ASSERT_TRUE(waitFor([&] { return stays.messages().size() == hub().lastId(); }));
}

TEST_F(EventHubTest, AClientThatDoesNotReadIsDroppedAndPublishNeverWaitsForIt) {
  EventHub::Options options;
  options.maxQueuedBytes = 256 << 10;
  start(options);
  http::RawConnection stuck(port(), 4096);
  ASSERT_TRUE(stuck.connected());
  ASSERT_TRUE(stuck.send("GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n"));
  ASSERT_TRUE(waitFor([&] { return hub().clients() == 1; }));
  Follower reader(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return hub().clients() == 2; }));
  // 16 MiB in batches the reader keeps up with; the stuck client reads none.
  // A publish() that waited for the stuck client would never return (it
  // never reads), so the reader getting every batch is the proof.
  const json payload = {{"blob", std::string(8 << 10, 'x')}};
  for (size_t batch = 1; batch <= 100; ++batch) {
    for (int i = 0; i < 20; ++i) hub().publish("big", payload);
    ASSERT_TRUE(waitFor([&] { return reader.count() == batch * 20; })) << reader.count();
  }
  EXPECT_EQ(hub().clients(), 1u);  // the stuck one is gone
  EXPECT_TRUE(stuck.waitForClose());
}

TEST_F(EventHubTest, KeepalivesKeepAnIdleStreamOpen) {
  EventHub::Options options;
  options.keepalive = std::chrono::milliseconds(50);
  start(options);
  Follower follower(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return follower.raw().find(": keepalive\n\n") != std::string::npos; }));
  EXPECT_TRUE(follower.messages().empty());
  EXPECT_FALSE(follower.done());
}

TEST_F(EventHubTest, MoreClientsThanAllowedGet503) {
  EventHub::Options options;
  options.maxClients = 1;
  start(options);
  Follower first(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return hub().clients() == 1; }));
  auto second = http::get(eventsUrl());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_NE(second->body.find("too many event clients"), std::string::npos) << second->body;
}

// The framework's loop publishes a counter every millisecond; a snapshot
// taken on that loop says exactly which events follow it.
TEST_F(EventHubTest, ASnapshotTakenOnTheLoopFallsBetweenTwoOfItsEvents) {
  EventLoop loop;
  EventHub::Options options;
  options.loop = &loop;
  start(options);
  int counter = 0;  // loop thread only
  hub().setSnapshot([&] {
    EXPECT_TRUE(loop.inLoopThread());
    return json{{"counter", counter}};
  });
  std::thread thread([&] { loop.run(); });
  loop.post([&] {
    loop.addPeriodic(std::chrono::milliseconds(1), [&] {
      ++counter;
      hub().publish("tick", {{"counter", counter}});
    });
  });
  ASSERT_TRUE(waitFor([&] { return hub().lastId() >= 5; }));
  Follower follower(eventsUrl());
  ASSERT_TRUE(waitFor([&] { return follower.messages().size() >= 4; }));
  loop.stop();
  thread.join();
  auto got = follower.messages();
  ASSERT_EQ(got[0].event, "snapshot");
  int seen = json::parse(got[0].data)["counter"];
  EXPECT_EQ(got[0].id, std::to_string(seen));
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, std::to_string(seen + static_cast<int>(i)));
    EXPECT_EQ(json::parse(got[i].data)["counter"], seen + static_cast<int>(i));
  }
  follower.stop();
  api_.reset();  // before the loop goes
}

}  // namespace
}  // namespace agora::kit
