#include "tests/chaos/chaos_scheduler.hpp"

#include <glog/logging.h>
#include <unistd.h>

#include <map>
#include <set>

#include "frameworks/kit/placement.hpp"

namespace agora::chaos {

namespace {

// The memory limit covers the executor too, which under AddressSanitizer
// holds about 20-30 MB (shadow memory, quarantine) instead of a few.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* kTaskResources = "cpus:0.1;mem:64";
#else
constexpr const char* kTaskResources = "cpus:0.1;mem:16";
#endif
constexpr const char* kLongCommand = "exec sleep 100000";
constexpr const char* kShortCommand = "exec sleep 0.3";
constexpr double kRefuseSeconds = 1;

}  // namespace

std::pair<int, int> parseLongTaskId(const std::string& taskId) {
  int slot = -1, generation = -1;
  char tail = 0;
  if (std::sscanf(taskId.c_str(), "long-%d-g%d%c", &slot, &generation, &tail) != 2) return {-1, -1};
  return {slot, generation};
}

bool isTerminalStateName(const std::string& state) {
  static const std::set<std::string> kTerminal = {
      "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR",
      "TASK_LOST",     "TASK_DROPPED", "TASK_GONE",  "TASK_GONE_BY_OPERATOR"};
  return kTerminal.count(state) > 0;
}

Result<std::unique_ptr<ChaosScheduler>> ChaosScheduler::create(ChaosSchedulerOptions options) {
  auto events = readJournal(options.journalPath);
  auto journal = Journal::open(options.journalPath);
  if (!journal) return makeError(journal.error());
  std::unique_ptr<ChaosScheduler> scheduler(
      new ChaosScheduler(std::move(options), std::move(*journal)));
  scheduler->replay(events);
  scheduler->record("start", {std::to_string(getpid())});
  return scheduler;
}

void ChaosScheduler::record(const std::string& kind, const std::vector<std::string>& fields) {
  // Acting on an event the journal does not hold would make the record lie.
  Status s = journal_.append(kind, fields);
  CHECK(s) << s.error().message;
}

void ChaosScheduler::applyState(TaskRecord& task, const std::string& state) {
  task.state = state;
  if (isTerminalStateName(state)) {
    task.terminal = true;
  } else {
    task.unknown = state == "TASK_UNKNOWN";
  }
}

void ChaosScheduler::replay(const std::vector<JournalEvent>& events) {
  for (const JournalEvent& e : events) {
    if (e.kind == "subscribed") {
      frameworkId_ = e.field(0);
    } else if (e.kind == "launch") {
      tasks_[e.field(0)].agentId = e.field(1);
      auto [slot, generation] = parseLongTaskId(e.field(0));
      if (slot >= 0) generation_[slot] = std::max(generation_[slot], generation);
      int n = -1;
      std::string format = taskPrefix() + "%d";
      if (std::sscanf(e.field(0).c_str(), format.c_str(), &n) == 1) {
        nextNumber_ = std::max(nextNumber_, n + 1);
      }
    } else if (e.kind == "update") {
      applyState(tasks_[e.field(0)], e.field(1));
    }
  }
}

void ChaosScheduler::started(sdk::SchedulerDriver& driver) {
  driver.loop().post([this, &driver] {
    driver.loop().addPeriodic(seconds(3), [this, &driver] {
      if (driver.state() != sdk::SchedulerDriver::State::kSubscribed) return;
      reconcile(driver);
      killStale(driver);
      driver.revive();
    });
  });
}

void ChaosScheduler::subscribed(sdk::SchedulerDriver& driver, const std::string& frameworkId) {
  // Every subscription is journaled: the checker bounds with it the launches
  // that went to a master which was gone.
  record("subscribed", {frameworkId});
  frameworkId_ = frameworkId;
  reconcile(driver);
}

void ChaosScheduler::reconnected(sdk::SchedulerDriver& driver) {
  record("subscribed", {frameworkId_});
  reconcile(driver);
}

void ChaosScheduler::error(sdk::SchedulerDriver&, const std::string& message) {
  // The driver stops after this: the process exits and is restarted.
  record("error", {message});
}

void ChaosScheduler::reconcile(sdk::SchedulerDriver& driver) {
  std::vector<sdk::TaskRef> refs;
  for (const auto& [id, task] : tasks_) {
    if (!task.terminal) refs.push_back({id, task.agentId});
  }
  if (!refs.empty()) driver.reconcile(std::move(refs));
}

void ChaosScheduler::killStale(sdk::SchedulerDriver& driver) {
  if (options_.mode != Mode::kKeeper) return;
  for (const auto& [id, task] : tasks_) {
    auto [slot, generation] = parseLongTaskId(id);
    if (task.terminal || task.unknown || slot < 0 || generation == generation_[slot]) continue;
    record("kill", {id});
    driver.kill(id, task.agentId);
  }
}

int ChaosScheduler::activeCount() const {
  int n = 0;
  for (const auto& [id, task] : tasks_) n += !task.ended();
  return n;
}

std::vector<std::string> ChaosScheduler::wanted(int room) {
  std::vector<std::string> ids;
  if (options_.mode == Mode::kKeeper) {
    for (int slot = 0; slot < options_.slots && static_cast<int>(ids.size()) < room; ++slot) {
      auto current = generation_.find(slot);
      if (current != generation_.end()) {
        auto task = tasks_.find("long-" + std::to_string(slot) + "-g" +
                                std::to_string(current->second));
        if (task != tasks_.end() && !task->second.ended()) continue;
      }
      int next = current == generation_.end() ? 0 : current->second + 1;
      ids.push_back("long-" + std::to_string(slot) + "-g" + std::to_string(next));
    }
    return ids;
  }
  if (access((options_.journalPath + ".stop").c_str(), F_OK) == 0) return ids;
  int free = std::min(room, options_.slots - activeCount());
  for (int i = 0; i < free; ++i) ids.push_back(taskPrefix() + std::to_string(nextNumber_ + i));
  return ids;
}

void ChaosScheduler::offers(sdk::SchedulerDriver& driver, const std::vector<Offer>& offers) {
  static const Resources kPerTask = *Resources::parse(kTaskResources);
  std::vector<std::string> ids = wanted(options_.slots);
  kit::TaskGroup group{"chaos", static_cast<int>(ids.size()), kPerTask, {}, {}, {}};
  kit::PlacementRound round = kit::place(offers, {group}, kit::Strategy::kBinPack);
  std::map<std::string, std::vector<TaskInfo>> launches;  // by offer
  size_t next = 0;
  for (const kit::PlannedTask& planned : round.launches) {
    TaskInfo task;
    task.taskId = ids[next++];
    task.name = task.taskId;
    task.resources = planned.resources;
    task.command.value = options_.mode == Mode::kBatcher ? kShortCommand : kLongCommand;
    task.killGracePeriodSec = 0.5;
    record("launch", {task.taskId, planned.agentId});
    TaskRecord& record = tasks_[task.taskId];
    record.agentId = planned.agentId;
    auto [slot, generation] = parseLongTaskId(task.taskId);
    if (slot >= 0) generation_[slot] = generation;
    if (task.taskId.rfind(taskPrefix(), 0) == 0) ++nextNumber_;
    launches[planned.offerId].push_back(std::move(task));
  }
  for (auto& [offerId, tasks] : launches) driver.launch(offerId, std::move(tasks), kRefuseSeconds);
  if (!round.unusedOffers.empty()) driver.decline(round.unusedOffers, kRefuseSeconds);
}

void ChaosScheduler::update(sdk::SchedulerDriver& driver, const TaskStatus& status) {
  std::string state = taskStateName(status.state);
  record("update", {status.taskId, state, hexUuid(status.uuid), status.containerId,
                    taskReasonName(status.reason), status.source == StatusSource::MASTER ? "master"
                                                                                       : "agent"});
  TaskRecord& task = tasks_[status.taskId];
  if (!status.agentId.empty()) task.agentId = status.agentId;
  applyState(task, state);
  if (!status.uuid.empty()) {
    driver.acknowledge(status);
    record("ack", {status.taskId, hexUuid(status.uuid)});
  }
  if (task.ended()) driver.revive();
  if (state == "TASK_RUNNING") killStale(driver);
}

}  // namespace agora::chaos
