#pragma once
// Reconciliation at start and after a failover: the framework's journal
// against what the master says of each task (its answers to an explicit
// reconcile of the journal's active tasks, plus any task the master reports
// that the journal does not know). A policy decides per task; the journal is
// brought up to date with what the master said.
//
//   journal active, master knows it      -> adopt (default) | kill | replace
//   journal active, master: UNKNOWN/LOST -> replace (default: launch anew) | forget
//   master knows it, journal does not    -> kill (default: nobody launched it) | adopt
//
// The caller then kills what `kill` lists (driver.kill) and places what
// `replace` lists again.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "frameworks/kit/task_journal.hpp"

namespace agora::kit {

enum class ReconcileAction { kAdopt, kKill, kReplace, kForget };

// What to do with a task: `known` is the journal's entry (null when the
// journal does not know the task), `master` what the master said (nullopt:
// nothing, or that it does not know it).
using ReconcilePolicy =
    std::function<ReconcileAction(const TaskEntry* known, const std::optional<TaskStatus>& master)>;
ReconcileAction defaultReconcilePolicy(const TaskEntry* known,
                                       const std::optional<TaskStatus>& master);

struct ReconcileOutcome {
  std::vector<std::string> adopted;
  std::vector<TaskStatus> kill;      // task and agent to kill
  std::vector<std::string> replace;  // journal entries to place again
  std::vector<std::string> forgotten;
};

// Applies the master's answers (`answers`: one per task it knows of) to the
// journal: adopted tasks get the master's state, replaced and forgotten ones
// are recorded LOST (replaced ones are then the caller's to launch anew
// under new IDs). Errors are the journal's (the store's).
Result<ReconcileOutcome> reconcile(TaskJournal& journal, const std::vector<TaskStatus>& answers,
                                   const ReconcilePolicy& policy = defaultReconcilePolicy);

}  // namespace agora::kit
