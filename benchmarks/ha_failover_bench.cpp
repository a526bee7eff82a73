// agora-bench-ha-failover: a real ZooKeeper, three agora-master candidates
// (session timeout 2 s), one agent and one scheduler that find the leader
// through ZooKeeper. Each run SIGKILLs the leader and measures the time until
// the scheduler receives an offer made by the new leader, then restarts the
// killed master as a standby. Prints one line per run and:
//   recovery metric=ha_failover_zk_registry masters=3 session_timeout_s=2 ms=<median> ...
// (metric=ha_failover with --registry sqlite). Before the failovers it times
// the ZooKeeper registry in-process against the same server:
//   registry metric=zk_commit_latency single_p50_ms=... single_p99_ms=... pipelined_per_write_ms=...
//   registry metric=zk_takeover_read agents=1000 ms=...

#include <signal.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/event_loop.hpp"
#include "common/flags.hpp"
#include "common/zk/zk_session.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/client_config.hpp"
#include "common/subprocess.hpp"
#include "frameworks/sdk/scheduler_driver.hpp"
#include "master/registry/zk_registry.hpp"
#include "tests/support/zookeeper_server.hpp"
#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::bench {
namespace {

using namespace std::chrono_literals;
using testing::Child;
using testing::eventually;
using testing::freePort;

constexpr int kMasters = 3;

class Bench {
 public:
  Bench(std::string root, std::string sessionTimeout, std::string registry)
      : root_(std::move(root)),
        sessionTimeout_(std::move(sessionTimeout)),
        registry_(std::move(registry)) {
    zookeeper_ = std::make_unique<testing::ZooKeeperServer>(root_ + "/zk");
    url_ = zookeeper_->url("/agora/bench");
    // Security on, as in production: CurveZMQ with one server key shared by
    // the masters, HTTP tokens.
    auto keys = ensureLocalCredentials(root_ + "/security", "");
    if (!keys) throw std::runtime_error(keys.error().message);
    keys_ = *keys;
    for (int i = 0; i < kMasters; ++i) {
      http_.push_back("127.0.0.1:" + std::to_string(freePort()));
      endpoints_.push_back("tcp://127.0.0.1:" + std::to_string(freePort()));
      masters_.push_back(nullptr);
      startMaster(i);
    }
  }
  ~Bench() {
    driver_.reset();
    agent_.reset();
    masters_.clear();
    zookeeper_.reset();
    testing::killProcessesUnder(root_);
  }

  void startMaster(int i) {
    masters_[i] = start("master" + std::to_string(i),
                        {binary("agora-master"), "--work-dir", root_ + "/master" + std::to_string(i),
                         "--http", http_[i], "--listen", endpoints_[i], "--zk", url_,
                         "--zk-session-timeout", sessionTimeout_, "--framework-heartbeat-interval",
                         "1", "--agent-ping-interval", "1", "--registry", registry_,
                         "--curve-key", keys_.masterKey, "--credentials", keys_.credentialsDir,
                         "--tokens", keys_.tokensFile});
  }
  void startClients() {
    agent_ = start("agent", {binary("agora-agent"), "--master", url_, "--work-dir",
                             root_ + "/agent", "--resources", "cpus:4;mem:4096", "--isolation",
                             "posix", "--curve-key", keys_.agentKey, "--master-public-key",
                             keys_.masterPublicKey});
    sdk::DriverOptions options;
    options.framework.name = "ha-bench";
    options.framework.roles = {"*"};
    options.framework.failoverTimeoutSec = 600;
    options.masterEndpoint = url_;
    options.curve = *loadCurveClientKeys(keys_.frameworkKey, keys_.masterPublicKey);
    auto driver = sdk::SchedulerDriver::create(scheduler_, options);
    if (!driver) throw std::runtime_error(driver.error().message);
    driver_ = std::move(*driver);
    driver_->start();
  }
  // The leading master's index and ID, once exactly one says it leads.
  std::optional<std::pair<int, std::string>> leader() {
    std::optional<std::pair<int, std::string>> found;
    for (int i = 0; i < kMasters; ++i) {
      auto response = http::get("http://" + http_[i] + "/health", 1s);
      if (!response || response->status != 200) continue;
      auto health = nlohmann::json::parse(response->body, nullptr, false);
      if (health.is_object() && health.value("role", "") == "leader") {
        if (found) return std::nullopt;
        found = {i, health["leader"].value("id", "")};
      }
    }
    return found;
  }
  // When the first offer made by master `id` arrived at the scheduler.
  std::optional<std::chrono::steady_clock::time_point> firstOfferFrom(const std::string& id) {
    for (const auto& o : scheduler_.offers()) {
      if (o.offer.id.rfind(id + "-", 0) == 0) return o.at;
    }
    return std::nullopt;
  }
  // One failover; milliseconds from SIGKILL to the new leader's first offer.
  double failover() {
    std::optional<std::pair<int, std::string>> old;
    if (!eventually([&] { return (old = leader()) && firstOfferFrom(old->second); }, 60s)) {
      throw std::runtime_error("no leader offering; see " + root_);
    }
    masters_[old->first]->signal(SIGKILL);
    auto killed = std::chrono::steady_clock::now();
    killedWall_ = wallClockText();
    masters_[old->first]->wait(5s);
    std::optional<std::pair<int, std::string>> next;
    if (!eventually([&] { return (next = leader()) && next->first != old->first &&
                                 firstOfferFrom(next->second); },
                    60s)) {
      throw std::runtime_error("no offer from a new leader; see " + root_);
    }
    double ms = std::chrono::duration<double, std::milli>(*firstOfferFrom(next->second) - killed)
                    .count();
    startMaster(old->first);  // back as a standby for the next run
    return ms;
  }

 private:
  // Local time with microseconds, as glog prints it, to find a run in the logs.
  static std::string wallClockText() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm local{};
    localtime_r(&t, &local);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) % 1000000;
    char text[32];
    std::snprintf(text, sizeof(text), "%02d:%02d:%02d.%06ld", local.tm_hour, local.tm_min,
                  local.tm_sec, static_cast<long>(us.count()));
    return text;
  }
  std::string binary(const std::string& name) { return selfDirectory() + "/" + name; }
  std::unique_ptr<Child> start(const std::string& name, std::vector<std::string> argv) {
    SpawnOptions options;
    options.argv = std::move(argv);
    options.stdoutPath = options.stderrPath = root_ + "/" + name + ".log";
    options.dieWithParent = true;
    auto pid = spawn(options);
    if (!pid) throw std::runtime_error("cannot start " + name + ": " + pid.error().message);
    return std::make_unique<Child>(name, *pid);
  }

  std::string root_;
  std::string sessionTimeout_;
  std::string registry_;
  std::unique_ptr<testing::ZooKeeperServer> zookeeper_;
  std::string url_;
  LocalCredentials keys_;
  std::vector<std::string> http_, endpoints_;
  std::vector<std::unique_ptr<Child>> masters_;
  std::unique_ptr<Child> agent_;
  std::string killedWall_;
  testing::RecordingScheduler scheduler_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;

 public:
  std::string zkAddress() const { return zookeeper_->address(); }
  const std::string& killedWall() const { return killedWall_; }
};

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

// Runs `loop` until `done` holds; throws after 60 s.
void runUntil(EventLoop& loop, const std::function<bool()>& done) {
  auto check = loop.addPeriodic(millis(1), [&] {
    if (done()) loop.stop();
  });
  auto deadline = loop.addTimer(seconds(60), [&] { loop.stop(); });
  loop.run();
  loop.cancelTimer(check);
  loop.cancelTimer(deadline);
  if (!done()) throw std::runtime_error("ZooKeeper registry did not answer within 60 s");
}

// The ZooKeeper registry in-process: per-write commit latency (one write in
// flight), pipelined writes, and a takeover read of `agents` agent records.
void measureZkRegistry(const std::string& servers, int agents) {
  EventLoop loop;
  auto session = zk::ZkSession::create(loop, {servers, seconds(10)});
  if (!session) throw std::runtime_error(session.error().message);
  runUntil(loop, [&] { return (*session)->connected(); });
  const std::string election = "/agora/registry-bench";
  std::optional<Result<std::string>> fence;
  (*session)->ensurePath(election, [&](Status) {
    (*session)->create(election + "/info_bench-", "", true,
                       [&](Result<std::string> r) { fence = std::move(r); });
  });
  runUntil(loop, [&] { return fence.has_value(); });
  if (!*fence) throw std::runtime_error(fence->error().message);
  master::ZkRegistry registry(loop, **session, servers, election);
  std::optional<Result<master::RegistryContents>> read;
  registry.takeover(**fence, false, [&](auto r) { read = std::move(r); });
  runUntil(loop, [&] { return read.has_value(); });
  master::AgentRecord record;
  record.hostname = "bench";
  record.resources = *Resources::parse("cpus:16;mem:65536;ports:[31000-32000]");
  std::vector<double> single;
  for (int i = 0; i < agents; ++i) {
    record.id = "agent-" + std::to_string(i);
    bool done = false;
    auto start = std::chrono::steady_clock::now();
    registry.submit({master::putAgent(record)}, [&](Status s) {
      if (!s) throw std::runtime_error(s.error().message);
      single.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      done = true;
    });
    runUntil(loop, [&] { return done; });
  }
  int completed = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < agents; ++i) {
    record.id = "agent-" + std::to_string(i);
    record.registeredTime = 1;
    registry.submit({master::putAgent(record)}, [&](Status) { completed++; });
  }
  runUntil(loop, [&] { return completed == agents; });
  double pipelinedMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("registry metric=zk_commit_latency writes=%d single_p50_ms=%.2f single_p99_ms=%.2f "
              "pipelined_per_write_ms=%.3f\n",
              agents, percentile(single, 0.5), percentile(single, 0.99), pipelinedMs / agents);
  master::ZkRegistry next(loop, **session, servers, election);
  read.reset();
  start = std::chrono::steady_clock::now();
  next.takeover(**fence, false, [&](auto r) { read = std::move(r); });
  runUntil(loop, [&] { return read.has_value(); });
  double readMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!*read || read->value().agents.size() != static_cast<size_t>(agents)) {
    throw std::runtime_error("takeover read the wrong number of agents");
  }
  std::printf("registry metric=zk_takeover_read agents=%d ms=%.0f\n", agents, readMs);
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  int runs = 5;
  double sessionTimeoutSec = 2;
  int registryAgents = 1000;
  std::string registry;
  bool keepLogs = false;
  po::options_description flags("Options");
  flags.add_options()("runs", po::value(&runs)->default_value(5), "failovers to measure")(
      "registry", po::value(&registry)->default_value("zk"), "the masters' --registry: zk or sqlite")(
      "registry-agents", po::value(&registryAgents)->default_value(1000),
      "agent records for the ZooKeeper registry figures (0: skip them)")(
      "session-timeout", po::value(&sessionTimeoutSec)->default_value(2),
      "ZooKeeper session timeout of the masters, seconds")(
      "keep-logs", po::bool_switch(&keepLogs),
      "keep the work directory with every process's log (printed at the end)");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "Usage: agora-bench-ha-failover [--runs N]", flags, vm);
  if (!parsed) {
    std::cerr << parsed.error().message << std::endl;
    return 2;
  }
  if (!*parsed) return 0;
  std::string why;
  if (!testing::ZooKeeperServer::available(&why)) {
    std::cerr << "agora-bench-ha-failover: " << why << std::endl;
    return 1;
  }
  initLogging(argv[0], "");
  std::string root = std::filesystem::temp_directory_path() /
                     ("agora-bench-ha-" + std::to_string(getpid()));
  std::filesystem::create_directories(root);
  std::vector<double> ms;
  try {
    Bench bench(root, std::to_string(sessionTimeoutSec) + "s", registry);
    if (registryAgents > 0) measureZkRegistry(bench.zkAddress(), registryAgents);
    bench.startClients();
    for (int i = 0; i < runs; ++i) {
      ms.push_back(bench.failover());
      std::printf("run %d: ha_failover_ms=%.0f killed_at=%s\n", i + 1, ms.back(),
                  bench.killedWall().c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "agora-bench-ha-failover: " << e.what() << std::endl;
    return 1;
  }
  if (keepLogs) {
    std::printf("logs kept in %s\n", root.c_str());
  } else {
    std::filesystem::remove_all(root);
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "recovery metric=%s masters=%d session_timeout_s=%g ms=%.0f runs=%d min_ms=%.0f "
      "max_ms=%.0f\n",
      registry == "zk" ? "ha_failover_zk_registry" : "ha_failover", kMasters, sessionTimeoutSec, ms[ms.size() / 2], runs, ms.front(), ms.back());
  return 0;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) { return agora::bench::run(argc, argv); }
