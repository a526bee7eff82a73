// agora-bench-launch: starts a real agora-master, N simulated agents in this
// process over real ZeroMQ and a scheduler (speaking the raw protocol, so the
// driver's own overhead stays out of the figures) that launches M short tasks.
// Prints: launch agents=N tasks=M launches_per_s=... first_offer_ms_p50=...
//         first_offer_ms_p99=... sse_clients=K events_per_s=... loop_lag_ms_p50=...
//         loop_lag_ms_max=... loop_cpu_us_per_launch=... master_cpu_s=... bench_cpu_s=...
// With --sse-clients K, K clients follow GET /api/v1/events meanwhile
// (events_per_s: events they received, per client, over the launch phase).
// The master's event-loop lag (its worst timer lateness per second, from
// /metrics) is sampled every second of the launch phase. CPU over the launch
// phase: the master's loop thread (its main thread) per launch, the whole
// master, and this process (agents, scheduler, SSE clients): on a small host
// the clients' share of the CPU is what the others lose.

#include <capnp/message.h>
#include <glog/logging.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <regex>
#include <stop_token>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/sim_agents.hpp"
#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/flags.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/model.hpp"
#include "common/subprocess.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

class BenchScheduler {
 public:
  // `rate`: launches per second at most (0: as fast as offers allow).
  BenchScheduler(EventLoop& loop, ClientTransport& client, int tasks, Resources taskResources,
                 double rate)
      : loop_(loop),
        client_(client),
        tasks_(tasks),
        taskResources_(std::move(taskResources)),
        rate_(rate) {
    client_.setHandler([this](std::string_view, std::string_view payload) { onEvent(payload); });
  }

  void subscribe() {
    subscribeAt_ = SteadyClock::now();
    send([&](schema::Call::Builder call) {
      FrameworkInfo info;
      info.name = "bench";
      info.roles = {"*"};
      info.failoverTimeoutSec = 0;
      toCapnp(info, call.initSubscribe());
    });
  }

  bool done() const { return finished_ + failed_ >= tasks_; }
  int finished() const { return finished_; }
  int failed() const { return failed_; }
  SteadyClock::time_point firstLaunch() const { return firstLaunch_; }
  SteadyClock::time_point lastTerminal() const { return lastTerminal_; }
  // Subscription -> first offer for each agent, in ms.
  std::vector<double> firstOfferMs() const {
    std::vector<double> out;
    for (const auto& [agent, ms] : firstOfferMs_) out.push_back(ms);
    return out;
  }
  void heartbeat() {
    send([](schema::Call::Builder call) { call.setHeartbeat(); });
  }

 private:
  void send(const std::function<void(schema::Call::Builder)>& fill) {
    sendCall(client_, frameworkId_, fill);
  }

  void onEvent(std::string_view payload) {
    auto decoded = Decoded::parse(payload);
    CHECK(decoded.has_value()) << decoded.error().message;
    auto event = decoded->root<schema::Event>();
    switch (event.which()) {
      case schema::Event::SUBSCRIBED:
        frameworkId_ = event.getSubscribed().getFrameworkId();
        break;
      case schema::Event::OFFERS:
        for (auto offer : event.getOffers()) onOffer(offer);
        break;
      case schema::Event::UPDATE:
        onUpdate(event.getUpdate());
        break;
      case schema::Event::ERROR:
        LOG(FATAL) << "master error: " << std::string(event.getError());
      default:
        break;
    }
  }

  void onOffer(schema::Offer::Reader offer) {
    std::string agentId = offer.getAgentId();
    if (!firstOfferMs_.count(agentId)) {
      firstOfferMs_[agentId] =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - subscribeAt_).count();
    }
    auto resources = Resources::fromCapnp(offer.getResources());
    CHECK(resources.has_value());
    std::vector<TaskInfo> batch;
    Resources left = *resources;
    // With a rate, no more than rate × seconds since the first offer.
    if (rateStart_ == SteadyClock::time_point()) rateStart_ = SteadyClock::now();
    int allowed = tasks_;
    if (rate_ > 0) {
      double seconds = std::chrono::duration<double>(SteadyClock::now() - rateStart_).count();
      allowed = std::min(tasks_, static_cast<int>(rate_ * seconds) + 1);
    }
    while (launched_ < allowed && left.contains(taskResources_)) {
      TaskInfo task;
      task.taskId = "t" + std::to_string(launched_++);
      task.agentId = agentId;
      task.resources = taskResources_;
      task.command.value = "true";
      left -= taskResources_;
      batch.push_back(std::move(task));
    }
    std::string offerId = offer.getId();
    if (batch.empty()) {
      send([&](schema::Call::Builder call) {
        auto decline = call.initDecline();
        decline.initOfferIds(1).set(0, offerId);
        decline.initFilters().setRefuseSeconds(launched_ >= tasks_ ? 3600 : 0.01);
      });
      return;
    }
    if (firstLaunch_ == SteadyClock::time_point()) firstLaunch_ = SteadyClock::now();
    send([&](schema::Call::Builder call) {
      auto accept = call.initAccept();
      accept.initOfferIds(1).set(0, offerId);
      auto op = accept.initOperations(1)[0];
      auto launch = op.initLaunch(static_cast<unsigned>(batch.size()));
      for (unsigned i = 0; i < batch.size(); ++i) toCapnp(batch[i], launch[i]);
      accept.initFilters().setRefuseSeconds(0.01);
    });
  }

  void onUpdate(schema::TaskStatus::Reader status) {
    auto state = status.getState();
    if (status.getUuid().size() > 0) {
      std::string agentId = status.getAgentId();
      std::string taskId = status.getTaskId();
      auto uuid = status.getUuid();
      send([&](schema::Call::Builder call) {
        auto ack = call.initAcknowledge();
        ack.setAgentId(agentId);
        ack.setTaskId(taskId);
        ack.setUuid(uuid);
      });
    }
    if (state == TaskState::FINISHED) {
      ++finished_;
    } else if (isTerminal(state)) {
      ++failed_;
      LOG_EVERY_N(WARNING, 1000) << "task " << std::string(status.getTaskId()) << " "
                                 << taskStateName(state) << ": "
                                 << std::string(status.getMessage());
    }
    if (isTerminal(state)) lastTerminal_ = SteadyClock::now();
    if (done()) loop_.stop();
  }

  EventLoop& loop_;
  ClientTransport& client_;
  int tasks_;
  Resources taskResources_;
  std::string frameworkId_;
  int launched_ = 0;
  int finished_ = 0;
  int failed_ = 0;
  SteadyClock::time_point subscribeAt_{};
  SteadyClock::time_point firstLaunch_{};
  SteadyClock::time_point rateStart_{};
  double rate_ = 0;
  SteadyClock::time_point lastTerminal_{};
  std::unordered_map<std::string, double> firstOfferMs_;
};

// Clients following the master's event stream, each on a thread.
class SseClients {
 public:
  SseClients(const std::string& httpAddress, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, httpAddress](std::stop_token stop) {
        // Counts events without parsing them (a real client runs elsewhere):
        // each starts a line "data: ", and may be split across chunks.
        static constexpr std::string_view kMark = "\ndata: ";
        std::string tail;
        (void)http::getStream(
            "http://" + httpAddress + "/api/v1/events?from=now", {},
            [&](std::string_view chunk) {
              std::string_view view = chunk;
              std::string joined;
              if (!tail.empty()) {
                joined = tail + std::string(chunk.substr(0, kMark.size()));
                for (size_t at = joined.find(kMark); at != std::string::npos && at < tail.size();
                     at = joined.find(kMark, at + 1)) {
                  ++events_;
                }
              }
              for (size_t at = view.find(kMark); at != std::string_view::npos;
                   at = view.find(kMark, at + 1)) {
                ++events_;
              }
              tail = std::string(view.substr(view.size() > kMark.size() - 1
                                                 ? view.size() - (kMark.size() - 1)
                                                 : 0));
              return true;
            },
            std::chrono::seconds(5), stop);
      });
    }
  }
  ~SseClients() {
    for (auto& t : threads_) t.request_stop();
  }
  uint64_t events() const { return events_.load(); }

 private:
  std::atomic<uint64_t> events_{0};
  std::vector<std::jthread> threads_;
};

// The master's agora_master_event_loop_lag_seconds, in ms, each second.
class LagSampler {
 public:
  explicit LagSampler(const std::string& httpAddress) {
    thread_ = std::jthread([this, httpAddress](std::stop_token stop) {
      std::regex line("agora_master_event_loop_lag_seconds ([0-9.e+-]+)");
      while (!stop.stop_requested()) {
        auto metrics = http::get(httpAddress + "/metrics", std::chrono::seconds(2));
        std::smatch match;
        if (metrics && std::regex_search(metrics->body, match, line)) {
          std::lock_guard<std::mutex> lock(mutex_);
          samples_.push_back(std::stod(match[1]) * 1000);
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    });
  }
  std::vector<double> samples() {
    std::lock_guard<std::mutex> lock(mutex_);
    return samples_;
  }

 private:
  std::mutex mutex_;
  std::vector<double> samples_;
  std::jthread thread_;
};

int run(int argc, char** argv) {
  po::options_description options("Options");
  int agents = 0, tasks = 0, threads = 0, sseClients = 0;
  bool curve = false;
  double rate = 0;
  std::string agentResources, taskResources, masterBinary;
  options.add_options()
      ("agents", po::value(&agents)->default_value(1000), "simulated agents")
      ("tasks", po::value(&tasks)->default_value(100000), "tasks to launch")
      ("agent-threads", po::value(&threads)->default_value(2), "threads for simulated agents")
      ("agent-resources", po::value(&agentResources)->default_value("cpus:2;mem:1024;disk:4096;ports:[31000-32000]"), "each agent's resources")
      ("task-resources", po::value(&taskResources)->default_value("cpus:0.1;mem:32"), "each task's resources")
      ("master-binary", po::value(&masterBinary)->default_value(selfDirectory() + "/agora-master"), "agora-master to start")
      ("sse-clients", po::value(&sseClients)->default_value(0), "clients following GET /api/v1/events")
      ("curve", po::bool_switch(&curve), "CurveZMQ on every link (the master with --curve-key and --credentials)")
      ("rate", po::value(&rate)->default_value(0), "launches per second at most (0: as fast as the master takes them)");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "usage: agora-bench-launch [--agents N] [--tasks M]", options, vm);
  if (!parsed) {
    std::cerr << parsed.error().message << "\n";
    return 2;
  }
  if (!*parsed) return 0;
  auto agentRes = Resources::parse(agentResources);
  auto taskRes = Resources::parse(taskResources);
  if (!agentRes || !taskRes) {
    std::cerr << "bad resources\n";
    return 2;
  }

  std::string work = std::filesystem::temp_directory_path() / ("agora-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(work);
  uint16_t httpPort = pickPort(), zmqPort = pickPort();
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(zmqPort);
  SpawnOptions spawnOptions;
  spawnOptions.argv = {masterBinary, "--work-dir", work, "--http", "127.0.0.1:" + std::to_string(httpPort),
                       "--listen", endpoint, "--log-dir", work + "/logs"};
  // With --curve: one key for all simulated agents, one for the scheduler.
  std::optional<CurveClientKeys> agentKeys, schedulerKeys;
  if (curve) {
    std::filesystem::create_directories(work + "/keys/agents");
    std::filesystem::create_directories(work + "/keys/frameworks");
    CurveKeyPair master = *generateCurveKeyPair(), agent = *generateCurveKeyPair(),
                 scheduler = *generateCurveKeyPair();
    CHECK(writeCurveKeyPair(work + "/keys/master", master));
    CHECK(writeCurveKeyPair(work + "/keys/agents/sim", agent));
    CHECK(writeCurveKeyPair(work + "/keys/frameworks/bench", scheduler));
    spawnOptions.argv.insert(spawnOptions.argv.end(), {"--curve-key", work + "/keys/master.key",
                                                       "--credentials", work + "/keys"});
    agentKeys = CurveClientKeys{agent, master.publicKey};
    schedulerKeys = CurveClientKeys{scheduler, master.publicKey};
  }
  spawnOptions.stdoutPath = work + "/master.out";
  spawnOptions.stderrPath = work + "/master.err";
  spawnOptions.dieWithParent = true;
  auto master = spawn(spawnOptions);
  CHECK(master.has_value()) << master.error().message;
  for (int i = 0; i < 500; ++i) {
    auto health = http::get("127.0.0.1:" + std::to_string(httpPort) + "/health", std::chrono::seconds(1));
    if (health && health->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  SimAgentsOptions simOptions{endpoint, agents, threads, *agentRes};
  simOptions.curve = agentKeys;
  SimAgents sim(simOptions);
  auto registerStart = SteadyClock::now();
  sim.start();
  while (sim.registered() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double registerMs = std::chrono::duration<double, std::milli>(SteadyClock::now() - registerStart).count();

  std::string httpAddress = "127.0.0.1:" + std::to_string(httpPort);
  auto followers = std::make_unique<SseClients>(httpAddress, sseClients);
  LagSampler lag(httpAddress);
  EventLoop loop;
  auto client = ZmqClient::create(loop, endpoint, randomIdentity("sched"),
                                 schedulerKeys ? &*schedulerKeys : nullptr);
  CHECK(client.has_value());
  BenchScheduler scheduler(loop, **client, tasks, *taskRes, rate);
  double loopCpuBefore = cpuSeconds(*master, *master), masterCpuBefore = cpuSeconds(*master);
  double benchCpuBefore = cpuSeconds(getpid());
  scheduler.subscribe();
  loop.addPeriodic(std::chrono::seconds(1), [&] { scheduler.heartbeat(); });
  auto deadline = loop.addTimer(std::chrono::minutes(10), [&] { loop.stop(); });
  loop.run();
  loop.cancelTimer(deadline);
  double loopCpu = cpuSeconds(*master, *master) - loopCpuBefore;
  double masterCpu = cpuSeconds(*master) - masterCpuBefore;
  double benchCpu = cpuSeconds(getpid()) - benchCpuBefore;

  double seconds = std::chrono::duration<double>(scheduler.lastTerminal() - scheduler.firstLaunch()).count();
  auto firstOffer = scheduler.firstOfferMs();
  uint64_t events = followers->events();
  followers.reset();
  auto lagMs = lag.samples();
  std::printf("launch agents=%d tasks=%d rate=%.0f launches_per_s=%.0f first_offer_ms_p50=%.2f first_offer_ms_p99=%.2f"
              " register_all_ms=%.0f finished=%d failed=%d curve=%d sse_clients=%d events_per_s=%.0f"
              " loop_lag_ms_p50=%.2f loop_lag_ms_max=%.2f loop_cpu_us_per_launch=%.1f"
              " master_cpu_s=%.1f bench_cpu_s=%.1f\n",
              agents, tasks, rate, seconds > 0 ? scheduler.finished() / seconds : 0.0,
              percentile(firstOffer, 0.5), percentile(firstOffer, 0.99), registerMs,
              scheduler.finished(), scheduler.failed(), curve ? 1 : 0, sseClients,
              sseClients > 0 && seconds > 0 ? static_cast<double>(events) / sseClients / seconds : 0.0,
              percentile(lagMs, 0.5), percentile(lagMs, 1.0),
              scheduler.finished() > 0 ? loopCpu * 1e6 / scheduler.finished() : 0.0, masterCpu,
              benchCpu);
  std::fflush(stdout);
  sim.stop();
  kill(*master, SIGTERM);
  waitpid(*master, nullptr, 0);
  std::filesystem::remove_all(work);
  return scheduler.done() && scheduler.failed() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) {
  agora::initLogging(argv[0], "");
  return agora::bench::run(argc, argv);
}
