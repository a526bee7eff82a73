#include "tests/chaos/fault_driver.hpp"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/chaos/journal.hpp"

namespace agora::chaos {

FaultDriver::FaultDriver(ChaosCluster& cluster, uint64_t seed)
    : cluster_(cluster), rng_(seed), started_(Clock::now()), startedMs_(monotonicMs()) {}

double FaultDriver::uniform(double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng_);
}

int FaultDriver::pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

void FaultDriver::log(const std::string& what) {
  double t = std::chrono::duration<double>(Clock::now() - started_).count();
  std::cout << "chaos t=" << static_cast<int>(t * 10) / 10.0 << "s " << what << std::endl;
}

void FaultDriver::remember(FaultRecord::Kind kind, const std::string& target) {
  history_.push_back({kind, target, monotonicMs()});
}

void FaultDriver::ended(const std::string& target, bool cut) {
  using Kind = FaultRecord::Kind;
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    bool kill = it->kind == Kind::kLeaderKilled || it->kind == Kind::kAgentKilled ||
                it->kind == Kind::kSchedulerKilled;
    if (it->target != target || (cut ? it->kind != Kind::kAgentCut : !kill)) continue;
    if (it->endMs < 0) it->endMs = monotonicMs();
    return;
  }
}

void FaultDriver::later(double minSec, double maxSec, std::function<void()> action) {
  auto delay = std::chrono::duration<double>(uniform(minSec, maxSec));
  pending_.push_back({Clock::now() + std::chrono::duration_cast<Clock::duration>(delay),
                      std::move(action)});
}

void FaultDriver::runDue(bool all) {
  auto now = Clock::now();
  std::vector<Pending> keep;
  std::vector<Pending> due;
  for (Pending& p : pending_) (all || p.due <= now ? due : keep).push_back(std::move(p));
  pending_ = std::move(keep);
  for (Pending& p : due) p.action();
}

void FaultDriver::kill(const std::string& name) {
  std::erase_if(restarted_, [&](const Restarted& r) { return r.name == name; });
  down_.insert(name);
  if (cluster_.kill(name)) return;
  failures_.push_back(name + " did not die within 10 s of SIGKILL");
  log("FAILURE: " + failures_.back());
}

void FaultDriver::restart(const std::string& name, const std::string& what, int attempt) {
  down_.erase(name);
  cluster_.start(name);
  ended(name, false);
  restarted_.push_back({name, Clock::now(), attempt});
  log("restarted " + name + what);
}

void FaultDriver::checkRestarts() {
  auto now = Clock::now();
  std::vector<Restarted> watched;
  watched.swap(restarted_);
  for (const Restarted& r : watched) {
    if (cluster_.running(r.name)) {
      if (now - r.at < kRestartWatch) restarted_.push_back(r);
      continue;
    }
    std::ostringstream failure;
    failure << r.name << " exited with status " << cluster_.exitCode(r.name) << " within "
            << std::fixed << std::setprecision(1)
            << std::chrono::duration<double>(now - r.at).count() << " s of restart #" << r.attempt;
    failures_.push_back(failure.str());
    std::string details = cluster_.logTail(r.name, 5);
    if (r.name.rfind("agent", 0) == 0) {
      details += "\n    " + cluster_.describeAgentPort(std::stoi(r.name.substr(5)));
    }
    log("FAILURE: " + failures_.back() + details);
    if (r.attempt < kRestartAttempts) {
      restart(r.name, " again", r.attempt + 1);
    } else {
      down_.insert(r.name);  // left down: the supervisor gives up too
      log("giving up on " + r.name);
    }
  }
}

void FaultDriver::supervise() {
  checkRestarts();
  for (const std::string& name : cluster_.names()) {
    bool watched = std::any_of(restarted_.begin(), restarted_.end(),
                               [&](const Restarted& r) { return r.name == name; });
    if (down_.count(name) || watched || cluster_.running(name)) continue;
    int status = cluster_.exitCode(name);
    if (status < 0) continue;  // never started, or gave up on after failed restarts
    std::string what = name + " exited on its own with status " + std::to_string(status);
    if (name.rfind("master", 0) == 0 && status == 3) {
      ++selfExits_;
      remember(FaultRecord::Kind::kLeaderSteppedDown, name);
      log(what + " (stepped down)" + cluster_.logTail(name, 2));
    } else {
      failures_.push_back(what);
      log("FAILURE: " + what + cluster_.logTail(name, 5));
    }
    restart(name, " (as its supervisor would)");
  }
}

void FaultDriver::run(std::chrono::milliseconds duration) {
  auto end = Clock::now() + duration;
  auto next = Clock::now() + std::chrono::seconds(3);  // let the frameworks launch first
  while (Clock::now() < end) {
    runDue(false);
    supervise();
    if (Clock::now() >= next) {
      for (int attempt = 0; attempt < 5 && !inject(static_cast<Fault>(pick(5))); ++attempt) {
      }
      next = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(uniform(1.5, 4.0)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void FaultDriver::restoreAll() {
  runDue(true);
  while (!restarted_.empty()) {
    supervise();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool FaultDriver::inject(Fault fault) {
  bool done = false;
  switch (fault) {
    case Fault::kLeader: done = killLeader(); break;
    case Fault::kAgent: done = killAgent(); break;
    case Fault::kExecutor: done = killExecutor(); break;
    case Fault::kScheduler: done = killScheduler(); break;
    case Fault::kPartition: done = cutAgent(); break;
  }
  if (done) counts_[fault]++;
  return done;
}

bool FaultDriver::killLeader() {
  int lead = cluster_.leader();
  if (lead < 0) return false;
  std::string name = "master" + std::to_string(lead);
  remember(FaultRecord::Kind::kLeaderKilled, name);
  kill(name);
  log("SIGKILL leading " + name);
  later(1, 3, [this, name] { restart(name, ""); });
  return true;
}

bool FaultDriver::killAgent() {
  int agent = pick(cluster_.config().agents);
  std::string name = "agent" + std::to_string(agent);
  if (!cluster_.running(name)) return false;
  remember(FaultRecord::Kind::kAgentKilled, name);
  kill(name);
  log("SIGKILL " + name);
  later(0.5, 3, [this, name] { restart(name, " (--recover=reconnect)"); });
  return true;
}

bool FaultDriver::killExecutor() {
  int agent = pick(cluster_.config().agents);
  if (cut_.count(agent)) return false;
  auto containers = cluster_.agentGet(agent, "/api/v1/containers");
  if (!containers.is_object()) return false;
  std::vector<std::pair<int, std::string>> candidates;
  for (const auto& c : containers.value("containers", nlohmann::json::array())) {
    int pid = c.value("executor_pid", 0);
    if (c.value("state", "") == "RUNNING" && pid > 0) {
      candidates.push_back({pid, c.value("task_id", "")});
    }
  }
  if (candidates.empty()) return false;
  auto [pid, task] = candidates[pick(static_cast<int>(candidates.size()))];
  std::string comm;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
  if (comm != "agora-executor") return false;  // gone meanwhile, or the pid was reused
  remember(FaultRecord::Kind::kExecutorKilled,
           "pid " + std::to_string(pid) + " (task " + task + ") on agent" + std::to_string(agent));
  ::kill(pid, SIGKILL);
  log("SIGKILL the executor (pid " + std::to_string(pid) + ") of task " + task + " on agent" +
      std::to_string(agent));
  return true;
}

bool FaultDriver::killScheduler() {
  std::string name = pick(2) == 0 ? "keeper" : "batcher";
  if (!cluster_.running(name)) return false;
  remember(FaultRecord::Kind::kSchedulerKilled, name);
  kill(name);
  log("SIGKILL framework " + name);
  later(0.5, 3, [this, name] { restart(name, " (fails over to its framework ID)"); });
  return true;
}

bool FaultDriver::cutAgent() {
  if (!cut_.empty()) return false;
  int agent = pick(cluster_.config().agents);
  if (Status s = cluster_.setAgentLink(agent, false); !s) {
    log("cannot cut agent" + std::to_string(agent) + ": " + s.error().message);
    return false;
  }
  remember(FaultRecord::Kind::kAgentCut, "agent" + std::to_string(agent));
  cut_.insert(agent);
  log("cut agent" + std::to_string(agent) + " off the network");
  later(3, 10, [this, agent] {
    Status s = cluster_.setAgentLink(agent, true);
    ended("agent" + std::to_string(agent), true);
    cut_.erase(agent);
    log("healed agent" + std::to_string(agent) + (s ? "" : ": " + s.error().message));
  });
  return true;
}

int FaultDriver::total() const {
  int n = 0;
  for (const auto& [fault, count] : counts_) n += count;
  return n;
}

std::string FaultDriver::summary() const {
  auto count = [&](Fault f) {
    auto it = counts_.find(f);
    return std::to_string(it == counts_.end() ? 0 : it->second);
  };
  return "leader=" + count(Fault::kLeader) + " agent=" + count(Fault::kAgent) +
         " executor=" + count(Fault::kExecutor) + " scheduler=" + count(Fault::kScheduler) +
         " partition=" + count(Fault::kPartition);
}

}  // namespace agora::chaos
