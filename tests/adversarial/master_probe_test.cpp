// Hostile peers against a real master and agent on loopback: what a probe
// of a running cluster tried, each asserting the attack fails, the daemons
// keep serving and the counters move.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <sys/resource.h>

#include <fstream>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/http_client.hpp"
#include "common/model.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"
#include "tests/support/hostile_frames.hpp"

namespace agora::testing {
namespace {

class MasterProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Known to the master: the rogues below are peers that got past
    // CurveZMQ (a stolen or a legitimately issued key) and misbehave.
    rogueKeys_ = cluster_.makeKnownKeys("agents", "rogue");
    cluster_.startMaster();
    cluster_.startAgent();
  }

  // agora_messages_rejected_total{reason=...} on the master's /metrics; -1 if absent.
  double rejected(const std::string& reason) {
    auto metrics = http::get("http://" + cluster_.masterHttp() + "/metrics");
    if (!metrics) return -1;
    std::smatch match;
    std::regex line("agora_messages_rejected_total\\{reason=\"" + reason + "\"\\} ([0-9.e+]+)");
    if (!std::regex_search(metrics->body, match, line)) return -1;
    return std::stod(match[1]);
  }

  std::unique_ptr<sdk::SchedulerDriver> startFramework(RecordingScheduler& scheduler,
                                                       TaskInfo task) {
    return launchOnce(scheduler, std::move(task), cluster_, "probe-victim");
  }

  // A metric's value on the master's /metrics (the first line matching
  // `series`, a regex); -1 if absent.
  double metric(const std::string& series) {
    auto metrics = http::get("http://" + cluster_.masterHttp() + "/metrics");
    if (!metrics) return -1;
    std::smatch match;
    if (!std::regex_search(metrics->body, match, std::regex(series + " ([0-9.e+]+)"))) return -1;
    return std::stod(match[1]);
  }

  // A rogue agent process: a connection of its own that notes whether the
  // master answered it as an agent (AgentRegistered).
  struct Rogue {
    EventLoop loop;
    std::unique_ptr<ZmqClient> client;
    bool answered = false;

    // Runs the rogue's loop until the master answers or `limit` passes.
    void runFor(Duration limit) {
      auto guard = loop.addTimer(limit, [this] { loop.stop(); });
      loop.run();
      loop.cancelTimer(guard);
    }
  };

  std::unique_ptr<Rogue> connectRogue() {
    auto rogue = std::make_unique<Rogue>();
    auto client =
        ZmqClient::create(rogue->loop, cluster_.masterEndpoint(), "rogue-agent", &rogueKeys_);
    EXPECT_TRUE(client.has_value());
    if (!client) return nullptr;
    rogue->client = std::move(*client);
    rogue->client->setHandler([r = rogue.get()](std::string_view, std::string_view payload) {
      auto decoded = Decoded::parse(payload);
      if (!decoded) return;
      (void)catchDecode([&] {
        if (decoded->root<schema::AgentEnvelope>().isAgentRegistered()) r->answered = true;
      });
      if (r->answered) r->loop.stop();
    });
    return rogue;
  }

  double masterResidentMiB() {
    std::ifstream in("/proc/" + std::to_string(cluster_.master().pid()) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
    }
    return -1;
  }

  Cluster cluster_;
  CurveClientKeys rogueKeys_;
};

TEST_F(MasterProbeTest, DecompressionBombsAreRefusedUnopenedAndTheMasterKeepsServing) {
  std::string bomb = zeroBomb(8u << 20);  // 64 KiB declaring 64 MiB
  zmq::socket_t raw(zmqContext(), zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.set(zmq::sockopt::routing_id, "bomber");
  cluster_.secureSocket(raw);
  raw.connect(cluster_.masterEndpoint());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 600; ++i) {
    std::array<zmq::const_buffer, 2> parts = {
        zmq::buffer(std::string_view(i % 2 ? kAgentProtocol : kSchedulerProtocol)),
        zmq::buffer(bomb)};
    zmq::send_multipart(raw, parts);
  }
  // Every bomb is accounted for: refused from its segment table, or dropped
  // unread once the peer is turned away.
  ASSERT_TRUE(eventually([&] { return rejected("oversized") + rejected("banned_peer") >= 600; }))
      << "oversized " << rejected("oversized") << ", banned_peer " << rejected("banned_peer");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("600 bombs (%.1f MiB sent) handled in %.3f s: %g oversized, %g dropped unread\n",
              600.0 * static_cast<double>(bomb.size()) / (1 << 20), seconds,
              rejected("oversized"), rejected("banned_peer"));
  EXPECT_GE(rejected("oversized"), 5);
  EXPECT_GE(rejected("banned_peer"), 1);
  // Still serving: a task runs end to end, and the real agent never left.
  RecordingScheduler scheduler;
  auto driver = startFramework(scheduler, shellTask("after-bombs", "true"));
  EXPECT_TRUE(scheduler.waitForState("after-bombs", TaskState::FINISHED));
  auto agents = cluster_.masterGet("/api/v1/agents");
  ASSERT_EQ(agents["agents"].size(), 1u) << agents.dump();
  EXPECT_EQ(agents["agents"][0]["status"], "REGISTERED") << agents.dump();
}

TEST_F(MasterProbeTest, ARegisteredAgentCannotFinishATaskRunningOnAnother) {
  RecordingScheduler scheduler;
  auto driver = startFramework(scheduler, shellTask("victim", "sleep 60"));
  ASSERT_TRUE(scheduler.waitForState("victim", TaskState::RUNNING));

  // A rogue agent registers, then speaks for the victim.
  auto rogue = connectRogue();
  ASSERT_NE(rogue, nullptr);
  capnp::MallocMessageBuilder registration;
  auto envelope = registration.initRoot<schema::AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  auto m = envelope.initRegisterAgent();
  m.setHostname("rogue");
  Resources::parse("cpus:1;mem:64")->toCapnp(m.initResources(2));
  rogue->client->send(kAgentProtocol, encodePacked(registration));
  rogue->runFor(seconds(15));
  ASSERT_TRUE(rogue->answered);

  capnp::MallocMessageBuilder forged;
  auto out = forged.initRoot<schema::AgentEnvelope>();
  out.setVersion(schema::PROTOCOL_VERSION);
  auto update = out.initStatusUpdate();
  update.setFrameworkId(scheduler.frameworkId());
  TaskStatus status;
  status.taskId = "victim";
  status.frameworkId = scheduler.frameworkId();
  status.state = TaskState::FINISHED;
  status.uuid = std::string(16, 'x');
  status.message = "forged";
  toCapnp(status, update.initStatus());
  rogue->client->send(kAgentProtocol, encodePacked(forged));
  rogue->loop.runUntilIdle();

  ASSERT_TRUE(eventually([&] { return rejected("forged_update") >= 1; }));
  auto latest = scheduler.latest("victim");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->state, TaskState::RUNNING) << latest->message;
  EXPECT_EQ(cluster_.task("victim")["state"], "TASK_RUNNING") << cluster_.task("victim").dump();
}

TEST_F(MasterProbeTest, AnotherProcessCannotTakeOverALiveAgentsId) {
  RecordingScheduler scheduler;
  auto driver = startFramework(scheduler, shellTask("victim", "sleep 60"));
  ASSERT_TRUE(scheduler.waitForState("victim", TaskState::RUNNING));
  auto agents = cluster_.masterGet("/api/v1/agents");
  ASSERT_EQ(agents["agents"].size(), 1u) << agents.dump();
  const std::string agentId = agents["agents"][0]["id"];
  const std::string hostname = agents["agents"][0]["hostname"];

  // A rogue process with a key of its own claims the real agent's ID with a
  // huge offer and no tasks, again and again as a real agent retries:
  // obeyed, the victim would be GONE while it runs and the real agent locked
  // out. The ID is bound to the key that registered it.
  auto rogue = connectRogue();
  ASSERT_NE(rogue, nullptr);
  for (uint64_t attempt = 1; attempt <= 5; ++attempt) {
    capnp::MallocMessageBuilder claim;
    auto envelope = claim.initRoot<schema::AgentEnvelope>();
    envelope.setVersion(schema::PROTOCOL_VERSION);
    auto m = envelope.initReregisterAgent();
    m.setAgentId(agentId);
    m.setHostname("rogue");
    std::string attemptId = "rogue-attempt-" + std::to_string(attempt);
    m.setAttempt(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(attemptId.data()),
                                     attemptId.size()));
    Resources::parse("cpus:64;mem:1048576")->toCapnp(m.initResources(2));
    rogue->client->send(kAgentProtocol, encodePacked(claim));
    rogue->runFor(millis(500));
  }
  ASSERT_TRUE(eventually([&] { return rejected("agent_key_mismatch") >= 5; }))
      << rejected("agent_key_mismatch");
  EXPECT_FALSE(rogue->answered) << "the rogue was answered as the agent";
  agents = cluster_.masterGet("/api/v1/agents");
  ASSERT_EQ(agents["agents"].size(), 1u) << agents.dump();
  EXPECT_EQ(agents["agents"][0]["hostname"], hostname) << agents.dump();
  EXPECT_EQ(agents["agents"][0]["status"], "REGISTERED") << agents.dump();
  EXPECT_EQ(cluster_.task("victim")["state"], "TASK_RUNNING") << cluster_.task("victim").dump();
  auto latest = scheduler.latest("victim");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->state, TaskState::RUNNING) << latest->message;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedAllocator = true;
#else
constexpr bool kSanitizedAllocator = false;
#endif

TEST_F(MasterProbeTest, ThousandsOfConnectionsThatCameAndWentLeaveNoMemoryBehind) {
  if (kSanitizedAllocator) GTEST_SKIP() << "the sanitizer's allocator keeps freed memory itself";
  constexpr int kConnections = 4000;
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < kConnections + 200) {
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is " << files.rlim_max;
  }
  files.rlim_cur = files.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  const double before = masterResidentMiB();
  {
    zmq::context_t context;
    context.set(zmq::ctxopt::max_sockets, kConnections + 100);
    std::vector<zmq::socket_t> peers;
    for (int i = 0; i < kConnections; ++i) {
      auto& peer = peers.emplace_back(context, zmq::socket_type::dealer);
      peer.set(zmq::sockopt::linger, 0);
      peer.set(zmq::sockopt::routing_id, "idle-" + std::to_string(i));
      cluster_.secureSocket(peer);
      peer.connect(cluster_.masterEndpoint());
      std::array<zmq::const_buffer, 2> parts = {zmq::buffer(std::string_view(kAgentProtocol)),
                                                zmq::buffer(std::string_view("hello"))};
      (void)zmq::send_multipart(peer, parts, zmq::send_flags::dontwait);
    }
    // The connections cost the master memory while they last (libzmq's
    // buffers, ~28 KB each): otherwise this test would show nothing.
    ASSERT_TRUE(eventually([&] { return masterResidentMiB() > before + 50; },
                           std::chrono::seconds(60)))
        << "resident " << masterResidentMiB() << " MiB, before " << before;
    std::printf("master resident with %d connections: %.0f MiB (before: %.0f MiB)\n",
                kConnections, masterResidentMiB(), before);
  }
  // All closed: the freed buffers go back to the system.
  EXPECT_TRUE(eventually([&] { return masterResidentMiB() < before + 25; },
                         std::chrono::seconds(40)))
      << "resident " << masterResidentMiB() << " MiB, before " << before;
  std::printf("master resident after they closed: %.0f MiB\n", masterResidentMiB());
  // Counted when the trim returned it (glibc sometimes returns the top of
  // an arena on its own).
  EXPECT_GE(metric("agora_heap_trimmed_bytes_total\\{process=\"master\"\\}"), 0);
  // And it still serves.
  RecordingScheduler scheduler;
  auto driver = startFramework(scheduler, shellTask("after-connections", "true"));
  EXPECT_TRUE(scheduler.waitForState("after-connections", TaskState::FINISHED));
}

}  // namespace
}  // namespace agora::testing
