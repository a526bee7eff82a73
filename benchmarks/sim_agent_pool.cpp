#include "benchmarks/sim_agent_pool.hpp"

#include <glog/logging.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

namespace agora::bench {

namespace {
constexpr int kMaxProcesses = 16;
// Each simulated agent's ZMTP heartbeat timers live in its process's one
// libzmq I/O thread, and libzmq cancels a timer by scanning all of them on
// every frame received: a process's heartbeat cost grows with the square of
// its agents. 1,000 per process keeps that small next to the master's work.
constexpr int kAgentsPerProcess = 1000;
constexpr size_t kTextBytes = 256;
}  // namespace

struct SimAgentPool::Shared {
  std::atomic<int> started{0};
  std::atomic<int> stopping{0};
  std::atomic<int> reregisterGeneration{0};
  int processes = 0;
  int agents = 0;
  int threads = 0;
  int holdTasks = 0;
  char endpoint[kTextBytes] = {};
  char resources[kTextBytes] = {};
  SimCounters counters[kMaxProcesses];
};

int simProcessesFor(int agents) {
  return std::clamp((agents + kAgentsPerProcess - 1) / kAgentsPerProcess, 1, kMaxProcesses);
}

SimAgentPool::SimAgentPool(int processes) {
  void* memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
  PCHECK(memory != MAP_FAILED) << "mmap";
  shared_ = new (memory) Shared();
  shared_->processes = std::clamp(processes, 1, kMaxProcesses);
  for (int slot = 0; slot < shared_->processes; ++slot) {
    pid_t pid = fork();
    PCHECK(pid >= 0) << "fork";
    if (pid == 0) runChild(slot);  // never returns
    children_.push_back(pid);
  }
}

SimAgentPool::~SimAgentPool() {
  stop();
  shared_->~Shared();
  munmap(shared_, sizeof(Shared));
}

void SimAgentPool::runChild(int slot) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  while (shared_->started.load() == 0 && shared_->stopping.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (shared_->stopping.load() != 0) _exit(0);
  int per = (shared_->agents + shared_->processes - 1) / shared_->processes;
  int first = slot * per;
  SimAgentsOptions options;
  options.masterEndpoint = shared_->endpoint;
  options.agents = std::max(0, std::min(per, shared_->agents - first));
  options.threads = shared_->threads;
  auto resources = Resources::parse(shared_->resources);
  CHECK(resources.has_value()) << resources.error().message;
  options.resources = *resources;
  options.holdTasks = shared_->holdTasks != 0;
  options.firstIndex = first;
  options.counters = &shared_->counters[slot];
  {
    SimAgents sim(options);
    sim.start();
    int generation = 0;
    while (shared_->stopping.load() == 0) {
      int wanted = shared_->reregisterGeneration.load();
      if (wanted != generation) {
        generation = wanted;
        sim.reregisterAll();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    sim.stop();
  }
  _exit(0);
}

void SimAgentPool::start(const SimAgentsOptions& options) {
  CHECK_LT(options.masterEndpoint.size(), kTextBytes);
  std::string resources = options.resources.toString();
  CHECK_LT(resources.size(), kTextBytes);
  std::strcpy(shared_->endpoint, options.masterEndpoint.c_str());
  std::strcpy(shared_->resources, resources.c_str());
  shared_->agents = options.agents;
  shared_->threads = options.threads;
  shared_->holdTasks = options.holdTasks ? 1 : 0;
  shared_->started.store(1);
}

void SimAgentPool::stop() {
  shared_->stopping.store(1);
  for (pid_t pid : children_) waitpid(pid, nullptr, 0);
  children_.clear();
}

int SimAgentPool::registered() const {
  int total = 0;
  for (int i = 0; i < shared_->processes; ++i) total += shared_->counters[i].registered.load();
  return total;
}

uint64_t SimAgentPool::tasksRun() const {
  uint64_t total = 0;
  for (int i = 0; i < shared_->processes; ++i) total += shared_->counters[i].tasksRun.load();
  return total;
}

void SimAgentPool::reregisterAll() { shared_->reregisterGeneration.fetch_add(1); }

int SimAgentPool::reregistered() const {
  int total = 0;
  for (int i = 0; i < shared_->processes; ++i) total += shared_->counters[i].reregistered.load();
  return total;
}

}  // namespace agora::bench
