// agora-bench-service: a real agora-master, N simulated agents over real
// ZeroMQ (they hold every task RUNNING and kill at once) and a real
// agora-service. Deploys one app of M instances, then a rolling update of
// all of them (max_surge 10%), polling the app's status API throughout.
// Prints one line of figures; asserts nothing about time.

#include <glog/logging.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/sim_agents.hpp"
#include "common/client_config.hpp"
#include "common/flags.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/subprocess.hpp"

namespace agora::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string appSpec(int instances, const std::string& version) {
  int surge = std::max(1, instances / 10);
  return "id: /bench/web\ninstances: " + std::to_string(instances) +
         "\ncpus: 0.01\nmem: 4\ncmd: 'serve " + version +
         "'\n"
         "upgrade: {min_health: 1.0, max_surge: " +
         std::to_string(surge) + ", progress_deadline: 10m}\n";
}

pid_t start(const std::vector<std::string>& argv, const std::string& logs) {
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = logs + ".out";
  options.stderrPath = logs + ".err";
  options.dieWithParent = true;
  auto pid = spawn(options);
  CHECK(pid.has_value()) << pid.error().message;
  return *pid;
}

bool waitHealthy(const std::string& address, std::chrono::seconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    auto health = http::get(address + "/health", std::chrono::seconds(1));
    if (health && health->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Polls the app until its deployment `version` succeeded; each poll's
// latency goes to `latencies`. Seconds taken, or -1 after `timeout`.
double follow(const std::string& api, int64_t version, std::vector<double>& latencies,
              std::chrono::seconds timeout) {
  auto started = SteadyClock::now();
  while (SteadyClock::now() - started < timeout) {
    auto before = SteadyClock::now();
    auto r = http::get(api + "/v1/apps/bench/web?tasks=false", std::chrono::seconds(10));
    latencies.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - before).count());
    if (r && r->status == 200) {
      auto body = nlohmann::json::parse(r->body, nullptr, false);
      const auto& d = body.is_object() ? body["deployment"] : nlohmann::json();
      if (d.is_object() && d.value("to_version", 0) == version) {
        std::string outcome = d.value("outcome", "");
        if (outcome == "succeeded") {
          return std::chrono::duration<double>(SteadyClock::now() - started).count();
        }
        if (outcome != "running") {
          std::cerr << "deployment " << outcome << ": " << d.value("status", "") << "\n";
          return -1;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

int run(int argc, char** argv) {
  po::options_description options("Options");
  int agents = 0, instances = 0, threads = 0;
  std::string agentResources;
  options.add_options()("agents", po::value(&agents)->default_value(1000), "simulated agents")(
      "instances", po::value(&instances)->default_value(10000), "instances of the app")(
      "agent-threads", po::value(&threads)->default_value(2), "threads for simulated agents")(
      "agent-resources",
      po::value(&agentResources)->default_value("cpus:8;mem:16384;ports:[31000-32000]"),
      "each agent's resources");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "usage: agora-bench-service [--agents N] [--instances M]",
                           options, vm);
  if (!parsed) return std::cerr << parsed.error().message << "\n", 2;
  if (!*parsed) return 0;
  auto agentRes = Resources::parse(agentResources);
  if (!agentRes) return std::cerr << "bad --agent-resources\n", 2;

  std::string bin = selfDirectory();
  std::string work =
      std::filesystem::temp_directory_path() / ("agora-bench-service-" + std::to_string(getpid()));
  std::filesystem::create_directories(work);
  std::string masterHttp = "127.0.0.1:" + std::to_string(pickPort());
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(pickPort());
  std::string api = "127.0.0.1:" + std::to_string(pickPort());
  pid_t master = start({bin + "/agora-master", "--work-dir", work + "/master", "--http", masterHttp,
                        "--listen", endpoint, "--log-dir", work + "/logs"},
                       work + "/master");
  CHECK(waitHealthy(masterHttp, std::chrono::seconds(30))) << "the master did not start";
  SimAgentsOptions simOptions{endpoint, agents, threads, *agentRes};
  simOptions.holdTasks = true;
  SimAgents sim(simOptions);
  sim.start();
  while (sim.registered() < agents) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Plain links: an empty client configuration (no CurveZMQ keys).
  { std::ofstream(work + "/client.conf") << "{}\n"; }
  std::filesystem::permissions(work + "/client.conf", std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write);
  // Its API takes the operator's token, as a real one does.
  auto keys = ensureLocalCredentials(work + "/security", masterHttp);
  CHECK(keys) << keys.error().message;
  http::setDefaultCredentials({{}, keys->operatorToken});
  pid_t service =
      start({bin + "/agora-service", "--master", endpoint, "--work-dir", work + "/service",
             "--http", api, "--config", work + "/client.conf", "--tokens", keys->tokensFile},
            work + "/service");
  CHECK(waitHealthy(api, std::chrono::seconds(30))) << "agora-service did not start; see " << work;
  // Leading (subscribed, reconciled) once its app list answers.
  for (int i = 0; i < 600; ++i) {
    auto r = http::get(api + "/v1/apps", std::chrono::seconds(1));
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  std::vector<double> latencies;
  double serviceCpuBefore = cpuSeconds(service), masterCpuBefore = cpuSeconds(master);
  auto applied = http::request("POST", "http://" + api + "/v1/apps", appSpec(instances, "v1"),
                               std::chrono::seconds(30));
  CHECK(applied && applied->status == 200) << (applied ? applied->body : applied.error().message);
  double deploy = follow(api, 1, latencies, std::chrono::seconds(600));
  applied = http::request("POST", "http://" + api + "/v1/apps", appSpec(instances, "v2"),
                          std::chrono::seconds(30));
  CHECK(applied && applied->status == 200) << (applied ? applied->body : applied.error().message);
  double rolling = follow(api, 2, latencies, std::chrono::seconds(600));
  double serviceCpu = cpuSeconds(service) - serviceCpuBefore;
  double masterCpu = cpuSeconds(master) - masterCpuBefore;
  std::printf(
      "service instances=%d agents=%d deploy_all_running_s=%.2f rolling_update_s=%.2f"
      " api_p50_ms=%.2f api_p99_ms=%.2f api_polls=%zu killed=%llu service_cpu_s=%.1f"
      " master_cpu_s=%.1f\n",
      instances, agents, deploy, rolling, percentile(latencies, 0.5), percentile(latencies, 0.99),
      latencies.size(), static_cast<unsigned long long>(sim.tasksKilled()), serviceCpu, masterCpu);
  std::fflush(stdout);
  kill(service, SIGTERM);
  waitpid(service, nullptr, 0);
  sim.stop();
  kill(master, SIGTERM);
  waitpid(master, nullptr, 0);
  std::filesystem::remove_all(work);
  return deploy >= 0 && rolling >= 0 ? 0 : 1;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) {
  agora::initLogging(argv[0], "");
  return agora::bench::run(argc, argv);
}
