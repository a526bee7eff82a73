// ACCEPT: offer validation, reservation and volume operations
// (reservations.cpp, volumes.cpp), task validation (launch_planner) and
// launches.

#include <glog/logging.h>

#include <cmath>
#include <set>

#include "master/launch_planner.hpp"
#include "master/master.hpp"

namespace agora::master {


void Master::onAccept(Framework& framework, Call::Accept::Reader accept) {
  std::vector<std::string> offerIds;
  for (auto id : accept.getOfferIds()) offerIds.emplace_back(id);
  double refuse = accept.getFilters().getRefuseSeconds();
  if (!std::isfinite(refuse) || refuse < 0) refuse = 5.0;
  std::vector<TaskRequest> requests;
  std::vector<ReservationOperation> reservations;
  using Kind = ReservationOperation::Kind;
  int group = 0;
  for (auto operation : accept.getOperations()) {
    auto which = operation.which();
    if (which == schema::Operation::LAUNCH || which == schema::Operation::LAUNCH_GROUP) {
      bool isGroup = which == schema::Operation::LAUNCH_GROUP;
      auto tasks = isGroup ? operation.getLaunchGroup() : operation.getLaunch();
      for (auto task : tasks) {
        requests.push_back(TaskRequest{task.getTaskId(), fromCapnp(task), isGroup ? group : -1});
      }
      if (isGroup) ++group;
    } else if (which == schema::Operation::RESERVE) {
      reservations.push_back({Kind::kReserve, Resources::fromCapnp(operation.getReserve())});
    } else if (which == schema::Operation::UNRESERVE) {
      reservations.push_back({Kind::kUnreserve, Resources::fromCapnp(operation.getUnreserve())});
    } else if (which == schema::Operation::CREATE) {
      reservations.push_back({Kind::kCreate, Resources::fromCapnp(operation.getCreate())});
    } else if (which == schema::Operation::DESTROY) {
      reservations.push_back({Kind::kDestroy, Resources::fromCapnp(operation.getDestroy())});
    } else {
      reject("unsupported_operation", "framework " + framework.info.id +
                                          " sent an operation this master does not know");
    }
  }
  std::vector<std::string> taskIds;
  for (const TaskRequest& request : requests) taskIds.push_back(request.taskId);

  // Every offer must exist, belong to this framework and be for one agent.
  std::string problem;
  std::string agentId;
  std::string role;
  std::vector<std::string> usable;
  std::set<std::string> seen;
  if (offerIds.empty()) problem = "the accept names no offers";
  for (const std::string& offerId : offerIds) {
    auto it = state_.offers.find(offerId);
    if (!seen.insert(offerId).second) {
      problem = "offer '" + offerId + "' is listed twice";
    } else if (it == state_.offers.end()) {
      problem = "offer '" + offerId + "' is unknown, rescinded or already used";
    } else if (it->second.offer.frameworkId != framework.info.id) {
      problem = "offer '" + offerId + "' belongs to another framework";
    } else {
      if (agentId.empty()) agentId = it->second.offer.agentId;
      if (role.empty()) role = it->second.offer.role;
      if (it->second.offer.agentId != agentId) {
        problem = "the offers are for different agents ('" + agentId + "' and '" +
                  it->second.offer.agentId + "')";
      } else if (it->second.offer.role != role) {
        problem = "the offers are for different roles ('" + role + "' and '" +
                  it->second.offer.role + "')";
      }
      usable.push_back(offerId);
    }
  }
  if (problem.empty() && !state_.agents.at(agentId).answered) {
    problem = "agent '" + agentId + "' is re-registering";
  }
  if (!problem.empty()) {
    for (const std::string& offerId : usable) removeOffer(offerId, false, 0, "invalid_accept");
    LOG(WARNING) << "framework " << framework.info.id << ": accept rejected: " << problem;
    rejectAllTasks(framework, taskIds,
                   framework.partitionAware() ? TaskState::DROPPED : TaskState::LOST,
                   TaskReason::INVALID_OFFERS, "launch failed: " + problem);
    return;
  }

  Resources offered;
  for (const std::string& offerId : usable) offered += takeOffer(offerId, "accepted").resources;
  metrics_.offersAccepted(usable.size());
  Agent& agent = state_.agents.at(agentId);  // offers exist only for registered agents
  if (reservations.empty()) {
    finishAccept(framework, agent, role, requests, offered, refuse);
    return;
  }
  // Reservation operations apply first, all or none; launches see their result.
  Resources after = offered;
  auto changes = planReservations(framework, role, agent, reservations, after);
  if (!changes) {
    const std::string& why = changes.error().message;
    reject("invalid_operation", "framework " + framework.info.id + ": " + why);
    allocator_->recover(framework.info.id, role, agentId, offered, 0);
    rejectAllTasks(framework, taskIds, TaskState::ERROR, TaskReason::TASK_INVALID,
                   "launch failed: the accept's " + why);
    scheduleAllocation();
    return;
  }
  applyReservations(framework, role, agent, *changes);
  // Launch only once the reservations are durable: a restarted master must
  // not find tasks on reservations it does not know.
  persistReservations(agent, [this, frameworkId = framework.info.id, role, agentId, requests,
                              after, refuse, changes = *changes](Status persisted) {
    LOG_IF(ERROR, !persisted) << "agent " << agentId << ": reservations not persisted: "
                              << persisted.error().message;
    if (persisted) sendVolumeDestroys(agentId, changes);
    Framework* owner = state_.findFramework(frameworkId);
    Agent* target = state_.findAgent(agentId);
    if (owner == nullptr) return;  // its allocations went with it
    if (target == nullptr || target->status != AgentStatus::kRegistered) {
      std::vector<std::string> ids;
      for (const TaskRequest& request : requests) ids.push_back(request.taskId);
      rejectAllTasks(*owner, ids, owner->partitionAware() ? TaskState::DROPPED : TaskState::LOST,
                     TaskReason::AGENT_REMOVED, "launch failed: agent " + agentId + " went away");
      return;
    }
    finishAccept(*owner, *target, role, requests, after, refuse);
  });
}

void Master::finishAccept(Framework& framework, Agent& agent, const std::string& role,
                          const std::vector<TaskRequest>& requests, const Resources& offered,
                          double refuse) {
  const std::string& agentId = agent.id;
  LaunchPlan plan = planLaunch(requests, agentId, offered, [&](const std::string& taskId) {
    return state_.findTask({framework.info.id, taskId}) != nullptr;
  });
  for (const TaskRejection& rejection : plan.rejected) {
    LOG(INFO) << "framework " << framework.info.id << ": " << rejection.message;
    rejectAllTasks(framework, {rejection.taskId}, TaskState::ERROR, TaskReason::TASK_INVALID,
                   rejection.message);
  }
  for (TaskInfo& task : plan.launch) launchTask(framework, agent, role, std::move(task));
  allocator_->recover(framework.info.id, role, agentId, offered - plan.used, refuse);
  scheduleAllocation();
}

void Master::rejectAllTasks(Framework& framework, const std::vector<std::string>& taskIds,
                            TaskState state, TaskReason reason, const std::string& message) {
  for (const std::string& taskId : taskIds) {
    TaskStatus status;
    status.taskId = taskId;
    status.state = state;
    status.reason = reason;
    status.message = message;
    status.frameworkId = framework.info.id;
    status.source = StatusSource::MASTER;
    status.timestamp = loop_.clock().wallSeconds();
    sendUpdate(framework, status);
  }
}

void Master::launchTask(Framework& framework, Agent& agent, const std::string& role,
                        TaskInfo info) {
  Task& task = state_.addTask(framework, agent, role, info);
  setTaskStatus(task, taskUpdate(task.status(), TaskState::STAGING, TaskReason::NONE, ""));
  sendToAgent(agent.peer, "runTask", [&](AgentEnvelope::Builder out) {
    auto run = out.initRunTask();
    toCapnp(framework.info, run.initFramework());
    toCapnp(info, run.initTask());
    run.setSession(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(agent.session.data()),
                                       agent.session.size()));
  });
  VLOG(1) << "launching task " << info.taskId << " of framework " << framework.info.id
          << " on agent " << agent.id;
  markChanged();
}

}  // namespace agora::master
