// agora-bench-recovery: a real agora-master with N simulated agents (real
// ZeroMQ, benchmarks/sim_agent_pool.hpp) running M tasks of one framework; the
// master is SIGKILLed and started again on the same work dir, and every agent
// re-registers with its tasks. Also times single and batched registry commits.
// Prints: recovery metric=master_restart agents=N tasks=M ms=... (spawn of the
//         new master until every agent is re-registered; startup_ms is the part
//         until its HTTP API answered)
//         recovery metric=real_agent_reregister ms=... (until one real
//         agora-agent, which is not told of the restart, re-registered)
//         registry metric=write_latency single_p50_ms=... single_p99_ms=... batch100_p50_ms=...
//         loop_encode_us=... record_bytes=...
//         memory metric=master agents=N tasks=M base_mb=... bytes_per_agent=...
//         bytes_per_task=... second_half_bytes_per_task=... (the master's
//         resident set: started, after the agents registered, after half and
//         after all the tasks ran)
//         memory metric=master_snapshot tasks=M bytes_per_task=... (what the
//         rendering kept for the HTTP API adds)
//         memory metric=master_per_agent agents=N bytes_per_agent=...
//         transport_bytes_per_agent=... master_state_bytes_per_agent=... (the
//         transport's part measured on a server that only answers
//         registrations and pings over the same transport, for the same
//         agents: benchmarks/transport_baseline.hpp; the master's state is
//         the rest)

#include <capnp/message.h>
#include <glog/logging.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/sim_agent_pool.hpp"
#include "benchmarks/transport_baseline.hpp"
#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/flags.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/subprocess.hpp"
#include "master/registry/registry_store.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double msSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// Subscribes (failover timeout of an hour) and launches `perAgent` tasks on
// each offered agent until `total` are launched; declines everything else.
// raise() launches more on every agent again.
class HoldingScheduler {
 public:
  HoldingScheduler(ClientTransport& client, int total, int perAgent, Resources task)
      : client_(client), total_(total), perAgent_(perAgent), task_(std::move(task)) {
    client_.setHandler([this](std::string_view, std::string_view payload) { onEvent(payload); });
  }
  void subscribe() {
    send([](schema::Call::Builder call) {
      FrameworkInfo info;
      info.name = "bench-recovery";
      info.roles = {"*"};
      info.failoverTimeoutSec = 3600;
      toCapnp(info, call.initSubscribe());
    });
  }
  void heartbeat() {
    send([](schema::Call::Builder call) { call.setHeartbeat(); });
  }
  // Launches `perAgent` more per offered agent until `total` in all, and
  // revives the offers declined so far.
  void raise(int total, int perAgent) {
    total_ = total;
    perAgent_ = perAgent;
    send([](schema::Call::Builder call) { call.initRevive(0); });
  }

 private:
  void send(const std::function<void(schema::Call::Builder)>& fill) {
    sendCall(client_, frameworkId_, fill);
  }
  void onEvent(std::string_view payload) {
    auto decoded = Decoded::parse(payload);
    CHECK(decoded.has_value()) << decoded.error().message;
    auto event = decoded->root<schema::Event>();
    if (event.which() == schema::Event::SUBSCRIBED) {
      frameworkId_ = event.getSubscribed().getFrameworkId();
    } else if (event.which() == schema::Event::OFFERS) {
      for (auto offer : event.getOffers()) onOffer(offer.getId(), offer.getAgentId());
    } else if (event.which() == schema::Event::ERROR) {
      LOG(FATAL) << "master error: " << std::string(event.getError());
    }
  }
  void onOffer(std::string offerId, std::string agentId) {
    std::vector<TaskInfo> batch;
    while (launched_ < total_ && static_cast<int>(batch.size()) < perAgent_) {
      TaskInfo task;
      task.taskId = "t" + std::to_string(launched_++);
      task.agentId = agentId;
      task.resources = task_;
      task.command.value = "sleep 3600";
      batch.push_back(std::move(task));
    }
    send([&](schema::Call::Builder call) {
      if (batch.empty()) {
        auto decline = call.initDecline();
        decline.initOfferIds(1).set(0, offerId);
        decline.initFilters().setRefuseSeconds(3600);
        return;
      }
      auto accept = call.initAccept();
      accept.initOfferIds(1).set(0, offerId);
      auto launch = accept.initOperations(1)[0].initLaunch(static_cast<unsigned>(batch.size()));
      for (unsigned i = 0; i < batch.size(); ++i) toCapnp(batch[i], launch[i]);
      accept.initFilters().setRefuseSeconds(3600);
    });
  }

  ClientTransport& client_;
  int total_;
  int perAgent_;
  Resources task_;
  int launched_ = 0;
  std::string frameworkId_;
};

// Starts argv with its output in WORK/NAME.out and .err.
pid_t startProcess(const std::vector<std::string>& argv, const std::string& work,
                   const std::string& name) {
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = work + "/" + name + ".out";
  options.stderrPath = work + "/" + name + ".err";
  options.dieWithParent = true;
  auto pid = spawn(options);
  CHECK(pid.has_value()) << pid.error().message;
  return *pid;
}

// The status of the agent serving `url` in the master's /api/v1/agents ("" if
// not listed), and its ID into *id.
std::string agentStatus(const std::string& http, const std::string& url, std::string* id) {
  auto response = http::get(http + "/api/v1/agents", std::chrono::seconds(5));
  if (!response || response->status != 200) return "";
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded()) return "";
  for (const auto& agent : json.value("agents", nlohmann::json::array())) {
    if (agent.value("url", "") != url) continue;
    if (id != nullptr) *id = agent.value("id", "");
    return agent.value("status", "");
  }
  return "";
}

pid_t startMaster(const std::vector<std::string>& argv, const std::string& work) {
  return startProcess(argv, work, "master");
}

void waitHealthy(const std::string& http) {
  for (int i = 0; i < 6000; ++i) {
    auto health = http::get(http + "/health", std::chrono::seconds(1));
    if (health && health->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  LOG(FATAL) << "master did not become healthy";
}

// Times commits of one agent record each, then of 100 records each.
void measureRegistryWrites(const std::string& dir) {
  master::RegistryContents contents;
  auto store = master::RegistryStore::open(dir + "/write-bench.db", contents);
  CHECK(store.has_value()) << store.error().message;
  master::AgentRecord record;
  record.hostname = "bench";
  record.resources = *Resources::parse("cpus:2;mem:1024;ports:[31000-32000]");
  std::vector<double> single;
  for (int i = 0; i < 200; ++i) {
    record.id = "a" + std::to_string(i);
    auto start = SteadyClock::now();
    CHECK((*store)->commit({master::putAgent(record)}));
    single.push_back(msSince(start));
  }
  std::vector<double> batch;
  for (int b = 0; b < 20; ++b) {
    std::vector<master::Mutation> mutations;
    for (int i = 0; i < 100; ++i) {
      record.id = "b" + std::to_string(b * 100 + i);
      mutations.push_back(master::putAgent(record));
    }
    auto start = SteadyClock::now();
    CHECK((*store)->commit(mutations));
    batch.push_back(msSince(start));
  }
  // What the master's loop pays per write: encoding the record (the commit
  // runs on the registrar's writer thread).
  auto encodeStart = SteadyClock::now();
  size_t bytes = 0;
  for (int i = 0; i < 10000; ++i) bytes += master::putAgent(record).bytes->size();
  double encodeUs = msSince(encodeStart) * 1000 / 10000;
  std::printf("registry metric=write_latency single_p50_ms=%.3f single_p99_ms=%.3f "
              "batch100_p50_ms=%.3f loop_encode_us=%.2f record_bytes=%zu\n",
              percentile(single, 0.5), percentile(single, 0.99), percentile(batch, 0.5), encodeUs,
              bytes / 10000);
}

int run(int argc, char** argv) {
  po::options_description options("Options");
  int agents = 0, tasks = 0, threads = 0;
  std::string masterBinary, agentBinary;
  options.add_options()("agents", po::value(&agents)->default_value(1000), "simulated agents")(
      "tasks", po::value(&tasks)->default_value(10000), "running tasks")(
      "agent-threads", po::value(&threads)->default_value(2), "threads for simulated agents")(
      "master-binary", po::value(&masterBinary)->default_value(selfDirectory() + "/agora-master"),
      "agora-master to start")(
      "agent-binary", po::value(&agentBinary)->default_value(selfDirectory() + "/agora-agent"),
      "agora-agent to start as the one real agent")("keep-work-dir",
                                                    "keep the work dir (logs, registry)");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "usage: agora-bench-recovery [--agents N] [--tasks M]",
                           options, vm);
  if (!parsed) {
    std::cerr << parsed.error().message << "\n";
    return 2;
  }
  if (!*parsed) return 0;

  // These fork: before any thread or socket here.
  TransportBaseline baseline;
  SimAgentPool baselineSim(simProcessesFor(agents));
  SimAgentPool sim(simProcessesFor(agents));
  std::string work = std::filesystem::temp_directory_path() /
                     ("agora-bench-recovery-" + std::to_string(getpid()));
  std::filesystem::create_directories(work);
  SimAgentsOptions simOptions{"", agents, threads, *Resources::parse("cpus:16;mem:65536")};
  simOptions.holdTasks = true;
  constexpr double kPingIntervalSec = 10;

  // The transport alone, for the same agents.
  simOptions.masterEndpoint = baseline.start(kPingIntervalSec);
  double transportBaseRss = settledResidentBytes(baseline.pid());
  baselineSim.start(simOptions);
  while (baseline.registered() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double transportPerAgent = (settledResidentBytes(baseline.pid()) - transportBaseRss) / agents;
  baselineSim.stop();
  baseline.stop();

  std::string http = "127.0.0.1:" + std::to_string(pickPort());
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(pickPort());
  // Pings every 10 s and an hour of missed ones before an agent counts as
  // unreachable: with 10,000 simulated agents on a loaded machine, agents
  // registered early missed two minutes of pings while the rest registered
  // and churned (unreachable, then registered anew), which is not what this
  // measures.
  std::vector<std::string> argvMaster = {masterBinary,
                                         "--work-dir", work + "/master",
                                         "--http", http,
                                         "--listen", endpoint,
                                         "--log-dir", work,
                                         "--agent-ping-interval", std::to_string(kPingIntervalSec),
                                         "--agent-max-missed-pings", "360"};
  pid_t master = startMaster(argvMaster, work);
  waitHealthy(http);
  double baseRss = settledResidentBytes(master);

  simOptions.masterEndpoint = endpoint;
  sim.start(simOptions);
  while (sim.registered() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double agentsRss = settledResidentBytes(master);

  EventLoop loop;
  auto client = ZmqClient::create(loop, endpoint, randomIdentity("sched"));
  CHECK(client.has_value());
  // Two halves, each spread over every agent: the second half's growth is
  // the tasks' own, without the first traffic through each agent's
  // connection (libzmq touches its per-connection buffers' pages as messages
  // pass, a cost per agent that the first half pays).
  int half = tasks / 2;
  auto perAgent = [&](int count) { return (count + agents - 1) / agents; };
  HoldingScheduler scheduler(**client, half, perAgent(half), *Resources::parse("cpus:0.1;mem:32"));
  scheduler.subscribe();
  loop.addPeriodic(std::chrono::milliseconds(500), [&] { scheduler.heartbeat(); });
  int target = half;
  loop.addPeriodic(std::chrono::milliseconds(10), [&] {
    if (sim.tasksRun() >= static_cast<uint64_t>(target)) loop.stop();
  });
  auto runUntilStarted = [&] {
    auto deadline = loop.addTimer(std::chrono::minutes(5), [&] { loop.stop(); });
    loop.run();
    loop.cancelTimer(deadline);
    CHECK_EQ(sim.tasksRun(), static_cast<uint64_t>(target)) << "tasks did not all start";
  };
  runUntilStarted();
  double halfRss = settledResidentBytes(master);
  target = tasks;
  scheduler.raise(tasks, perAgent(tasks - half));
  runUntilStarted();
  double tasksRss = settledResidentBytes(master);
  std::printf("memory metric=master agents=%d tasks=%d base_mb=%.1f bytes_per_agent=%.0f "
              "bytes_per_task=%.0f second_half_bytes_per_task=%.0f\n",
              agents, tasks, baseRss / (1 << 20), (agentsRss - baseRss) / agents,
              (tasksRss - agentsRss) / std::max(tasks, 1),
              (tasksRss - halfRss) / std::max(tasks - half, 1));
  double agentBytes = (agentsRss - baseRss) / agents;
  std::printf("memory metric=master_per_agent agents=%d bytes_per_agent=%.0f "
              "transport_bytes_per_agent=%.0f master_state_bytes_per_agent=%.0f\n",
              agents, agentBytes, transportPerAgent, agentBytes - transportPerAgent);
  std::fflush(stdout);
  // What a reader of the HTTP API adds: the master keeps its latest rendering.
  auto rendered = http::get(http + "/api/v1/tasks", std::chrono::seconds(60));
  CHECK(rendered.has_value() && rendered->status == 200) << "GET /api/v1/tasks failed";
  double renderedRss = settledResidentBytes(master);
  std::printf("memory metric=master_snapshot tasks=%d bytes_per_task=%.0f\n", tasks,
              (renderedRss - tasksRss) / std::max(tasks, 1));
  std::fflush(stdout);

  // One real agora-agent too: it must notice the restart by itself.
  std::string realHttp = "127.0.0.1:" + std::to_string(pickPort());
  std::string realUrl = "http://" + realHttp;
  pid_t realAgent = startProcess({agentBinary, "--master", endpoint, "--work-dir", work + "/agent",
                                  "--http", realHttp, "--resources", "cpus:1;mem:256"},
                                 work, "agent");
  std::string realId;
  for (int i = 0; i < 3000 && agentStatus(http, realUrl, &realId) != "REGISTERED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(!realId.empty()) << "the real agent did not register; see " << work << "/agent.err";

  kill(master, SIGKILL);
  waitpid(master, nullptr, 0);
  auto restart = SteadyClock::now();
  master = startMaster(argvMaster, work);
  waitHealthy(http);
  double startupMs = msSince(restart);
  sim.reregisterAll();
  while (sim.reregistered() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double totalMs = msSince(restart);
  std::string realIdAfter;
  double realMs = -1;
  for (int i = 0; i < 30000; ++i) {
    if (agentStatus(http, realUrl, &realIdAfter) == "REGISTERED" && realIdAfter == realId) {
      realMs = msSince(restart);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(realAgent, SIGTERM);
  waitpid(realAgent, nullptr, 0);

  // The HTTP API serves a snapshot that may lag the loop by a render.
  size_t runningTasks = 0;
  for (int i = 0; i < 500 && runningTasks != static_cast<size_t>(tasks); ++i) {
    auto running = http::get(http + "/api/v1/tasks?state=RUNNING", std::chrono::seconds(30));
    if (running && running->status == 200) {
      runningTasks =
          nlohmann::json::parse(running->body).value("tasks", nlohmann::json::array()).size();
    }
    if (runningTasks != static_cast<size_t>(tasks)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::printf("recovery metric=master_restart agents=%d tasks=%d ms=%.0f startup_ms=%.0f "
              "tasks_running_after=%zu\n",
              agents, tasks, totalMs, startupMs, runningTasks);
  // Until the real agent re-registered on its own (-1: not within 60 s).
  std::printf("recovery metric=real_agent_reregister ms=%.0f startup_ms=%.0f\n", realMs, startupMs);
  measureRegistryWrites(work);
  std::fflush(stdout);
  sim.stop();
  kill(master, SIGTERM);
  waitpid(master, nullptr, 0);
  if (!vm.count("keep-work-dir")) std::filesystem::remove_all(work);
  return runningTasks == static_cast<size_t>(tasks) ? 0 : 1;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) {
  agora::initLogging(argv[0], "");
  return agora::bench::run(argc, argv);
}
