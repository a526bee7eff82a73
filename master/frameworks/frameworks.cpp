// Frameworks: subscription, the callers of every other call, and removal.

#include "master/frameworks/frameworks.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>

#include "common/codec.hpp"
#include "common/role_name.hpp"

namespace agora::master {

Frameworks::~Frameworks() {
  for (auto& [id, framework] : frameworks_) {
    if (framework.failoverTimer) ctx_.loop.cancelTimer(*framework.failoverTimer);
  }
}

const Framework* Frameworks::findFramework(const std::string& id) const {
  auto it = frameworks_.find(id);
  return it == frameworks_.end() ? nullptr : &it->second;
}

Framework* Frameworks::findMutable(const std::string& id) {
  auto it = frameworks_.find(id);
  return it == frameworks_.end() ? nullptr : &it->second;
}

const Framework* Frameworks::caller(const std::string& peer, const std::string& frameworkId,
                                    const char* type) {
  Framework* framework = findMutable(frameworkId);
  if (framework == nullptr) {
    ctx_.reject("not_subscribed", std::string(type) + " from scheduler " + peer +
                                      " for unknown framework '" + frameworkId + "'");
    ctx_.outbox.schedulerError(
        peer, removed_.count(frameworkId)
                  ? "framework '" + frameworkId +
                        "' was removed; subscribe without an ID to register a new framework"
                  : std::string(type) + " call before subscribing: subscribe first");
    return nullptr;
  }
  if (!framework->connected) {
    // It went silent and was disconnected, or the master restarted: it
    // re-subscribes once it notices.
    ctx_.reject("not_subscribed", std::string(type) + " from disconnected framework " + frameworkId);
    return nullptr;
  }
  if (framework->peer != peer) {
    ctx_.reject("not_subscribed", std::string(type) + " for framework " + frameworkId +
                                      " from replaced connection " + peer);
    ctx_.outbox.schedulerError(peer, "framework '" + frameworkId +
                                         "' is subscribed from another connection (it failed over)");
    return nullptr;
  }
  framework->lastHeard = ctx_.clock().now();
  return framework;
}

size_t Frameworks::liveFrameworksOf(const std::string& principal) const {
  return std::count_if(frameworks_.begin(), frameworks_.end(),
                       [&](const auto& entry) { return entry.second.principal == principal; });
}

void Frameworks::onSubscribe(const std::string& peer, const std::string& principal,
                             schema::Call::Reader call) {
  std::string callFrameworkId = call.getFrameworkId();
  auto info = fromCapnp(call.getSubscribe());
  auto refuse = [&](const std::string& reason, const std::string& detail,
                    const std::string& answer) {
    ctx_.reject(reason, "scheduler " + peer + detail);
    ctx_.outbox.schedulerError(peer, answer);
  };
  if (!info) {
    return refuse("invalid_framework", ": " + info.error().message,
                  "invalid FrameworkInfo: " + info.error().message);
  }
  if (info->id.empty()) info->id = callFrameworkId;
  if (info->name.empty()) {
    return refuse("invalid_framework", " sent no framework name",
                  "invalid FrameworkInfo: name must not be empty");
  }
  if (info->roles.empty()) info->roles = {"*"};
  for (const std::string& role : info->roles) {
    if (auto valid = validateRoleName(role); !valid) {
      return refuse("invalid_framework", ": " + valid.error().message,
                    "invalid FrameworkInfo: roles: " + valid.error().message);
    }
  }
  if (auto compiled = OfferConstraints::compile(info->offerConstraints); !compiled) {
    return refuse("invalid_framework", ": " + compiled.error().message,
                  "invalid FrameworkInfo: " + compiled.error().message);
  }
  if (auto valid = validateWebuiUrl(info->webuiUrl); !valid) {
    return refuse("invalid_framework", ": " + valid.error().message,
                  "invalid FrameworkInfo: " + valid.error().message);
  }
  if (!info->id.empty()) {
    if (removed_.count(info->id)) {
      return refuse("removed_framework", " re-subscribed removed framework " + info->id,
                    "framework '" + info->id +
                        "' was removed (torn down or past its failover timeout); subscribe "
                        "without an ID to register a new framework");
    }
    if (auto valid = validateId("framework ID", info->id); !valid) {
      return refuse("invalid_framework", ": " + valid.error().message,
                    "invalid FrameworkInfo: " + valid.error().message);
    }
  } else if (auto existing = std::find_if(frameworks_.begin(), frameworks_.end(),
                                          [&](const auto& entry) {
                                            return entry.second.connected &&
                                                   entry.second.peer == peer;
                                          });
             existing != frameworks_.end()) {
    // A retried first SUBSCRIBE (the answer was still in flight): same framework.
    info->id = existing->first;
  } else {
    char number[16];
    std::snprintf(number, sizeof(number), "%04llu",
                  static_cast<unsigned long long>(nextNumber_++));
    info->id = ctx_.masterId + "-" + number;
  }

  if (pendingSubscribes_.count(peer)) return;  // a retry: answered once the first is durable
  const Framework* known = findFramework(info->id);
  std::string who = principal.empty() ? std::string("no principal") : "principal " + principal;
  if (known != nullptr && !known->principal.empty() && known->principal != principal) {
    return refuse("framework_principal_mismatch",
                  " (" + who + ") subscribed with framework ID " + info->id + " of principal " +
                      known->principal,
                  "framework '" + info->id + "' belongs to another principal");
  }
  if (!subscribeLimiter_.tryTake(principal, ctx_.clock().now())) {
    char wait[32];
    std::snprintf(wait, sizeof(wait), "%.1f",
                  subscribeLimiter_.secondsUntilNext(principal, ctx_.clock().now()));
    return refuse("framework_limit", " (" + who + ") subscribes too often",
                  "too many subscriptions from " + who + "; retry in " + wait + " s");
  }
  if (known == nullptr && options_.maxFrameworksPerPrincipal > 0 &&
      liveFrameworksOf(principal) >= options_.maxFrameworksPerPrincipal) {
    std::string limit = std::to_string(options_.maxFrameworksPerPrincipal);
    return refuse("framework_limit", " (" + who + ") has " + limit + " frameworks already",
                  who + " may have at most " + limit +
                      " live frameworks; tear one down or raise --max-frameworks-per-principal");
  }
  for (const std::string& role : info->roles) {
    if (Status allowed = ctx_.acls().require(acl::Action::kRegisterFramework, principal, role);
        !allowed) {
      return refuse("acl_denied", ": " + allowed.error().message, allowed.error().message);
    }
  }
  FrameworkRecord record;
  record.info = *info;
  record.registeredTime = known != nullptr ? known->registeredTime : ctx_.wallNow();
  // A framework known only from an agent is claimed by its first subscriber.
  record.principal = known != nullptr && !known->principal.empty() ? known->principal : principal;
  pendingSubscribes_.insert(peer);
  ctx_.registry.persist({putFramework(record)}, guard_.wrap([this, peer, record](Status persisted) {
    pendingSubscribes_.erase(peer);
    if (!persisted) {
      LOG(ERROR) << "not answering SUBSCRIBE of framework " << record.info.id
                 << ": cannot persist it: " << persisted.error().message;
      return;
    }
    if (removed_.count(record.info.id)) {
      ctx_.outbox.schedulerError(peer,
                                 "framework '" + record.info.id + "' was removed while subscribing");
      return;
    }
    admit(peer, record);
  }));
}

void Frameworks::admit(const std::string& peer, const FrameworkRecord& record) {
  const FrameworkInfo& admitted = record.info;
  Framework& framework = frameworks_[admitted.id];
  bool failover = !framework.info.id.empty();
  if (failover) {
    if (framework.connected && framework.peer != peer) {
      ctx_.outbox.schedulerError(framework.peer,
                                 "framework '" + admitted.id + "' failed over to another scheduler");
    }
    if (framework.failoverTimer) ctx_.loop.cancelTimer(*framework.failoverTimer);
    framework.failoverTimer.reset();
  } else {
    framework.registeredTime = record.registeredTime;
  }
  framework.principal = record.principal;
  framework.failoverDeadline = 0;
  framework.resubscribeWindowEnd = 0;
  ctx_.allocator.addFramework(admitted.id, admitted.roles);
  constrainOffers(admitted);
  framework.info = admitted;
  framework.peer = peer;
  framework.connected = true;
  framework.active = true;
  framework.lastHeard = ctx_.clock().now();
  // Offers made to the previous connection are void.
  offers_.rescindAllOfFramework(admitted.id, "framework_resubscribed");
  ctx_.allocator.activateFramework(admitted.id);
  LOG(INFO) << "framework " << admitted.id << " (" << admitted.name << ") "
            << (failover ? "failed over to " : "subscribed from ") << peer;
  publish(framework, failover ? events::FrameworkChanged::Kind::kFailedOver
                              : events::FrameworkChanged::Kind::kSubscribed);
  ctx_.outbox.toScheduler(peer, "subscribed", [&](schema::Event::Builder event) {
    auto subscribed = event.initSubscribed();
    subscribed.setFrameworkId(admitted.id);
    subscribed.setHeartbeatIntervalSec(toSeconds(options_.heartbeatInterval));
    subscribed.setMasterId(ctx_.masterId);
  });
  ctx_.scheduleAllocation();
}

void Frameworks::constrainOffers(const FrameworkInfo& info) {
  std::shared_ptr<const OfferConstraints> constraints;
  if (!info.offerConstraints.empty()) {
    auto compiled = OfferConstraints::compile(info.offerConstraints);
    // Validated at SUBSCRIBE; a stored one that no longer compiles is lifted.
    LOG_IF(ERROR, !compiled) << "framework " << info.id << ": " << compiled.error().message;
    if (compiled) constraints = *compiled;
  }
  ctx_.allocator.setOfferConstraints(info.id, std::move(constraints));
}

void Frameworks::publish(const Framework& framework, events::FrameworkChanged::Kind kind,
                         const std::string& reason) {
  if (!ctx_.bus.active()) return;
  ctx_.bus.publish(events::FrameworkChanged{kind, framework.info.id, framework.info.name,
                                            framework.info.roles, framework.info.user, reason,
                                            framework.info.webuiUrl});
}

void Frameworks::recoverFromAgent(const FrameworkInfo& info) {
  Framework& framework = frameworks_[info.id];
  framework.info = info;
  if (framework.info.roles.empty()) framework.info.roles = {"*"};
  framework.registeredTime = ctx_.wallNow();
  ctx_.allocator.addFramework(info.id, framework.info.roles);
  constrainOffers(framework.info);
  ctx_.allocator.deactivateFramework(info.id);
  LOG(INFO) << "framework " << info.id << " recovered from an agent; waiting "
            << toSeconds(options_.resubscribeTimeout) << " s for its scheduler";
  // Nothing says its scheduler failed: the same window as a framework that
  // was connected when the master stopped.
  awaitResubscription(framework, ctx_.wallNow() + toSeconds(options_.resubscribeTimeout));
  persist(framework);
}

void Frameworks::checkSchedulers() {
  TimePoint now = ctx_.clock().now();
  Duration silenceLimit = 3 * options_.heartbeatInterval;
  std::vector<std::string> silent;
  for (auto& [id, framework] : frameworks_) {
    if (!framework.connected) continue;
    if (now - framework.lastHeard > silenceLimit) {
      silent.push_back(id);
      continue;
    }
    ctx_.outbox.toScheduler(framework.peer, "heartbeat",
                            [](schema::Event::Builder event) { event.setHeartbeat(); });
  }
  for (const std::string& id : silent) {
    disconnect(frameworks_.at(id), "no calls for 3 heartbeat intervals");
  }
}

Status Frameworks::teardown(const std::string& frameworkId, const std::string& why,
                           const PrincipalCheck& authorize) {
  const Framework* framework = findFramework(frameworkId);
  if (framework == nullptr) {
    if (wasRemoved(frameworkId)) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "framework '" + frameworkId + "' was removed already");
    }
    return makeError(ErrorCode::kNotFound, "no framework '" + frameworkId + "'");
  }
  if (authorize) {
    if (Status allowed = authorize(framework->principal); !allowed) return allowed;
  }
  if (framework->connected) {
    ctx_.outbox.schedulerError(framework->peer, "framework '" + frameworkId + "' was " + why);
  }
  remove(frameworkId, why);
  return {};
}

void Frameworks::remove(const std::string& frameworkId, const std::string& why) {
  Framework* framework = findMutable(frameworkId);
  if (framework == nullptr) return;
  LOG(WARNING) << "removing framework " << frameworkId << " (" << framework->info.name
               << "): " << why;
  if (framework->failoverTimer) ctx_.loop.cancelTimer(*framework->failoverTimer);
  offers_.removeAllOfFramework(frameworkId, "framework_removed");
  std::set<std::string> agents =
      tasks_.killAllOfFramework(frameworkId, "framework '" + frameworkId + "' was removed: " + why);
  for (const std::string& agentId : agents) {
    const Agent* agent = ctx_.agents().registeredAgent(agentId);
    if (agent == nullptr) continue;
    ctx_.outbox.toAgent(agent->peer, "shutdownFramework", [&](schema::AgentEnvelope::Builder out) {
      out.initShutdownFramework().setFrameworkId(frameworkId);
    });
  }
  ctx_.allocator.removeFramework(frameworkId);
  persist(*framework, ctx_.wallNow());
  publish(*framework, events::FrameworkChanged::Kind::kRemoved, why);
  frameworks_.erase(frameworkId);
  removed_.insert(frameworkId);
  ctx_.scheduleAllocation();
}

}  // namespace agora::master
