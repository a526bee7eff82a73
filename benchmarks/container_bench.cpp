// agora-bench-container: container launch latency through a real agent and
// real agora-executor processes (master faked in-process; the agent
// checkpoints as agora-agent does, with its runtime dir on tmpfs as /run is on
// a standard host: see --runtime-dir), from the launch
// message to TASK_RUNNING, for /bin/true tasks launched one after another;
// and, in the same run, `runc run` of a busybox bundle with the same limits.
// Prints per mode:
//   containerlaunch mode=M p50_ms=… p99_ms=… runc_p50_ms=… ratio=…
// (ratio = p50 / runc_p50), after
//   containerfloor mode=ns+cgroups+image p50_ms=… p99_ms=… cpu_ms=…
// the kernel's share of an image container's start on this host
// (container_floor.hpp); the image line adds floor_ratio = p50 / that p50.
// Modes: cgroups; ns+cgroups; ns+cgroups+image (an
// overlay rootfs from a busybox OCI image built here, pulled once into the
// agent's store); ns+cgroups+image+memlayer (its writable layer in memory). Then the time until N
// (default 1000) image containers started at once on one agent are all RUNNING, and until all are
// gone again:
//   manycontainers n=… max_starting=… all_running_s=… all_gone_s=…
//     idle_agent_cpu_pct=… idle_containers_cpu_pct=… floor_cpu_bound_s=…
// (CPU in percent of one core over 10 s while all of them idle: the agent,
// and every container with its executor), and the CPU each container took to
// start (its cgroups: executor, init, task) and the agent's per container
// over the burst: start_cpu_ms_per_container, agent_start_cpu_ms_per_container.
// container_cpu_ms on the launch lines: CPU per launch of the executor, its
// init and task (reaped children), from fork to exit; less noisy than
// latency on a shared host, where it tells whether a change saves work.
// Usage: agora-bench-container [LAUNCHES [RUNC_RUNS [MANY [MAX_STARTING]]]]
// (MAX_STARTING: the agent's --max-starting-containers for the MANY burst,
// default as agora-agent's).
// AGORA_BENCH_FORK_SERVER=0 makes the agent exec each executor instead of
// starting it through its executor fork server (the lines say fork_server=).
// AGORA_BENCH_WRITABLE_LAYER=memory gives the burst's containers their
// writable layer in memory (--writable-layer=memory; the line says
// writable_layer=); mode ns+cgroups+image+memlayer measures it per launch.
// Scratch directories go under $TMPDIR (default /tmp): the filesystem there
// is on the launch path (sandboxes, overlay upper dirs). Needs root, runc
// and busybox-static.

#include <glog/logging.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/cgroups_isolator.hpp"
#include "agent/task_supervisor.hpp"
#include "benchmarks/container_floor.hpp"
#include "common/subprocess.hpp"
#include "tests/agent/images/image_builder.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace {

namespace fs = std::filesystem;
using namespace agora;
using namespace agora::agent;
using Clock = std::chrono::steady_clock;

// Whether the agents start executors through their fork server.
bool forkServer() {
  const char* value = std::getenv("AGORA_BENCH_FORK_SERVER");
  return value == nullptr || std::string(value) != "0";
}

// Whether the MANY burst's containers have their writable layer in memory.
bool burstMemoryLayer() {
  const char* value = std::getenv("AGORA_BENCH_WRITABLE_LAYER");
  return value != nullptr && std::string(value) == "memory";
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

// A fresh directory BASE/NAME-XXXXXX.
std::string freshDir(const std::string& base, const std::string& name) {
  std::string tmpl = base + "/" + name + "-XXXXXX";
  CHECK(mkdtemp(tmpl.data())) << "mkdtemp " << tmpl;
  return tmpl;
}

// Under $TMPDIR (default /tmp): the agents' work dirs, the image and runc's
// bundle live on that filesystem.
std::string scratchDir(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  return freshDir(base != nullptr && *base != '\0' ? base : "/tmp", name);
}

// A fresh runtime dir on tmpfs.
std::string tmpfsRuntimeDir() { return freshDir("/dev/shm", "agora-bench-run"); }

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<std::unique_ptr<Isolator>> cgroupsIsolator() {
  std::vector<std::unique_ptr<Isolator>> isolators;
  auto cg = cgroups::detectCgroups();
  CHECK(cg) << cg.error().message;
  isolators.push_back(std::make_unique<CgroupsIsolator>(
      std::move(*cg),
      CgroupsIsolator::Options{"agora-bench-" + std::to_string(getpid()), false, 1024}));
  return isolators;
}

// A busybox OCI layout under `dir`; returns its reference.
std::string makeBusyboxImage(const std::string& dir) {
  using namespace agora::agent::images::testing;
  Layer layer = makeLayer(busyboxLayer(), /*gzip=*/true);
  OciLayout layout(dir);
  layout.addImage({layer}, makeConfig({layer}, {}, {"/bin/busybox", "true"}), "bench");
  return "oci:" + dir + ":bench";
}

TaskInfo benchTask(const std::string& id, const std::string& image, double memMb) {
  TaskInfo task;
  task.taskId = id;
  task.command.shell = false;
  if (image.empty()) task.command.value = "/bin/true";
  task.container.image = image;
  CHECK(task.resources.setScalar("cpus", 0.01));
  CHECK(task.resources.setScalar("mem", memMb));
  return task;
}

// User plus system CPU of RUSAGE_SELF (this process: the agent's loop and
// ZeroMQ's threads) or RUSAGE_CHILDREN (our reaped children and what they
// reaped: executors, as the fork server's copies are our children too, their
// container inits and tasks).
double cpuSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}
double processCpuSeconds() { return cpuSeconds(RUSAGE_SELF); }
double childrenCpuSeconds() { return cpuSeconds(RUSAGE_CHILDREN); }

struct Launches {
  std::vector<double> ms;  // launch to RUNNING
  double containerCpuMs = 0;  // per launch: executor, init and task, until all are gone
};

// Launch-to-RUNNING latencies of `launches` /bin/true tasks, from `image`
// when set (its store is warmed by one launch first), and their CPU.
Launches measureAgent(bool namespaces, int launches, const std::string& image = "",
                      bool memoryLayer = false) {
  std::string workDir = scratchDir("agora-bench-ctr");
  CHECK(paths::makeDirs(paths::sandboxesRoot(workDir)));
  std::string runtimeDir = tmpfsRuntimeDir();
  Launches out;
  std::vector<double>& ms = out.ms;
  double cpu0 = 0;
  {
    testing::RealAgentHarness agent(
        workDir, namespaces, cgroupsIsolator(), image.empty() ? "" : paths::imageStore(workDir), {},
        /*checkpoint=*/true, runtimeDir, /*maxStarting=*/0, forkServer(), memoryLayer);
    CHECK(agent.error().empty()) << agent.error();
    const auto poll = std::chrono::microseconds(50);
    for (int i = image.empty() ? 0 : -1; i < launches; ++i) {
      if (i == 0) cpu0 = childrenCpuSeconds();  // the image's warm-up launch excluded
      TaskInfo task = benchTask("t" + std::to_string(i), image, 64);
      auto start = Clock::now();
      agent.launch(task);
      bool running = agent.runUntil(
          [&] { return agent.saw(task.taskId, TaskState::RUNNING) || agent.terminal(task.taskId); },
          seconds(10), poll);
      double elapsed = msSince(start);
      CHECK(running) << "task " << task.taskId << " did not start";
      const TaskStatus* end = agent.waitTerminal(task.taskId);
      CHECK(end && end->state == TaskState::FINISHED)
          << task.taskId << ": " << (end ? end->message : "no terminal update");
      CHECK(agent.runUntil([&] { return agent.containerizer().containers().empty(); },
                           seconds(10), poll));
      if (i >= 0) ms.push_back(elapsed);
    }
    if (launches > 0) out.containerCpuMs = 1000 * (childrenCpuSeconds() - cpu0) / launches;
  }
  fs::remove_all(workDir);
  fs::remove_all(runtimeDir);
  return out;
}

// Mounts on the host that mention `path`.
int hostMountsUnder(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(path) != std::string::npos;
  return n;
}

// CPU of every container (cgroup accounting: executor and task).
double containersCpuSeconds(testing::RealAgentHarness& agent) {
  double sum = 0;
  for (const std::string& id : agent.containerizer().containers()) {
    auto usage = agent.containerizer().usage(id);
    if (usage) sum += usage->cpusUserSec + usage->cpusSystemSec;
  }
  return sum;
}

// CPU use while every container idles (its task sleeps), in percent of one
// core: the agent (this process: its loop and ZeroMQ's threads) and all
// containers together (heartbeats, their ZeroMQ threads).
struct IdleCpu {
  double agentPct = 0;
  double containersPct = 0;
};
IdleCpu measureIdle(testing::RealAgentHarness& agent) {
  agent.runUntil([] { return false; }, seconds(2), std::chrono::milliseconds(50));  // settle
  // Reading the containers' usage is kept out of the agent's window.
  double containers0 = containersCpuSeconds(agent);
  double agent0 = processCpuSeconds();
  auto start = Clock::now();
  agent.runUntil([] { return false; }, seconds(10), std::chrono::milliseconds(50));
  double agent1 = processCpuSeconds();
  double wall = msSince(start) / 1000;
  IdleCpu out;
  out.agentPct = 100 * (agent1 - agent0) / wall;
  out.containersPct = 100 * (containersCpuSeconds(agent) - containers0) / wall;
  return out;
}

// Starts `count` sleeping image containers at once; prints how long until all
// run and until all are gone after a kill, and checks nothing is left.
// floor_cpu_bound_s: the least time `count` starts of the kernel floor
// (container_floor.hpp) take on this host's CPUs, from their CPU per start.
void measureMany(const std::string& image, int count, size_t maxStarting, double floorCpuMs) {
  std::string workDir = scratchDir("agora-bench-many");
  CHECK(paths::makeDirs(paths::sandboxesRoot(workDir)));
  std::string runtimeDir = tmpfsRuntimeDir();
  double runningSec = 0, goneSec = 0, startCpuMs = 0, agentStartCpuMs = 0;
  IdleCpu idle;
  {
    testing::RealAgentHarness agent(workDir, true, cgroupsIsolator(), paths::imageStore(workDir),
                                    {}, /*checkpoint=*/true, runtimeDir, maxStarting, forkServer(),
                                    burstMemoryLayer());
    CHECK(agent.error().empty()) << agent.error();
    auto start = Clock::now();
    double agentCpu0 = processCpuSeconds();
    for (int i = 0; i < count; ++i) {
      TaskInfo task = benchTask("m" + std::to_string(i), image, 8);
      task.command.arguments = {"/bin/busybox", "sleep", "3600"};
      agent.launch(task);
      // Turn the loop during the burst so early launches start while later ones queue.
      if (i % 50 == 49) agent.runUntil([] { return true; }, millis(1));
    }
    int running = 0;
    bool all = agent.runUntil(
        [&] {
          running = 0;
          for (int i = 0; i < count; ++i) {
            running += agent.saw("m" + std::to_string(i), TaskState::RUNNING);
          }
          return running == count;
        },
        seconds(600), std::chrono::milliseconds(50));
    runningSec = msSince(start) / 1000;
    CHECK(all) << running << " of " << count << " containers running after 600 s";
    startCpuMs = 1000 * containersCpuSeconds(agent) / count;
    agentStartCpuMs = 1000 * (processCpuSeconds() - agentCpu0) / count;
    idle = measureIdle(agent);
    start = Clock::now();
    for (int i = 0; i < count; ++i) agent.kill("m" + std::to_string(i));
    CHECK(agent.runUntil([&] { return agent.containerizer().containers().empty(); },
                         seconds(600), std::chrono::milliseconds(50)));
    goneSec = msSince(start) / 1000;
  }
  int leftovers = 0;
  for (const std::string& root : {workDir, runtimeDir}) {
    CHECK_EQ(hostMountsUnder(root), 0) << "mounts left under " << root;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(paths::containersRoot(root), ec)) {
      leftovers += fs::exists(entry.path() / "rootfs");
    }
  }
  CHECK_EQ(leftovers, 0) << "overlay dirs left under " << workDir << " or " << runtimeDir;
  fs::remove_all(workDir);
  fs::remove_all(runtimeDir);
  std::cout << "manycontainers n=" << count << " max_starting=" << maxStarting
            << " fork_server=" << forkServer()
            << " writable_layer=" << (burstMemoryLayer() ? "memory" : "disk")
            << " all_running_s=" << runningSec << " all_gone_s=" << goneSec
            << " start_cpu_ms_per_container=" << startCpuMs
            << " agent_start_cpu_ms_per_container=" << agentStartCpuMs
            << " idle_agent_cpu_pct=" << idle.agentPct
            << " idle_containers_cpu_pct=" << idle.containersPct << " floor_cpu_bound_s="
            << count * floorCpuMs / 1000 / std::max(1u, std::thread::hardware_concurrency())
            << " leftover_mounts=0 leftover_rootfs=0" << std::endl;
}

// A busybox bundle running /bin/true with the tasks' limits.
std::string makeRuncBundle(const std::string& dir) {
  fs::create_directories(dir + "/rootfs/bin");
  fs::copy_file("/usr/bin/busybox", dir + "/rootfs/bin/busybox");
  for (const char* tool : {"true", "sh"}) fs::create_symlink("busybox", dir + "/rootfs/bin/" + tool);
  for (const char* d : {"proc", "dev", "sys", "tmp"}) fs::create_directories(dir + "/rootfs/" + d);
  SpawnOptions spec;
  spec.argv = {"runc", "spec", "--bundle", dir};
  auto pid = spawn(spec);
  CHECK(pid) << pid.error().message;
  int status = 0;
  waitpid(*pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "runc spec failed";
  std::ifstream in(dir + "/config.json");
  auto config = nlohmann::json::parse(in);
  config["process"]["terminal"] = false;
  config["process"]["args"] = {"/bin/true"};
  config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  config["linux"]["resources"]["cpu"] = {{"shares", 102}};
  config["linux"]["resources"]["pids"] = {{"limit", 1024}};
  std::ofstream(dir + "/config.json") << config.dump(2);
  return dir;
}

std::vector<double> measureRunc(int runs) {
  std::string dir = scratchDir("agora-bench-runc");
  std::string bundle = makeRuncBundle(dir + "/bundle");
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    SpawnOptions run;
    run.argv = {"runc", "--root", dir + "/state", "run", "--bundle", bundle,
                "agora-bench-" + std::to_string(getpid()) + "-" + std::to_string(i)};
    run.stdoutPath = dir + "/runc.log";
    run.stderrPath = dir + "/runc.log";
    auto start = Clock::now();
    auto pid = spawn(run);
    CHECK(pid) << pid.error().message;
    int status = 0;
    waitpid(*pid, &status, 0);
    double elapsed = msSince(start);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "runc run failed; see " << dir << "/runc.log";
    ms.push_back(elapsed);
  }
  fs::remove_all(dir);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = false;
  FLAGS_minloglevel = 2;
  int launches = argc > 1 ? std::max(0, std::atoi(argv[1])) : 200;  // 0: only MANY
  int runcRuns = argc > 2 ? std::max(1, std::atoi(argv[2])) : 100;
  int many = argc > 3 ? std::max(0, std::atoi(argv[3])) : 1000;
  size_t maxStarting = argc > 4 ? static_cast<size_t>(std::max(0, std::atoi(argv[4])))
                                : defaultMaxStartingContainers();
  if (geteuid() != 0) {
    std::cerr << "agora-bench-container: needs root" << std::endl;
    return 2;
  }
  // Each container holds descriptors in the agent (executor link, pidfd).
  rlimit files;
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  std::string imageDir = scratchDir("agora-bench-img");
  std::string image = makeBusyboxImage(imageDir + "/layout");
  double runcP50 = launches > 0 ? percentile(measureRunc(runcRuns), 0.5) : 0;
  double floorP50 = 0, floorCpuMs = 0;
  if (launches > 0 || many > 0) {
    std::string floorDir = scratchDir("agora-bench-floor");
    auto floor = agora::bench::measureContainerFloor(launches > 0 ? launches : 100, floorDir);
    fs::remove_all(floorDir);
    floorP50 = percentile(floor.ms, 0.5);
    floorCpuMs = floor.cpuMs;
    std::cout << "containerfloor mode=ns+cgroups+image launches=" << floor.ms.size()
              << " p50_ms=" << floorP50 << " p99_ms=" << percentile(floor.ms, 0.99)
              << " cpu_ms=" << floorCpuMs << std::endl;
  }
  const std::tuple<const char*, bool, std::string, bool> modes[] = {
      {"cgroups", false, "", false},
      {"ns+cgroups", true, "", false},
      {"ns+cgroups+image", true, image, false},
      {"ns+cgroups+image+memlayer", true, image, true}};
  for (const auto& [mode, namespaces, ref, memoryLayer] : modes) {
    if (launches == 0) break;
    auto measured = measureAgent(namespaces, launches, ref, memoryLayer);
    const auto& ms = measured.ms;
    double p50 = percentile(ms, 0.5);
    std::cout << "containerlaunch mode=" << mode << " launches=" << ms.size() << " p50_ms=" << p50
              << " p99_ms=" << percentile(ms, 0.99) << " runc_p50_ms=" << runcP50
              << " ratio=" << p50 / runcP50 << " fork_server=" << forkServer()
              << " container_cpu_ms=" << measured.containerCpuMs;
    if (!ref.empty()) std::cout << " floor_ratio=" << p50 / floorP50;
    std::cout << std::endl;
  }
  if (many > 0) measureMany(image, many, maxStarting, floorCpuMs);
  fs::remove_all(imageDir);
  return 0;
}
