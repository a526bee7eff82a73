#pragma once
// Read-only views of the master's state for the HTTP API. The loop thread
// renders a Snapshot and publishes it in a SnapshotCell; HTTP threads take
// the current one and never touch master state. (/metrics is not here: it
// serializes the prometheus-cpp registry directly, see master_metrics.hpp.)

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/snapshot_cell.hpp"
#include "master/allocator/allocator.hpp"
#include "master/master_view.hpp"

namespace agora::master {

// Which tasks GET /api/v1/tasks returns.
struct TaskFilter {
  std::string frameworkId;  // any when empty
  std::string taskId;       // any when empty
  uint32_t states = 0;      // bit (1 << TaskState) per state; 0: any

  bool empty() const { return frameworkId.empty() && taskId.empty() && states == 0; }
};

// Parses a state filter: comma-separated names as the API shows them
// ("TASK_RUNNING"), without the prefix ("running"), any case, and the groups
// "active" (not terminal) and "finished" (terminal). kInvalidArgument names
// the valid ones.
Result<uint32_t> parseTaskStates(const std::string& text);

// Tasks are rendered once, into tasksBody: /api/v1/state and filtered
// /api/v1/tasks are assembled from it per request rather than held as more
// copies (a master with 100,000 tasks would hold each several times).
struct Snapshot {
  // Where one task's JSON object sits in tasksBody.
  struct TaskSlice {
    size_t offset = 0;
    uint32_t length = 0;
    uint32_t framework = 0;  // index into taskFrameworks
    TaskState state = TaskState::STAGING;
    std::string taskId;
  };

  std::string agentsBody;      // /api/v1/agents
  std::string frameworksBody;  // /api/v1/frameworks
  std::string tasksBody;       // /api/v1/tasks without filters: {"tasks":[...]}
  std::string rolesBody;       // /api/v1/roles
  std::string allocationBody;  // /api/v1/allocation
  // /api/v1/state up to its (last) "tasks" member: {"agents":...,"tasks":
  std::string stateHead;
  std::vector<TaskSlice> taskSlices;
  std::vector<std::string> taskFrameworks;

  // /api/v1/state.
  std::string stateBody() const;
  // {"tasks":[...]} with the tasks `filter` lets through.
  std::string tasksMatching(const TaskFilter& filter) const;
};

// The latest snapshot, rendered on demand (common/snapshot_cell.hpp).
using SnapshotCell = agora::SnapshotCell<Snapshot>;

struct SnapshotInputs {
  const MasterView& state;
  std::string version;
  const Allocator* allocator = nullptr;  // roles and allocation views; empty when null
  const Clock* clock = nullptr;          // REQUIRES: set when allocator is
  Duration offerTimeout{};
};

// Renders every view. Loop thread only (reads master state).
std::shared_ptr<const Snapshot> renderSnapshot(const SnapshotInputs& inputs);

}  // namespace agora::master
