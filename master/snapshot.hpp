#pragma once
// Read-only views of the master's state for the HTTP API. The loop thread
// renders a Snapshot and publishes it in a SnapshotCell; HTTP threads take
// the current one and never touch master state.

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "master/master_metrics.hpp"
#include "master/state.hpp"

namespace agora::master {

struct Snapshot {
  std::string stateBody;       // /api/v1/state
  std::string agentsBody;      // /api/v1/agents
  std::string frameworksBody;  // /api/v1/frameworks
  std::string tasksBody;       // /api/v1/tasks without filters
  nlohmann::json tasks;        // array, for filtered /api/v1/tasks
  std::string metricsText;     // /metrics
};

// Holds the latest snapshot. Thread-safe; the mutex guards only the pointer swap.
class SnapshotCell {
 public:
  SnapshotCell() : current_(std::make_shared<const Snapshot>()) {}
  void publish(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(snapshot);
  }
  std::shared_ptr<const Snapshot> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }

 private:
  mutable std::mutex mutex_;
  // Shared with HTTP threads that are still serving an older snapshot.
  std::shared_ptr<const Snapshot> current_;
};

struct SnapshotInputs {
  const MasterState& state;
  const MasterMetrics& metrics;
  std::string version;
  double eventLoopLagMs = 0;
};

// Renders every view. Loop thread only (reads master state).
std::shared_ptr<const Snapshot> renderSnapshot(const SnapshotInputs& inputs);

}  // namespace agora::master
