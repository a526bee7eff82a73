#pragma once
// Injects the chaos test's faults at random, from a seed that replays the
// same choices: SIGKILL the leading master, an agent, an executor or a
// framework, and cut an agent off its network. A killed process is started
// again (same arguments and work dir) and a cut healed after a random delay.
// A restarted process that exits within kRestartWatch is a failure: its log
// tail (and for an agent, who holds its HTTP port) is printed, it is
// started again (at most kRestartAttempts times in a row), and failures()
// names it. The driver also stands in for the daemons' supervisor: a
// process that exits on its own is started again; a master that steps down
// (exit status 3, e.g. after losing its ZooKeeper session) is counted in
// selfExits(), any other such exit is a failure.

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/fault_record.hpp"

namespace agora::chaos {

class FaultDriver {
 public:
  FaultDriver(ChaosCluster& cluster, uint64_t seed);

  // Injects faults for `duration`, logging each one to stdout.
  void run(std::chrono::milliseconds duration);
  // Heals every cut and starts every killed process, now; returns once the
  // restarted processes have stayed up for kRestartWatch (or given up).
  void restoreAll();
  // Restarts that failed (the process exited soon after), and kills that
  // did not take, one line each.
  const std::vector<std::string>& failures() const { return failures_; }
  // Starts again, now, every process that exited on its own; call while
  // the cluster settles too.
  void supervise();
  int selfExits() const { return selfExits_; }
  // Every fault so far, in order, with its time (for the checker).
  const std::vector<FaultRecord>& history() const { return history_; }
  // monotonicMs() when it was made: t=0 of its log lines.
  int64_t startedMs() const { return startedMs_; }

  int total() const;
  // "leader=3 agent=2 executor=4 scheduler=1 partition=2"
  std::string summary() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Clock::time_point due;
    std::function<void()> action;
  };
  enum class Fault { kLeader, kAgent, kExecutor, kScheduler, kPartition };
  struct Restarted {
    std::string name;
    Clock::time_point at;
    int attempt = 1;
  };
  static constexpr std::chrono::seconds kRestartWatch{5};
  static constexpr int kRestartAttempts = 3;

  bool inject(Fault fault);
  bool killLeader();
  bool killAgent();
  bool killExecutor();
  bool killScheduler();
  bool cutAgent();
  void later(double minSec, double maxSec, std::function<void()> action);
  void kill(const std::string& name);
  void restart(const std::string& name, const std::string& what, int attempt = 1);
  // Reports (and retries) restarted processes that exited; forgets those
  // that have stayed up for kRestartWatch.
  void checkRestarts();
  void runDue(bool all);
  double uniform(double lo, double hi);
  int pick(int n);
  void log(const std::string& what);
  void remember(FaultRecord::Kind kind, const std::string& target);
  // Ends the last open fault on `target`: its cut (`cut`) or its kill.
  void ended(const std::string& target, bool cut);

  ChaosCluster& cluster_;
  std::mt19937_64 rng_;
  Clock::time_point started_;
  int64_t startedMs_;
  std::vector<Pending> pending_;
  std::set<int> cut_;
  std::map<Fault, int> counts_;
  std::vector<Restarted> restarted_;
  std::vector<std::string> failures_;
  std::set<std::string> down_;  // killed by the driver, restart pending
  int selfExits_ = 0;
  std::vector<FaultRecord> history_;
};

}  // namespace agora::chaos
