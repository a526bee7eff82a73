// TaskSupervisor: containers started from images.

#include <glog/logging.h>

#include "agent/executor/launch_spec.hpp"
#include "agent/images/image_config.hpp"
#include "agent/images/pull_policy.hpp"
#include "agent/paths.hpp"
#include "agent/task_supervisor.hpp"

namespace agora::agent {

namespace {

// The task's label, else the default for its reference (Always when the
// reference does not parse: the pull then reports what is wrong with it).
Result<images::PullPolicy> pullPolicyOf(const TaskInfo& task) {
  if (const std::string* value = findValue(task.labels, images::kPullPolicyLabel)) {
    return images::parsePullPolicy(*value);
  }
  auto reference = images::parseImageReference(task.container.image);
  return reference ? images::defaultPullPolicy(*reference) : images::PullPolicy::kAlways;
}

}  // namespace

void TaskSupervisor::provisionImage(Record& record) {
  const ContainerInfo& container = record.task.container;
  const std::string what = "image '" + container.image + "'";
  if (options_.images == nullptr) {
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      what + " needs the namespaces isolation, which this agent does not use");
  }
  if (container.userNamespace) {
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      what + ": images in a user namespace are not supported");
  }
  auto policy = pullPolicyOf(record.task);
  if (!policy) {
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      what + ": " + policy.error().message);
  }
  setStage(record, Stage::kProvisioning);
  options_.images->provision(
      container.image, *policy,
      lifetime_.wrap([this, id = record.containerId](Result<images::Image> image) {
        onProvisioned(id, std::move(image));
        if (onChange_) onChange_();
      }));
}

void TaskSupervisor::onProvisioned(const std::string& containerId, Result<images::Image> image) {
  auto it = records_.find(containerId);
  if (it == records_.end()) {
    if (image) options_.images->release(image->id);
    return;
  }
  Record& record = it->second;
  const std::string what = "image '" + record.task.container.image + "'";
  if (!image) {
    LOG(WARNING) << "task " << record.task.taskId << ": " << image.error().message;
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      "cannot provision " + what + ": " + image.error().message);
  }
  record.imageId = image->id;
  if (record.killGraceSec) {
    return failLaunch(record, TaskState::KILLED, TaskReason::TASK_KILLED_DURING_LAUNCH,
                      "Task killed while its " + what + " was being provisioned");
  }
  auto process = images::mergeCommand(image->config, record.task.command);
  if (!process) {
    return failLaunch(record, TaskState::FAILED, TaskReason::CONTAINER_LAUNCH_FAILED,
                      what + ": " + process.error().message);
  }
  ImageRootfs rootfs;
  rootfs.reference = record.task.container.image;
  rootfs.imageId = image->id;
  rootfs.layerDirs = image->layerDirs;
  rootfs.argv = std::move(process->argv);
  rootfs.env = std::move(process->env);
  rootfs.workingDir = image->config.workingDir;  // empty: the sandbox
  rootfs.user = std::move(process->user);
  VLOG(1) << "task " << record.task.taskId << ": " << what << " is " << image->id;
  startContainer(record, std::move(rootfs));
}

void TaskSupervisor::releaseImage(Record& record) {
  if (record.imageId.empty() || options_.images == nullptr) return;
  options_.images->release(record.imageId);
  record.imageId.clear();
}

void TaskSupervisor::recoverImage(Record& record) {
  if (record.task.container.image.empty()) return;
  auto spec = readLaunchSpec(paths::launchFile(runtimeDir(), record.containerId));
  if (!spec || !spec->rootfs) {
    LOG(ERROR) << "recovered container " << record.containerId << " names image '"
               << record.task.container.image
               << "' but its launch spec does not: " << (spec ? "no rootfs" : spec.error().message);
    return;
  }
  if (options_.images == nullptr) {
    LOG(ERROR) << "recovered container " << record.containerId
               << " runs an image, but this agent has no image store";
    return;
  }
  record.imageId = spec->rootfs->imageId;
  options_.images->acquire(record.imageId);
}

}  // namespace agora::agent
