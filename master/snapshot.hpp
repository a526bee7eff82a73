#pragma once
// Read-only views of the master's state for the HTTP API. The loop thread
// renders a Snapshot and publishes it in a SnapshotCell; HTTP threads take
// the current one and never touch master state. (/metrics is not here: it
// serializes the prometheus-cpp registry directly, see master_metrics.hpp.)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// Holds the latest snapshot and renders on demand: the loop thread marks
// state changes (a generation counter) and renders only when a reader asks
// for a view newer than the published one, so a master nobody reads spends
// nothing on JSON. Readers never touch master state; they wait (bounded) for
// the loop to render. The mutex guards only the pointer swap.
class SnapshotCell {
 public:
  SnapshotCell() : current_(std::make_shared<const Snapshot>()) {}

  // Loop thread: the state changed since the last render.
  void markChanged() { generation_.fetch_add(1, std::memory_order_release); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool stale() const { return published_.load(std::memory_order_acquire) < generation(); }
  // Loop thread: `generation` is generation() as read before rendering.
  void publish(std::shared_ptr<const Snapshot> snapshot, uint64_t generation);

  // Set once, before readers start. Must be thread-safe (e.g. EventLoop::post
  // of a render), and is called from reader threads.
  void setRenderRequest(std::function<void()> request) { request_ = std::move(request); }

  // Any thread: a snapshot at least as new as the state when called, waiting
  // up to `timeout` for the loop to render it; past that (a loop busy for that
  // long), the latest one.
  std::shared_ptr<const Snapshot> get(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;
  // Any thread: the latest published snapshot, without asking for a render.
  std::shared_ptr<const Snapshot> latest() const;

 private:
  std::atomic<uint64_t> generation_{1};
  std::atomic<uint64_t> published_{0};
  std::function<void()> request_;
  mutable std::mutex mutex_;
  mutable std::condition_variable renderedCv_;
  // Shared with HTTP threads that are still serving an older snapshot.
  std::shared_ptr<const Snapshot> current_;
};

struct SnapshotInputs {
  const MasterView& state;
  std::string version;
  const Allocator* allocator = nullptr;  // roles and allocation views; empty when null
  const Clock* clock = nullptr;          // REQUIRES: set when allocator is
  double offerTimeoutSec = 0;
};

// Renders every view. Loop thread only (reads master state).
std::shared_ptr<const Snapshot> renderSnapshot(const SnapshotInputs& inputs);

}  // namespace agora::master
