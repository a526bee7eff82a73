// Frameworks: disconnection, failover timeouts, re-subscription windows
// after a master start, and what each of them persists (schemas/PROTOCOL.md,
// "Master registry and restarts").

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/duration.hpp"
#include "master/frameworks/frameworks.hpp"

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

}  // namespace

void Frameworks::persist(const Framework& framework, double removedTime) {
  FrameworkRecord record;
  record.info = framework.info;
  record.registeredTime = framework.registeredTime;
  // 0: its scheduler has not been seen to fail (a later master start grants
  // it a re-subscription window).
  bool failed = !framework.connected && framework.resubscribeWindowEnd <= 0;
  record.failoverDeadline = failed ? framework.failoverDeadline : 0;
  record.removedTime = removedTime;
  record.principal = framework.principal;
  ctx_.registry.persist({putFramework(record)});
}

void Frameworks::disconnect(Framework& framework, const std::string& why) {
  LOG(WARNING) << "framework " << framework.info.id << " disconnected: " << why
               << "; its tasks keep running for " << framework.info.failoverTimeoutSec << " s";
  framework.connected = false;
  framework.active = false;
  ctx_.allocator.deactivateFramework(framework.info.id);
  offers_.removeAllOfFramework(framework.info.id, "framework_disconnected");
  framework.failoverDeadline = ctx_.wallNow() + framework.info.failoverTimeoutSec;
  startFailoverTimer(framework);
  persist(framework);
  publish(framework, events::FrameworkChanged::Kind::kDisconnected, why);
  ctx_.markChanged();
}

size_t Frameworks::recover(const std::map<std::string, FrameworkRecord>& records) {
  double now = ctx_.wallNow();
  std::vector<std::pair<std::string, double>> expired;
  size_t awaiting = 0;
  for (const auto& [id, record] : records) {
    if (record.removedTime > 0) {
      removed_.insert(id);
      continue;
    }
    Framework& framework = frameworks_[id];
    framework.info = record.info;
    if (framework.info.roles.empty()) framework.info.roles = {"*"};
    framework.registeredTime = record.registeredTime;
    framework.principal = record.principal;
    ctx_.allocator.addFramework(id, framework.info.roles);
    constrainOffers(framework.info);
    ctx_.allocator.deactivateFramework(id);
    // Connected when the master stopped: the stop was not its scheduler
    // failing, so it gets the re-subscription window before its own timeout
    // (0 for `agora run`) starts. Disconnected: the persisted deadline stands.
    if (record.failoverDeadline <= 0) {
      awaitResubscription(framework, now + toSeconds(options_.resubscribeTimeout));
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
    remove(id, "its failover deadline " + utcText(deadline) +
                   " passed before its scheduler re-subscribed");
  }
  LOG(INFO) << "recovered " << records.size() << " frameworks from the registry (" << awaiting
            << " connected when the last master stopped, expected to re-subscribe within "
            << secondsText(toSeconds(options_.resubscribeTimeout)) << " s; " << expired.size()
            << " past their failover deadline)";
  return awaiting;
}

void Frameworks::awaitResubscription(Framework& framework, double windowEnd) {
  if (framework.failoverTimer) ctx_.loop.cancelTimer(*framework.failoverTimer);
  framework.resubscribeWindowEnd = windowEnd;
  framework.failoverDeadline = windowEnd + framework.info.failoverTimeoutSec;
  double delay = std::max(0.0, windowEnd - ctx_.wallNow());
  framework.failoverTimer = ctx_.loop.addTimer(
      seconds(delay), guard_.wrap([this, id = framework.info.id] { closeResubscribeWindow(id); }));
}

void Frameworks::closeResubscribeWindow(const std::string& frameworkId) {
  Framework* framework = findMutable(frameworkId);
  if (framework == nullptr) return;
  framework->failoverTimer.reset();
  framework->resubscribeWindowEnd = 0;
  if (framework->connected) return;
  std::string window = secondsText(toSeconds(options_.resubscribeTimeout));
  double timeoutSec = framework->info.failoverTimeoutSec;
  if (framework->failoverDeadline <= ctx_.wallNow()) {
    remove(frameworkId, "its scheduler did not re-subscribe within the " + window +
                            " s allowed after the master's start, and its failover timeout of " +
                            secondsText(timeoutSec) + " s has passed too");
    return;
  }
  LOG(WARNING) << "framework " << frameworkId << " did not re-subscribe within " << window
               << " s of the master's start; its failover timeout of " << secondsText(timeoutSec)
               << " s runs from now";
  startFailoverTimer(*framework);
  persist(*framework);
  ctx_.markChanged();
}

void Frameworks::startFailoverTimer(Framework& framework) {
  if (framework.failoverTimer) ctx_.loop.cancelTimer(*framework.failoverTimer);
  std::string id = framework.info.id;
  double timeoutSec = framework.info.failoverTimeoutSec;
  double deadline = framework.failoverDeadline;
  double delay = std::max(0.0, deadline - ctx_.wallNow());
  framework.failoverTimer =
      ctx_.loop.addTimer(seconds(delay), guard_.wrap([this, id, timeoutSec, deadline] {
        if (Framework* f = findMutable(id)) f->failoverTimer.reset();
        remove(id, "its scheduler did not re-subscribe within the failover timeout of " +
                       secondsText(timeoutSec) + " s (deadline " + utcText(deadline) + ")");
      }));
}

}  // namespace agora::master
