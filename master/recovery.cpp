// Master <-> registry: what each change persists, and the rebuild of the
// master's state from the registry at start (schemas/PROTOCOL.md, "Master
// registry and restarts").

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "master/master.hpp"

namespace agora::master {

namespace {

// "2026-11-27T03:04:05Z"
std::string utcText(double wallSeconds) {
  time_t seconds = static_cast<time_t>(wallSeconds);
  tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string secondsText(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

}  // namespace

void Master::persist(std::vector<Mutation> mutations, std::function<void(Status)> done) {
  auto guarded = [done = std::move(done), alive = std::weak_ptr<bool>(alive_)](Status status) {
    if (done && alive.lock()) done(std::move(status));
  };
  if (options_.registrar == nullptr) {
    loop_.post([guarded] { guarded({}); });
    return;
  }
  options_.registrar->write(std::move(mutations), std::move(guarded));
}

void Master::afterPersisted(std::function<void(Status)> done) { persist({}, std::move(done)); }

AgentRecord Master::recordOf(const Agent& agent) const {
  AgentRecord record;
  record.id = agent.id;
  record.hostname = agent.hostname;
  record.url = agent.url;
  record.resources = agent.total;
  record.attributes = agent.attributes;
  record.registeredTime = agent.registeredTime;
  if (agent.status == AgentStatus::kUnreachable) {
    record.state = AgentRecordState::kUnreachable;
    record.unreachableTime = agent.unreachableTime;
  }
  return record;
}

void Master::persistAgent(const Agent& agent, std::function<void(Status)> done) {
  persistAgentRecord(recordOf(agent), std::move(done));
}

void Master::persistAgentRecord(const AgentRecord& record, std::function<void(Status)> done) {
  Mutation mutation = putAgent(record);
  std::string& last = persistedAgents_[record.id];
  if (*mutation.bytes == last) {
    // Already written (a re-registration after a restart, typically): no
    // new write, but still answer only after any write of it in flight.
    persist({}, std::move(done));
    return;
  }
  last = *mutation.bytes;
  persist({std::move(mutation)}, std::move(done));
}

void Master::persistFramework(const Framework& framework, double removedTime) {
  FrameworkRecord record;
  record.info = framework.info;
  record.registeredTime = framework.registeredTime;
  // 0: its scheduler has not been seen to fail (a later master start grants
  // it a re-subscription window).
  bool failed = !framework.connected && framework.resubscribeWindowEnd <= 0;
  record.failoverDeadline = failed ? framework.failoverDeadline : 0;
  record.removedTime = removedTime;
  persist({putFramework(record)});
}

void Master::recover(const RegistryContents& contents) {
  double now = loop_.clock().wallSeconds();
  size_t recovering = 0;
  for (const auto& [id, record] : contents.agents) {
    if (record.state == AgentRecordState::kGone) {
      // Records written before the time was kept age from this start.
      state_.goneAgents[id] = record.goneTime > 0 ? record.goneTime : now;
      persistedAgents_[id] = *putAgent(record).bytes;
      continue;
    }
    Agent& agent = state_.agents[id];
    agent.id = id;
    agent.hostname = record.hostname;
    agent.url = record.url;
    agent.total = record.resources;
    if (auto it = contents.reservations.find(id); it != contents.reservations.end()) {
      agent.dynamic = it->second.dynamic;
      agent.volumes = it->second.volumes;
      agent.destroyedVolumes = it->second.destroyedVolumes;
    }
    agent.attributes = record.attributes;
    agent.registeredTime = record.registeredTime;
    bool admitted = record.state == AgentRecordState::kAdmitted;
    agent.status = admitted ? AgentStatus::kRecovering : AgentStatus::kUnreachable;
    // Records written before the time was kept count from this start.
    agent.unreachableTime =
        admitted ? 0 : (record.unreachableTime > 0 ? record.unreachableTime : now);
    persistedAgents_[id] = *putAgent(record).bytes;
    recovering += admitted ? 1 : 0;
  }
  if (recovering > 0) {
    timers_.push_back(loop_.addTimer(seconds(options_.agentReregisterTimeoutSec),
                                     [this] { expireRecoveringAgents(); }));
  }
  for (const auto& [role, weight] : contents.weights) {
    Status set = allocator_->setWeight(role, weight);
    LOG_IF(ERROR, !set) << "registry: weight of role " << role << ": " << set.error().message;
  }
  for (const auto& [role, quota] : contents.quotas) {
    Status set = allocator_->setQuota(role, quota.guarantee, quota.limit);
    LOG_IF(ERROR, !set) << "registry: quota of role " << role << ": " << set.error().message;
  }
  std::vector<std::pair<std::string, double>> expired;
  size_t awaiting = 0;
  for (const auto& [id, record] : contents.frameworks) {
    if (record.removedTime > 0) {
      state_.removedFrameworks.insert(id);
      continue;
    }
    Framework& framework = state_.frameworks[id];
    framework.info = record.info;
    if (framework.info.roles.empty()) framework.info.roles = {"*"};
    framework.registeredTime = record.registeredTime;
    allocator_->addFramework(id, framework.info.roles);
    constrainOffers(framework.info);
    allocator_->deactivateFramework(id);
    // Connected when the master stopped: the stop was not its scheduler
    // failing, so it gets the re-subscription window before its own timeout
    // (0 for `agora run`) starts. Disconnected: the persisted deadline stands.
    if (record.failoverDeadline <= 0) {
      awaitResubscription(framework, now + options_.frameworkResubscribeTimeoutSec);
      awaiting++;
      continue;
    }
    framework.failoverDeadline = record.failoverDeadline;
    if (framework.failoverDeadline <= now) {
      expired.emplace_back(id, framework.failoverDeadline);
      continue;
    }
    startFailoverTimer(framework);
  }
  for (const auto& [id, deadline] : expired) {
    removeFramework(id, "its failover deadline " + utcText(deadline) +
                            " passed before its scheduler re-subscribed");
  }
  LOG(INFO) << "recovered from registry " << options_.registrar->path() << ": "
            << contents.agents.size() << " agents (" << recovering
            << " expected to re-register within "
            << secondsText(options_.agentReregisterTimeoutSec) << " s), "
            << contents.frameworks.size() << " frameworks (" << awaiting
            << " connected when the last master stopped, expected to re-subscribe within "
            << secondsText(options_.frameworkResubscribeTimeoutSec) << " s; " << expired.size()
            << " past their failover deadline), " << contents.weights.size() << " weights, "
            << contents.quotas.size() << " quotas, dynamic reservations on "
            << contents.reservations.size() << " agents";
}

void Master::expireRecoveringAgents() {
  for (auto& [id, agent] : state_.agents) {
    if (agent.status != AgentStatus::kRecovering) continue;
    markAgentUnreachable(agent, "it did not re-register within " +
                                    secondsText(options_.agentReregisterTimeoutSec) +
                                    " s of the master's start");
  }
}

void Master::awaitResubscription(Framework& framework, double windowEnd) {
  if (framework.failoverTimer) loop_.cancelTimer(*framework.failoverTimer);
  framework.resubscribeWindowEnd = windowEnd;
  framework.failoverDeadline = windowEnd + framework.info.failoverTimeoutSec;
  double delay = std::max(0.0, windowEnd - loop_.clock().wallSeconds());
  framework.failoverTimer = loop_.addTimer(
      seconds(delay), [this, id = framework.info.id] { closeResubscribeWindow(id); });
}

void Master::closeResubscribeWindow(const std::string& frameworkId) {
  Framework* framework = state_.findFramework(frameworkId);
  if (framework == nullptr) return;
  framework->failoverTimer.reset();
  framework->resubscribeWindowEnd = 0;
  if (framework->connected) return;
  std::string window = secondsText(options_.frameworkResubscribeTimeoutSec);
  double timeoutSec = framework->info.failoverTimeoutSec;
  if (framework->failoverDeadline <= loop_.clock().wallSeconds()) {
    removeFramework(frameworkId, "its scheduler did not re-subscribe within the " + window +
                                     " s allowed after the master's start, and its failover "
                                     "timeout of " +
                                     secondsText(timeoutSec) + " s has passed too");
    return;
  }
  LOG(WARNING) << "framework " << frameworkId << " did not re-subscribe within " << window
               << " s of the master's start; its failover timeout of " << secondsText(timeoutSec)
               << " s runs from now";
  startFailoverTimer(*framework);
  persistFramework(*framework);
  markChanged();
}

void Master::startFailoverTimer(Framework& framework) {
  if (framework.failoverTimer) loop_.cancelTimer(*framework.failoverTimer);
  std::string id = framework.info.id;
  double timeoutSec = framework.info.failoverTimeoutSec;
  double deadline = framework.failoverDeadline;
  double delay = std::max(0.0, deadline - loop_.clock().wallSeconds());
  framework.failoverTimer = loop_.addTimer(seconds(delay), [this, id, timeoutSec, deadline] {
    if (Framework* f = state_.findFramework(id)) f->failoverTimer.reset();
    removeFramework(id, "its scheduler did not re-subscribe within the failover timeout of " +
                            secondsText(timeoutSec) + " s (deadline " + utcText(deadline) + ")");
  });
}

}  // namespace agora::master
