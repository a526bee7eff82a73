// TaskSupervisor: disk limits, measured like Mesos's disk/du isolator.

#include <glog/logging.h>

#include <cstdio>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/disk_usage.hpp"
#include "agent/task_supervisor.hpp"

namespace agora::agent {

double TaskSupervisor::diskLimitMb(const Record& record) const {
  double mb = record.task.resources.scalar("disk");
  return mb > 0 ? mb : options_.defaultDiskMb;
}

void TaskSupervisor::checkDisk() {
  if (diskCheckRunning_) return;  // the previous round is still walking
  std::vector<std::tuple<std::string, std::string, uint64_t>> sandboxes;  // id, dir, limit
  for (const auto& [id, record] : records_) {
    double mb = diskLimitMb(record);
    bool runs = record.stage == Stage::kStarting || record.stage == Stage::kRunning;
    if (!runs || mb <= 0 || record.diskLimitation) continue;
    sandboxes.emplace_back(id, record.sandbox, static_cast<uint64_t>(mb * 1024 * 1024));
  }
  if (sandboxes.empty()) return;
  diskCheckRunning_ = true;
  if (diskThread_.joinable()) diskThread_.join();  // done: it posted its end
  // A walk of a large sandbox takes long: never on the loop thread. The
  // thread only posts back; the supervisor joins it before it goes.
  diskThread_ = std::thread([this, &loop = loop_, sandboxes = std::move(sandboxes)] {
    for (const auto& [id, dir, limit] : sandboxes) {
      auto used = diskUsageBytes(dir);
      if (!used) {
        VLOG(1) << used.error().message;
        continue;
      }
      loop.post(lifetime_.wrap(
          [this, id = id, bytes = *used, limit = limit] { onDiskUsage(id, bytes, limit); }));
    }
    loop.post(lifetime_.wrap([this] { diskCheckRunning_ = false; }));
  });
}

void TaskSupervisor::onDiskUsage(const std::string& containerId, uint64_t bytes,
                                 uint64_t limitBytes) {
  auto it = records_.find(containerId);
  if (it == records_.end() || bytes <= limitBytes) return;
  Record& record = it->second;
  bool runs = record.stage == Stage::kStarting || record.stage == Stage::kRunning;
  if (!runs || record.diskLimitation) return;
  char message[160];
  snprintf(message, sizeof(message), "Disk usage (%.1f MB) exceeds the sandbox's limit (%.1f MB)",
           static_cast<double>(bytes) / (1 << 20), static_cast<double>(limitBytes) / (1 << 20));
  LOG(WARNING) << "task " << record.task.taskId << ": " << message << "; killing it";
  record.diskLimitation = ContainerLimitation{TaskReason::CONTAINER_LIMITATION_DISK, message};
  destroy(record);
}

}  // namespace agora::agent
