#include "frameworks/kit/reconciliation.hpp"

#include <map>

namespace agora::kit {

namespace {

bool knownToMaster(const std::optional<TaskStatus>& master) {
  return master && master->state != TaskState::UNKNOWN && master->state != TaskState::LOST &&
         master->state != TaskState::DROPPED && master->state != TaskState::GONE;
}

}  // namespace

ReconcileAction defaultReconcilePolicy(const TaskEntry* known,
                                       const std::optional<TaskStatus>& master) {
  if (known == nullptr) return ReconcileAction::kKill;
  return knownToMaster(master) ? ReconcileAction::kAdopt : ReconcileAction::kReplace;
}

Result<ReconcileOutcome> reconcile(TaskJournal& journal, const std::vector<TaskStatus>& answers,
                                   const ReconcilePolicy& policy) {
  std::map<std::string, TaskStatus> said;
  for (const TaskStatus& status : answers) said[status.taskId] = status;
  ReconcileOutcome out;
  auto lost = [](const std::string& id) {
    TaskStatus status;
    status.taskId = id;
    status.state = TaskState::LOST;
    status.message = "the master does not know it";
    return status;
  };
  for (const std::string& id : journal.active()) {
    auto it = said.find(id);
    std::optional<TaskStatus> master;
    if (it != said.end()) master = it->second;
    ReconcileAction action = policy(journal.find(id), master);
    switch (action) {
      case ReconcileAction::kAdopt:
        if (master) {
          if (Status s = journal.record(*master); !s) return makeError(s.error());
        }
        out.adopted.push_back(id);
        break;
      case ReconcileAction::kKill: {
        TaskStatus target = master.value_or(TaskStatus{});
        target.taskId = id;
        if (target.agentId.empty()) target.agentId = journal.find(id)->agentId;
        out.kill.push_back(target);
        break;
      }
      case ReconcileAction::kReplace:
      case ReconcileAction::kForget:
        if (knownToMaster(master)) {  // still running: it must go first
          out.kill.push_back(*master);
        }
        if (Status s = journal.record(lost(id)); !s) return makeError(s.error());
        (action == ReconcileAction::kReplace ? out.replace : out.forgotten).push_back(id);
        break;
    }
  }
  for (const auto& [id, status] : said) {
    if (journal.find(id) != nullptr || !knownToMaster(status)) continue;
    if (policy(nullptr, status) == ReconcileAction::kKill) out.kill.push_back(status);
  }
  return out;
}

}  // namespace agora::kit
