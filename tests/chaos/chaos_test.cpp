// The chaos test (slow, privileged, integration): three masters on
// ZooKeeper, three agents with cgroups isolation in their own network
// namespaces, a keeper of long tasks, a batcher of short ones and a runner
// with failover timeout 0 (as `agora run`), while FaultDriver kills masters,
// agents, executors and the keeper and batcher, and cuts agents
// off. Once the faults stop and the cluster settles, the checker's invariants
// (checker.hpp) must hold.
//
// Duration and seed: --duration=SECONDS / AGORA_CHAOS_DURATION (default 60)
// and --seed=N / AGORA_CHAOS_SEED (default: from the clock; printed, so a
// run can be replayed).

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/checker.hpp"
#include "tests/chaos/fault_driver.hpp"
#include "tests/chaos/observe.hpp"

namespace agora::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int gDurationSec = 60;  // bounded for CI; AGORA_CHAOS_DURATION for longer runs
uint64_t gSeed = 0;

constexpr auto kLongTasksBound = 60s;  // K long tasks RUNNING again after the faults stop
constexpr auto kSettleBound = 90s;     // every invariant holds

std::string skipReason() {
  if (geteuid() != 0) return "needs root (network namespaces, cgroups)";
  std::string why;
  if (!testing::ZooKeeperServer::available(&why)) return why;
  if (access("/usr/bin/nsenter", X_OK) != 0) return "nsenter (util-linux) is missing";
  if (access("/usr/sbin/ip", X_OK) != 0 && access("/bin/ip", X_OK) != 0) {
    return "ip (iproute2) is missing";
  }
  return "";
}

// Copies the journals and daemon logs (the root's plain files) to `dir`.
void keepLogs(const std::string& root, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename(),
                    fs::copy_options::overwrite_existing, ec);
    }
  }
  std::cout << "chaos logs kept in " << dir << std::endl;
}

int keeperRunning(ChaosCluster& cluster) {
  auto tasks = cluster.leaderGet("/api/v1/tasks?state=RUNNING");
  if (!tasks.is_object()) return 0;
  int n = 0;
  for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
    n += t.value("id", "").rfind("long-", 0) == 0;
  }
  return n;
}

// Under AddressSanitizer every daemon runs several times slower and the
// fault schedule no longer means what it says; the regular build runs it.
bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

// Processes whose command line or working directory is under `root`.
std::vector<pid_t> processesUnder(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::stringstream cmdline;
    cmdline << std::ifstream(entry.path() / "cmdline").rdbuf();
    std::error_code linkError;
    std::string cwd = fs::read_symlink(entry.path() / "cwd", linkError);
    if (cmdline.str().find(root) != std::string::npos || (!linkError && cwd.rfind(root, 0) == 0)) {
      found.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return found;
}

// " vanished_explained=21 (leader_loss=20 framework_kill=1) vanished_unexplained=0
// vanished_offset_ms=-412..1733": how the vanished launches were explained and
// how far each launch was from its fault (negative: before it).
std::string vanishedDetails(const CheckResult& result) {
  int explained = 0;
  std::string causes;
  for (const auto& [cause, count] : result.vanishedExplained) {
    explained += count;
    causes += (causes.empty() ? "" : " ") + cause + "=" + std::to_string(count);
  }
  std::string out = " vanished_explained=" + std::to_string(explained) + " (" + causes +
                    ") vanished_unexplained=" + std::to_string(result.vanishedLaunches - explained);
  const auto& offsets = result.vanishedOffsetsMs;
  if (!offsets.empty()) {
    auto [low, high] = std::minmax_element(offsets.begin(), offsets.end());
    out += " vanished_offset_ms=" + std::to_string(*low) + ".." + std::to_string(*high);
  }
  return out;
}

// Checked once the cluster is gone, whatever the outcome: nothing of it is left.
struct TeardownCheck {
  std::string root;
  ~TeardownCheck() {
    auto roots = chaosCgroupRoots(getpid());
    EXPECT_TRUE(roots.empty()) << "cgroups left behind, e.g. " << roots.front();
    if (root.empty()) return;
    auto pids = processesUnder(root);
    EXPECT_TRUE(pids.empty()) << "processes left behind, e.g. pid " << pids.front();
  }
};

TEST(ChaosTest, InvariantsHoldAfterRandomFaults) {
  if (std::string why = skipReason(); !why.empty()) GTEST_SKIP() << why;
  if (sanitized() && std::getenv("AGORA_CHAOS_DURATION") == nullptr) {
    GTEST_SKIP() << "timing-bound: not run under AddressSanitizer unless AGORA_CHAOS_DURATION is set";
  }
  std::cout << "chaos seed=" << gSeed << " duration=" << gDurationSec << "s" << std::endl;
  ChaosConfig config;
  TeardownCheck teardownCheck;
  ChaosCluster cluster(config);
  teardownCheck.root = cluster.root();
  // Sanitizer builds start every daemon and executor several times slower.
  const auto startBound = sanitized() ? 180s : 60s;
  if (!testing::eventually([&] { return keeperRunning(cluster) == config.longTasks; },
                           startBound)) {
    if (const char* keep = std::getenv("AGORA_CHAOS_KEEP_LOGS")) keepLogs(cluster.root(), keep);
    FAIL() << "the keeper's tasks did not all run within " << startBound.count()
           << " s of the start, before any fault; logs in " << cluster.root();
  }

  FaultDriver faults(cluster, gSeed);
  faults.run(std::chrono::seconds(gDurationSec));
  faults.restoreAll();
  for (const char* name : {"batcher", "runner"}) {
    std::ofstream(cluster.journalPath(name) + ".stop") << "settle\n";
  }
  auto settling = Clock::now();

  bool longTasksBack = testing::eventually(
      [&] {
        faults.supervise();
        return keeperRunning(cluster) == config.longTasks;
      },
      kLongTasksBound);
  auto longTasksMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - settling).count();
  CheckResult result;
  auto deadline = settling + kSettleBound;
  int clean = 0;
  // Two clean checks a second apart: the state is settled, not passing by.
  while (clean < 2 && Clock::now() < deadline) {
    faults.supervise();
    Observation observed = observe(cluster);
    observed.faults = faults.history();
    observed.originMs = faults.startedMs();
    result = check(observed);
    clean = result.violations.empty() ? clean + 1 : 0;
    if (clean < 2) std::this_thread::sleep_for(1s);
  }
  for (const std::string& failure : faults.failures()) result.violations.push_back(failure);
  if (!longTasksBack) {
    result.violations.push_back("the keeper's " + std::to_string(config.longTasks) +
                                " long tasks were not all RUNNING within " +
                                std::to_string(kLongTasksBound.count()) + " s of the last fault");
  }
  std::cout << "chaos faults=" << faults.total() << " (" << faults.summary()
            << ") tasks=" << result.tasks << " updates_checked=" << result.updatesChecked
            << " vanished_launches=" << result.vanishedLaunches << vanishedDetails(result)
            << " long_tasks_back_ms=" << longTasksMs << " masters_stepped_down=" << faults.selfExits()
            << " seed=" << gSeed
            << " violations=" << result.violations.size() << std::endl;
  for (const std::string& v : result.violations) std::cout << "chaos violation: " << v << std::endl;
  if (const char* keep = std::getenv("AGORA_CHAOS_KEEP_LOGS"); keep && !result.violations.empty()) {
    keepLogs(cluster.root(), keep);
  }
  EXPECT_TRUE(result.violations.empty())
      << "replay with --seed=" << gSeed
      << "; set AGORA_CHAOS_KEEP_LOGS=DIR to keep the journals and daemon logs";
  EXPECT_GT(faults.total(), 0);
  EXPECT_GT(result.updatesChecked, 0);
}

}  // namespace
}  // namespace agora::chaos

int main(int argc, char** argv) {
  using agora::chaos::gDurationSec;
  using agora::chaos::gSeed;
  if (const char* d = std::getenv("AGORA_CHAOS_DURATION")) gDurationSec = std::atoi(d);
  gSeed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  if (const char* s = std::getenv("AGORA_CHAOS_SEED")) gSeed = std::strtoull(s, nullptr, 10);
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--duration=", 0) == 0) gDurationSec = std::atoi(arg.c_str() + 11);
    if (arg.rfind("--seed=", 0) == 0) gSeed = std::strtoull(arg.c_str() + 7, nullptr, 10);
  }
  if (gDurationSec <= 0) {
    std::cerr << "--duration must be a positive number of seconds" << std::endl;
    return 2;
  }
  return RUN_ALL_TESTS();
}
