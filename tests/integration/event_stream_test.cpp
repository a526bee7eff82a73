// GET /api/v1/events against a real master and agent: what happens to a
// task and an agent arrives in order, a client that reconnects with
// Last-Event-ID misses nothing, and one that never reads is dropped while
// the others get everything.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "common/http_client.hpp"
#include "common/sse.hpp"
#include "frameworks/sdk/cluster_events.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

using nlohmann::json;

// Follows the stream on a thread of its own until stop().
class Follower {
 public:
  Follower(std::string base, std::string query, std::string lastEventId = "")
      : base_(std::move(base)) {
    thread_ = std::thread([this, query = std::move(query), lastEventId = std::move(lastEventId)] {
      std::map<std::string, std::string> headers;
      if (!lastEventId.empty()) headers["Last-Event-ID"] = lastEventId;
      http::SseParser parser;
      auto result = http::getStream(
          "http://" + base_ + "/api/v1/events" + query, headers, [&](std::string_view chunk) {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto& m : parser.feed(chunk)) {
              ids_.push_back(m.id);
              events_.push_back(json::parse(m.data, nullptr, false));
            }
            return !stopping_.load();
          });
      std::lock_guard<std::mutex> lock(mutex_);
      status_ = result ? result->status : -1;
      done_ = true;
    });
  }
  ~Follower() { stop(); }

  // Ends the stream: the next event it receives stops it (a weight change
  // makes one).
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    if (!finished()) {
      (void)http::request("POST", "http://" + base_ + "/api/v1/weights",
                          R"({"role":"wake-follower","weight":1})");
    }
    thread_.join();
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  std::vector<json> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ids_;
  }
  int status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  // Whether an event matches `pred` (polled until `timeout`).
  bool saw(const std::function<bool(const json&)>& pred,
           std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    return eventually(
        [&] {
          for (const auto& e : events()) {
            if (pred(e)) return true;
          }
          return false;
        },
        timeout);
  }

 private:
  std::string base_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<json> events_;
  std::vector<std::string> ids_;
  std::atomic<bool> stopping_{false};
  bool done_ = false;
  int status_ = 0;
};

std::function<bool(const json&)> taskIn(const std::string& id, const std::string& state) {
  return [id, state](const json& e) {
    return e.value("type", "") == "task_state_changed" && e["task"].value("id", "") == id &&
           e["task"].value("state", "") == state;
  };
}

std::function<bool(const json&)> ofType(const std::string& type) {
  return [type](const json& e) { return e.value("type", "") == type; };
}

// "type" or "type TASK STATE" per event, in order.
std::vector<std::string> summary(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    std::string line = e.value("type", "");
    if (e.contains("task")) line += " " + e["task"].value("id", "") + " " + e["task"].value("state", "");
    if (e.contains("offer") && line == "offer_removed") line += " " + e["offer"].value("reason", "");
    out.push_back(line);
  }
  return out;
}

// The position of `line` in `lines` at or after `from`; npos when absent.
size_t find(const std::vector<std::string>& lines, const std::string& line, size_t from = 0) {
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i] == line) return i;
  }
  return std::string::npos;
}

class EventStreamTest : public ::testing::Test {
 protected:
  void startCluster(std::vector<std::string> masterFlags = {}) {
    cluster_.startMaster(std::move(masterFlags));
    cluster_.startAgent();
  }

  std::unique_ptr<sdk::SchedulerDriver> launch(RecordingScheduler& scheduler, TaskInfo task) {
    return launchOnce(scheduler, std::move(task), cluster_, "events-test");
  }

  bool kill(const std::string& taskId) {
    auto killed = http::request("POST", "http://" + cluster_.masterHttp() + "/api/v1/tasks/" +
                                            taskId + "/kill");
    return killed && killed->status == 200;
  }

  double metric(const std::string& name) {
    auto metrics = http::get("http://" + cluster_.masterHttp() + "/metrics");
    if (!metrics) return -1;
    std::smatch match;
    if (!std::regex_search(metrics->body, match, std::regex("\\n" + name + " ([0-9.e+-]+)"))) {
      return -1;
    }
    return std::stod(match[1]);
  }

  Cluster cluster_;
};

TEST_F(EventStreamTest, ALaunchAKillAndAnAgentLossArriveInOrderAfterASnapshot) {
  startCluster();
  Follower follower(cluster_.masterHttp(), "");
  ASSERT_TRUE(follower.saw(ofType("snapshot")));
  json snapshot = follower.events().front();
  EXPECT_EQ(snapshot.value("type", ""), "snapshot");
  EXPECT_EQ(snapshot["state"]["agents"].size(), 1u) << snapshot.dump();

  RecordingScheduler scheduler;
  auto driver = launch(scheduler, shellTask("victim", "sleep 60"));
  ASSERT_TRUE(follower.saw(taskIn("victim", "TASK_RUNNING")));
  ASSERT_TRUE(kill("victim"));
  ASSERT_TRUE(follower.saw(taskIn("victim", "TASK_KILLED")));
  cluster_.agent(0).signal(SIGKILL);
  ASSERT_TRUE(follower.saw(ofType("agent_unreachable")));
  follower.stop();

  auto lines = summary(follower.events());
  size_t subscribed = find(lines, "framework_subscribed");
  size_t offered = find(lines, "offer_sent", subscribed);
  size_t accepted = find(lines, "offer_removed accepted", offered);
  size_t staging = find(lines, "task_state_changed victim TASK_STAGING", accepted);
  size_t running = find(lines, "task_state_changed victim TASK_RUNNING", staging);
  size_t killed = find(lines, "task_state_changed victim TASK_KILLED", running);
  size_t lost = find(lines, "agent_unreachable", killed);
  EXPECT_NE(lost, std::string::npos) << ::testing::PrintToString(lines);
  // Numbered without gaps after the snapshot's number.
  auto ids = follower.ids();
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_EQ(follower.events()[i].value("id", 0ull), follower.events()[i - 1].value("id", 0ull) + 1)
        << ids[i - 1] << " then " << ids[i];
  }
}

TEST_F(EventStreamTest, ReconnectingWithLastEventIdMissesNothing) {
  startCluster();
  RecordingScheduler scheduler;
  std::string lastId;
  {
    Follower first(cluster_.masterHttp(), "?from=now");
    auto driver = launch(scheduler, shellTask("resumed", "sleep 60"));
    ASSERT_TRUE(first.saw(taskIn("resumed", "TASK_RUNNING")));
    first.stop();
    ASSERT_FALSE(first.ids().empty());
    lastId = first.ids().back();
    // Meanwhile, while nobody follows: the kill and its end.
    ASSERT_TRUE(kill("resumed"));
    ASSERT_TRUE(scheduler.waitForState("resumed", TaskState::KILLED));
  }
  Follower resumed(cluster_.masterHttp(), "?from=now", lastId);
  ASSERT_TRUE(resumed.saw(taskIn("resumed", "TASK_KILLED")));
  auto events = resumed.events();
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.front().value("type", ""), "snapshot");
  uint64_t last = std::stoull(lastId.substr(lastId.rfind(':') + 1));
  EXPECT_EQ(events.front().value("id", 0ull), last + 1) << "missed events after " << lastId;
  resumed.stop();

  // An ID of another stream (another master, or a restart): a snapshot.
  Follower stranger(cluster_.masterHttp(), "?from=now", "elsewhere:12");
  ASSERT_TRUE(stranger.saw(ofType("snapshot")));
  EXPECT_EQ(stranger.events().front().value("type", ""), "snapshot");
}

TEST_F(EventStreamTest, FiltersAndBadQueries) {
  startCluster();
  auto bad = http::get("http://" + cluster_.masterHttp() + "/api/v1/events?types=tasks");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("unknown type 'tasks'"), std::string::npos) << bad->body;
  // (role too: the weight change that ends the follower is one)
  Follower tasksOnly(cluster_.masterHttp(), "?from=now&types=task,role");
  RecordingScheduler scheduler;
  auto driver = launch(scheduler, shellTask("quick", "true"));
  ASSERT_TRUE(tasksOnly.saw(taskIn("quick", "TASK_FINISHED")));
  tasksOnly.stop();
  for (const auto& e : tasksOnly.events()) {
    std::string type = e.value("type", "");
    EXPECT_TRUE(type == "task_state_changed" || type == "weight_changed") << type;
  }
  // Without follow: the recent events, then the end.
  auto recent = http::get("http://" + cluster_.masterHttp() +
                          "/api/v1/events?from=oldest&follow=false&types=task");
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->status, 200);
  EXPECT_NE(recent->body.find("\"TASK_FINISHED\""), std::string::npos) << recent->body;
  // The CLI's view of the same.
  std::string out, err;
  ASSERT_EQ(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "events",
                                 "--type", "task"},
                                &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("task_state_changed"), std::string::npos) << out;
  EXPECT_NE(out.find("quick TASK_FINISHED (REASON_COMMAND_EXITED) on "), std::string::npos) << out;
  EXPECT_EQ(out.find("offer_sent"), std::string::npos) << out;
  ASSERT_EQ(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "events",
                                 "--type", "offer", "-o", "json"},
                                &out, &err),
            0)
      << err;
  auto first = json::parse(out.substr(0, out.find('\n')), nullptr, false);
  EXPECT_EQ(first.value("type", ""), "offer_sent") << out;
  EXPECT_NE(cluster_.runCommand({binPath("agora"), "--master", cluster_.masterHttp(), "events",
                                 "--type", "bogus"},
                                &out, &err),
            0);
  EXPECT_NE(err.find("unknown type 'bogus'"), std::string::npos) << err;
}

TEST_F(EventStreamTest, AClientThatNeverReadsIsDroppedAndTheOthersGetEverything) {
  startCluster({"--event-stream-client-queue", "65536"});
  Follower reader(cluster_.masterHttp(), "?from=now&types=role");
  // A client that asks and never reads, with a small receive buffer.
  int stuck = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(stuck, 0);
  int small = 4096;
  setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(
      std::stoi(cluster_.masterHttp().substr(cluster_.masterHttp().find(':') + 1))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(stuck, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  std::string ask = "GET /api/v1/events?from=now HTTP/1.1\r\nHost: master\r\nAuthorization: Bearer " +
                    cluster_.credentials().operatorToken + "\r\n\r\n";
  ASSERT_EQ(write(stuck, ask.data(), ask.size()), static_cast<ssize_t>(ask.size()));
  ASSERT_TRUE(eventually([&] { return metric("agora_event_stream_clients") >= 2; }));

  // ~600 KB of events: past the 64 KiB queue and the kernel's buffers.
  constexpr int kChanges = 5000;
  std::string base = "http://" + cluster_.masterHttp() + "/api/v1/weights";
  for (int i = 0; i < kChanges; ++i) {
    std::string body = R"({"role":"r)" + std::to_string(i % 50) + R"(","weight":)" +
                       std::to_string(1 + i % 7) + "}";
    auto set = http::request("POST", base, body);
    ASSERT_TRUE(set && set->status == 200) << i;
  }
  EXPECT_TRUE(eventually([&] { return metric("agora_event_stream_clients_dropped_total") >= 1; }))
      << metric("agora_event_stream_clients_dropped_total");
  ASSERT_TRUE(eventually([&] {
    size_t weights = 0;
    for (const auto& e : reader.events()) weights += e.value("type", "") == "weight_changed";
    return weights >= kChanges;
  })) << reader.events().size();
  EXPECT_LT(metric("agora_master_event_loop_lag_seconds"), 0.5);
  close(stuck);
  reader.stop();
}

TEST_F(EventStreamTest, TheSdkFollowerStartsOverWithASnapshotAfterAMasterRestart) {
  startCluster();
  std::mutex mutex;
  std::vector<json> seen;
  sdk::ClusterEvents::Options options;
  options.master = cluster_.masterHttp();
  options.reconnectDelay = millis(200);
  auto follower = sdk::ClusterEvents::start(options, [&](const json& e) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(e);
  });
  ASSERT_TRUE(follower.has_value()) << follower.error().message;
  auto count = [&](const std::string& type) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::count_if(seen.begin(), seen.end(),
                         [&](const json& e) { return e.value("type", "") == type; });
  };
  ASSERT_TRUE(eventually([&] { return count("snapshot") == 1; }));
  ASSERT_TRUE(http::request("POST", "http://" + cluster_.masterHttp() + "/api/v1/weights",
                            R"({"role":"eng","weight":3})"));
  ASSERT_TRUE(eventually([&] { return count("weight_changed") == 1; }));

  // Another run of the master is another stream: the follower reconnects
  // and, unable to resume, gets a new snapshot to start over from.
  ASSERT_TRUE(cluster_.restartMasterAfterSigkill());
  ASSERT_TRUE(eventually([&] { return count("snapshot") == 2; }, std::chrono::seconds(20)))
      << (*follower)->lastError();
  EXPECT_GE((*follower)->reconnects(), 1u);
  std::vector<std::string> streams;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& e : seen) {
      if (e.value("type", "") == "snapshot") streams.push_back(e.value("stream", ""));
    }
  }
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_NE(streams[0], streams[1]) << "the restarted master's events are a stream of their own";
}

}  // namespace
}  // namespace agora::testing
