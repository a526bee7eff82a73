#include "tests/chaos/checker.hpp"

#include <algorithm>

#include "tests/chaos/chaos_scheduler.hpp"
#include "tests/chaos/vanished_launches.hpp"

namespace agora::chaos {

namespace {

struct Delivery {
  std::string state, uuid, containerId, reason, source;
  int64_t atMs = -1;
  bool reconciliation() const { return reason == "REASON_RECONCILIATION"; }
};

struct TaskHistory {
  bool launched = false;
  int64_t launchedAtMs = -1;
  std::string agentId;  // of the offer it was launched with
  std::vector<Delivery> updates;
  std::vector<std::string> acks;
};

// What the cluster says about one framework's tasks.
struct Live {
  std::map<std::string, std::string> masterState;  // task -> state at the leader
  std::map<std::string, std::vector<const ObservedContainer*>> containers;  // live ones
};

class Checker {
 public:
  Checker(const Observation& o, CheckResult& r) : o_(o), r_(r) {}
  void run();

 private:
  void violation(std::string text) { r_.violations.push_back(std::move(text)); }
  void checkCluster();
  void checkFramework(const std::string& name, const std::vector<JournalEvent>& journal);
  void checkDeliveries(const std::string& task, const TaskHistory& h);
  void checkOutcome(const std::string& name, const std::string& task, const TaskHistory& h,
                    const Live& live);
  void checkVanished(const std::string& name, const std::string& task, const TaskHistory& h);
  void checkNeverFailed(const std::string& name, const std::vector<JournalEvent>& journal);
  void checkKeeperSlots();
  void checkContainers();
  Live liveOf(const std::string& frameworkId) const;

  const Observation& o_;
  CheckResult& r_;
  std::map<std::string, std::string> frameworkIds_;          // name -> ID
  std::set<std::pair<std::string, std::string>> launched_;   // (framework ID, task)
  std::map<std::string, std::vector<int64_t>> subscribedAt_; // name -> journaled subscriptions
  int64_t originMs_ = -1;  // the first journaled time: t=0 in timelines
};

void Checker::run() {
  originMs_ = o_.originMs;
  if (originMs_ < 0) {
    for (const auto& [name, journal] : o_.journals) {
      for (const JournalEvent& e : journal) {
        if (e.atMs >= 0 && (originMs_ < 0 || e.atMs < originMs_)) originMs_ = e.atMs;
      }
    }
  }
  checkCluster();
  for (const auto& [name, journal] : o_.journals) checkFramework(name, journal);
  checkKeeperSlots();
  checkContainers();
}

void Checker::checkCluster() {
  if (!o_.leader) violation("no leading master");
  if (o_.agentsRegistered != o_.agentsExpected) {
    violation(std::to_string(o_.agentsRegistered) + " of " + std::to_string(o_.agentsExpected) +
              " agents are registered at the leader");
  }
  for (size_t i = 0; i < o_.agentAnswered.size(); ++i) {
    if (!o_.agentAnswered[i]) violation("agent" + std::to_string(i) + " does not answer");
  }
}

Live Checker::liveOf(const std::string& frameworkId) const {
  Live live;
  for (const auto& t : o_.masterTasks) {
    if (t.value("framework_id", "") == frameworkId) {
      live.masterState[t.value("id", "")] = t.value("state", "");
    }
  }
  for (const ObservedContainer& c : o_.containers) {
    if (c.frameworkId == frameworkId && c.state != "TERMINATED") live.containers[c.taskId].push_back(&c);
  }
  return live;
}

void Checker::checkFramework(const std::string& name, const std::vector<JournalEvent>& journal) {
  std::map<std::string, TaskHistory> tasks;
  for (const JournalEvent& e : journal) {
    if (e.kind == "subscribed") {
      if (!frameworkIds_[name].empty() && frameworkIds_[name] != e.field(0)) {
        violation(name + ": subscribed as " + e.field(0) + " after " + frameworkIds_[name] +
                  " (its failover was refused)");
      }
      frameworkIds_[name] = e.field(0);
      if (e.atMs >= 0) subscribedAt_[name].push_back(e.atMs);
    } else if (e.kind == "launch") {
      if (tasks[e.field(0)].launched) violation(name + ": task " + e.field(0) + " launched twice");
      tasks[e.field(0)].launched = true;
      tasks[e.field(0)].launchedAtMs = e.atMs;
      tasks[e.field(0)].agentId = e.field(1);
    } else if (e.kind == "update") {
      tasks[e.field(0)].updates.push_back(
          {e.field(1), e.field(2), e.field(3), e.field(4), e.field(5), e.atMs});
      r_.updatesChecked += !e.field(2).empty();
    } else if (e.kind == "ack") {
      tasks[e.field(0)].acks.push_back(e.field(1));
    }
  }
  Live live = liveOf(frameworkIds_[name]);
  std::map<std::string, std::pair<std::string, std::string>> byUuid;  // uuid -> (task, state)
  for (const auto& [task, h] : tasks) {
    if (!h.launched) {
      violation(name + ": update for task " + task + " that it never launched");
      continue;
    }
    ++r_.tasks;
    launched_.insert({frameworkIds_[name], task});
    for (const Delivery& d : h.updates) {
      if (d.uuid.empty()) continue;
      auto [it, fresh] = byUuid.emplace(d.uuid, std::make_pair(task, d.state));
      if (!fresh && it->second != std::make_pair(task, d.state)) {
        violation(name + ": update " + d.uuid + " carried " + it->second.first + " " +
                  it->second.second + " and " + task + " " + d.state);
      }
    }
    checkDeliveries(name + ": task " + task, h);
    checkOutcome(name, task, h, live);
  }
  for (const auto& [task, states] : live.masterState) {
    if (!tasks.count(task)) violation(name + ": the master has task " + task + " it never launched");
  }
  checkNeverFailed(name, journal);
}

void Checker::checkNeverFailed(const std::string& name, const std::vector<JournalEvent>& journal) {
  for (const FaultRecord& fault : o_.faults) {
    if (fault.kind == FaultRecord::Kind::kSchedulerKilled && fault.target == name) return;
  }
  const std::string removed = "REASON_FRAMEWORK_REMOVED";
  std::string why = " although its scheduler never failed";
  for (const JournalEvent& e : journal) {
    if (e.kind == "error") {
      violation(name + ": refused by the master at " + relativeTime(e.atMs, originMs_) + why +
                ": " + e.field(0));
    } else if (e.kind == "update" && e.field(4) == removed) {
      violation(name + ": task " + e.field(0) + " " + e.field(1) + " with " + removed + why);
    }
  }
  const std::string& frameworkId = frameworkIds_[name];
  for (const auto& t : o_.masterTasks) {
    if (!frameworkId.empty() && t.value("framework_id", "") == frameworkId &&
        t.value("reason", "") == removed) {
      violation(name + ": task " + t.value("id", "") + " " + t.value("state", "") + " with " +
                removed + " at the master" + why);
    }
  }
}

void Checker::checkDeliveries(const std::string& what, const TaskHistory& h) {
  std::set<std::string> seen, terminalStates, terminalUuids, containers;
  std::string last;  // uuid of the latest reliable update
  bool ended = false;
  for (const Delivery& d : h.updates) {
    bool terminal = isTerminalStateName(d.state);
    if (!d.uuid.empty()) {
      if (seen.count(d.uuid) && d.uuid != last) {
        violation(what + ": update " + d.uuid + " (" + d.state +
                  ") delivered again after a later update: a duplicate of an acknowledged update");
      }
      seen.insert(d.uuid);
      last = d.uuid;
    }
    if (!d.containerId.empty()) containers.insert(d.containerId);
    if (terminal) {
      terminalStates.insert(d.state);
      if (!d.uuid.empty()) terminalUuids.insert(d.uuid);
      // A reconciliation answer may run ahead of the reliable stream (the
      // master's latest state): the stream's older updates may still follow.
      ended = ended || !d.reconciliation();
    } else if (ended && d.state != "TASK_UNKNOWN") {
      violation(what + ": " + d.state + " (from the " + d.source + ") after its terminal update");
    }
  }
  if (terminalStates.size() > 1) {
    std::string list;
    for (const auto& s : terminalStates) list += " " + s;
    violation(what + ": conflicting terminal updates:" + list);
  }
  if (terminalUuids.size() > 1) {
    violation(what + ": " + std::to_string(terminalUuids.size()) + " distinct terminal updates");
  }
  if (containers.size() > 1) {
    violation(what + ": ran in " + std::to_string(containers.size()) + " containers");
  }
  for (const std::string& uuid : h.acks) {
    if (!seen.count(uuid)) violation(what + ": acknowledged " + uuid + " that it was never given");
  }
}

void Checker::checkOutcome(const std::string& name, const std::string& task, const TaskHistory& h,
                           const Live& live) {
  bool terminal = false;
  for (const Delivery& d : h.updates) terminal = terminal || isTerminalStateName(d.state);
  auto master = live.masterState.find(task);
  auto containers = live.containers.find(task);
  size_t running = containers == live.containers.end() ? 0 : containers->second.size();
  std::string what = name + ": task " + task;
  if (running > 1) violation(what + ": runs in " + std::to_string(running) + " containers");
  if (terminal) {
    if (master != live.masterState.end() && !isTerminalStateName(master->second)) {
      violation(what + ": terminal for its framework but " + master->second + " at the master");
    }
    if (running > 0) violation(what + ": terminal for its framework but its container runs");
    return;
  }
  std::string lastState = h.updates.empty() ? "(no update)" : h.updates.back().state;
  if (master != live.masterState.end() && master->second == "TASK_RUNNING" && running == 1) return;
  if (lastState == "TASK_UNKNOWN" && master == live.masterState.end() && running == 0) {
    return checkVanished(name, task, h);
  }
  violation(what + ": no terminal update and not running (framework's last: " + lastState +
            ", master: " + (master == live.masterState.end() ? "-" : master->second) +
            ", containers: " + std::to_string(running) + ")");
}

void Checker::checkVanished(const std::string& name, const std::string& task,
                            const TaskHistory& h) {
  ++r_.vanishedLaunches;
  VanishedLaunch launch{name, h.launchedAtMs, "", subscribedAt_[name]};
  std::sort(launch.subscribedAtMs.begin(), launch.subscribedAtMs.end());
  if (auto agent = o_.agentNames.find(h.agentId); agent != o_.agentNames.end()) {
    launch.agent = agent->second;
  }
  if (auto why = explainVanishedLaunch(o_.faults, launch)) {
    r_.vanishedExplained[why->cause]++;
    if (why->cause != "leader_loss_agent_away") r_.vanishedOffsetsMs.push_back(why->offsetMs);
    return;
  }
  std::string timeline = "launched on " + (launch.agent.empty() ? h.agentId : launch.agent) +
                         " at " + relativeTime(h.launchedAtMs, originMs_);
  for (size_t i = 0; i < h.updates.size();) {
    const Delivery& d = h.updates[i];
    size_t same = i + 1;  // repeated answers (reconciliation) are shown once
    while (same < h.updates.size() && h.updates[same].state == d.state &&
           h.updates[same].source == d.source && h.updates[same].reason == d.reason) {
      ++same;
    }
    timeline += ", " + d.state + " (" + d.source + ", " + d.reason + ") at " +
                relativeTime(d.atMs, originMs_);
    if (same - i > 1) {
      timeline += " and " + std::to_string(same - i - 1) + " more until " +
                  relativeTime(h.updates[same - 1].atMs, originMs_);
    }
    i = same;
  }
  auto next = std::upper_bound(launch.subscribedAtMs.begin(), launch.subscribedAtMs.end(),
                               h.launchedAtMs);
  if (next != launch.subscribedAtMs.end()) {
    timeline += ", next subscription at " + relativeTime(*next, originMs_);
  }
  violation(name + ": task " + task +
            ": vanished launch (unknown to the master, no container) that no fault explains: " +
            timeline + "; faults within 10 s: " +
            faultsAround(o_.faults, h.launchedAtMs, 10000, originMs_));
}

void Checker::checkKeeperSlots() {
  if (!o_.journals.count("keeper")) return;
  std::map<int, int> running;
  for (const auto& t : o_.masterTasks) {
    if (t.value("framework_id", "") != frameworkIds_["keeper"]) continue;
    auto [slot, generation] = parseLongTaskId(t.value("id", ""));
    if (slot >= 0 && t.value("state", "") == "TASK_RUNNING") running[slot]++;
  }
  for (int slot = 0; slot < o_.longTasks; ++slot) {
    if (running[slot] != 1) {
      violation("keeper: slot " + std::to_string(slot) + " has " + std::to_string(running[slot]) +
                " RUNNING tasks");
    }
  }
}

void Checker::checkContainers() {
  std::map<int, std::set<std::string>> listed;
  std::set<int> executors;
  for (const ObservedContainer& c : o_.containers) {
    listed[c.agent].insert(c.id);
    if (c.executorPid > 0) executors.insert(c.executorPid);
    if (c.state != "TERMINATED" && !launched_.count({c.frameworkId, c.taskId})) {
      violation("agent" + std::to_string(c.agent) + ": container " + c.id + " of task " +
                c.taskId + " (framework " + c.frameworkId + ") that no framework launched");
    }
  }
  for (const auto& [agent, cgroups] : o_.cgroups) {
    for (const std::string& cgroup : cgroups) {
      if (!listed[agent].count(cgroup)) {
        violation("agent" + std::to_string(agent) + ": orphaned cgroup " + cgroup);
      }
    }
  }
  for (const ObservedContainer& c : o_.containers) {
    if (c.state == "RUNNING" && !o_.cgroups.count(c.agent)) {
      violation("agent" + std::to_string(c.agent) + ": container " + c.id + " has no cgroup");
    } else if (c.state == "RUNNING" && !o_.cgroups.at(c.agent).count(c.id)) {
      violation("agent" + std::to_string(c.agent) + ": container " + c.id + " has no cgroup");
    }
  }
  for (const std::string& mount : o_.mounts) {
    bool owned = false;
    for (const ObservedContainer& c : o_.containers) {
      owned = owned || mount.find(c.id) != std::string::npos;
    }
    if (!owned) violation("orphaned mount " + mount);
  }
  for (int pid : o_.executorPids) {
    if (!executors.count(pid)) violation("orphaned executor process " + std::to_string(pid));
  }
}

}  // namespace

CheckResult check(const Observation& observed) {
  CheckResult result;
  Checker(observed, result).run();
  return result;
}

}  // namespace agora::chaos
