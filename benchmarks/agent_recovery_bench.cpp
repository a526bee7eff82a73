// agora-bench-agent-recovery: a real agora-agent with N running tasks (real
// agora-executor processes) is SIGKILLed and restarted on the same work dir.
// The master is played by this process over real ZeroMQ. Measures, from the
// restart, the time until the agent re-registered with all N tasks and until
// all N executors reconnected (the agent's /api/v1/containers shows them
// RUNNING again). Prints:
//   recovery metric=agent_restart tasks=N reregistered_ms=... reconnected_ms=... ms=...

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

#include "agent/executor/envelope.hpp"
#include "common/codec.hpp"
#include "common/flags.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/model.hpp"
#include "common/subprocess.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::bench {
namespace {

using schema::AgentEnvelope;
using SteadyClock = std::chrono::steady_clock;

class FakeMaster {
 public:
  explicit FakeMaster(EventLoop& loop) {
    auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
    CHECK(server) << server.error().message;
    server_ = std::move(*server);
    server_->setHandler([this](const std::string& peer, std::string_view, std::string_view p) {
      onMessage(peer, p);
    });
  }
  std::string endpoint() const { return server_->endpoint(); }
  size_t running = 0;             // distinct tasks reported RUNNING
  size_t reregisteredTasks = 0;   // tasks in the last reregisterAgent
  std::string agentPeer;

  void runTask(int i) {
    server_->send(agentPeer, kAgentProtocol,
                  agent::buildEnvelope<AgentEnvelope>([&](auto e) {
                    auto m = e.initRunTask();
                    m.initFramework().setId("fw");
                    TaskInfo task;
                    task.taskId = "t" + std::to_string(i);
                    task.command.value = "exec sleep 100000";
                    toCapnp(task, m.initTask());
                  }));
  }

 private:
  void onMessage(const std::string& peer, std::string_view payload) {
    auto decoded = Decoded::parse(payload);
    if (!decoded) return;
    auto root = decoded->root<AgentEnvelope>();
    if (root.which() == AgentEnvelope::REGISTER_AGENT ||
        root.which() == AgentEnvelope::REREGISTER_AGENT) {
      agentPeer = peer;
      if (root.which() == AgentEnvelope::REREGISTER_AGENT) {
        reregisteredTasks = root.getReregisterAgent().getTasks().size();
      }
      server_->send(peer, kAgentProtocol, agent::buildEnvelope<AgentEnvelope>([](auto e) {
                      auto m = e.initAgentRegistered();
                      m.setAgentId("A1");
                      m.setPingIntervalSec(3600);
                    }));
    } else if (root.which() == AgentEnvelope::STATUS_UPDATE) {
      auto status = fromCapnp(root.getStatusUpdate().getStatus());
      if (!status) return;
      if (status->state == TaskState::RUNNING) ++running;
      server_->send(peer, kAgentProtocol, agent::buildEnvelope<AgentEnvelope>([&](auto e) {
                      auto a = e.initStatusUpdateAck();
                      a.setFrameworkId("fw");
                      a.setTaskId(status->taskId);
                      a.setUuid(kj::arrayPtr(
                          reinterpret_cast<const kj::byte*>(status->uuid.data()),
                          status->uuid.size()));
                    }));
    }
  }
  std::unique_ptr<ZmqServer> server_;
};

bool runUntil(EventLoop& loop, const std::function<bool()>& done, std::chrono::seconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    loop.runUntilIdle();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

pid_t startAgent(const std::string& master, const std::string& dir, const std::string& http) {
  SpawnOptions options;
  options.argv = {selfDirectory() + "/agora-agent", "--master", master, "--work-dir",
                  dir + "/agent", "--http", http, "--isolation", "posix",
                  "--resources", "cpus:1000;mem:100000"};
  options.stderrPath = dir + "/agent.err";
  options.dieWithParent = true;
  auto pid = spawn(options);
  CHECK(pid) << pid.error().message;
  return *pid;
}

size_t runningContainers(const std::string& http) {
  auto response = http::get("http://" + http + "/api/v1/containers", std::chrono::seconds(2));
  if (!response || response->status != 200) return 0;
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  size_t n = 0;
  auto list = json.is_array() ? json : json.value("containers", nlohmann::json::array());
  for (const auto& c : list) n += c.value("state", "") == "RUNNING";
  return n;
}

int run(int tasks) {
  char tmpl[] = "/tmp/agora-bench-agent-recovery-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  EventLoop loop;
  FakeMaster master(loop);
  std::string http = "127.0.0.1:" + std::to_string(30000 + getpid() % 20000);
  pid_t agent = startAgent(master.endpoint(), dir, http);
  int code = 0;
  if (!runUntil(loop, [&] { return !master.agentPeer.empty(); }, std::chrono::seconds(10))) {
    std::cerr << "agent did not register; see " << dir << "/agent.err\n";
    code = 1;
  }
  for (int i = 0; code == 0 && i < tasks; ++i) master.runTask(i);
  if (code == 0 && !runUntil(loop, [&] { return master.running >= static_cast<size_t>(tasks); },
                             std::chrono::seconds(60))) {
    std::cerr << "only " << master.running << " tasks running\n";
    code = 1;
  }
  kill(agent, SIGKILL);
  waitpid(agent, nullptr, 0);
  master.agentPeer.clear();
  double reregisteredMs = -1, reconnectedMs = -1;
  if (code == 0) {
    auto start = SteadyClock::now();
    agent = startAgent(master.endpoint(), dir, http);
    auto elapsed = [&] {
      return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
    };
    if (runUntil(loop, [&] { return master.reregisteredTasks == static_cast<size_t>(tasks); },
                 std::chrono::seconds(30))) {
      reregisteredMs = elapsed();
    }
    if (runUntil(loop, [&] { return runningContainers(http) == static_cast<size_t>(tasks); },
                 std::chrono::seconds(30))) {
      reconnectedMs = elapsed();
    }
    kill(agent, SIGKILL);
    waitpid(agent, nullptr, 0);
  }
  // Executors and tasks outlive the agent: kill the sessions under our work dir.
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::error_code ec;
    std::string cwd = std::filesystem::read_symlink(entry.path() / "cwd", ec).string();
    std::ifstream in(entry.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cwd.rfind(dir, 0) == 0 || cmd.find(dir) != std::string::npos) {
      kill(std::stoi(entry.path().filename()), SIGKILL);
    }
  }
  if (code == 0 && (reregisteredMs < 0 || reconnectedMs < 0)) {
    std::cerr << "recovery did not complete; see " << dir << "/agent.err\n";
    return 1;
  }
  if (!getenv("AGORA_KEEP_BENCH_DIR")) std::filesystem::remove_all(dir);
  if (code != 0) return code;
  std::printf("recovery metric=agent_restart tasks=%d reregistered_ms=%.1f reconnected_ms=%.1f "
              "ms=%.1f\n",
              tasks, reregisteredMs, reconnectedMs, std::max(reregisteredMs, reconnectedMs));
  return 0;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) {
  int tasks = 100;
  agora::po::options_description options("Options");
  options.add_options()("tasks", agora::po::value(&tasks)->default_value(100),
                        "running tasks when the agent is killed");
  agora::po::variables_map vm;
  auto parsed = agora::parseFlags(argc, argv, "Usage: agora-bench-agent-recovery [--tasks N]", options, vm);
  if (!parsed) {
    std::cerr << parsed.error().message << std::endl;
    return 2;
  }
  if (!*parsed) return 0;
  agora::initLogging(argv[0], "");
  return agora::bench::run(tasks);
}
