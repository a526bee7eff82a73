// Operations: a framework's ACCEPT — offer validation, reservation and
// volume operations (reservation_planning.cpp, volume_planning.cpp), task
// validation (launch_planner) and launches.

#include <glog/logging.h>

#include <cmath>
#include <set>

#include "master/operations/operations.hpp"

namespace agora::master {

void Operations::onAccept(const Framework& framework, schema::Call::Accept::Reader accept) {
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
      ctx_.reject("unsupported_operation", "framework " + framework.info.id +
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
    const OfferRecord* record = offers_.find(offerId);
    if (!seen.insert(offerId).second) {
      problem = "offer '" + offerId + "' is listed twice";
    } else if (record == nullptr) {
      problem = "offer '" + offerId + "' is unknown, rescinded or already used";
    } else if (record->offer.frameworkId != framework.info.id) {
      problem = "offer '" + offerId + "' belongs to another framework";
    } else {
      if (agentId.empty()) agentId = record->offer.agentId;
      if (role.empty()) role = record->offer.role;
      if (record->offer.agentId != agentId) {
        problem = "the offers are for different agents ('" + agentId + "' and '" +
                  record->offer.agentId + "')";
      } else if (record->offer.role != role) {
        problem = "the offers are for different roles ('" + role + "' and '" +
                  record->offer.role + "')";
      }
      usable.push_back(offerId);
    }
  }
  if (problem.empty() && !agents_.findAgent(agentId)->answered) {
    problem = "agent '" + agentId + "' is re-registering";
  }
  if (!problem.empty()) {
    for (const std::string& offerId : usable) offers_.remove(offerId, false, 0, "invalid_accept");
    LOG(WARNING) << "framework " << framework.info.id << ": accept rejected: " << problem;
    tasks_.refuse(framework, taskIds,
                   framework.partitionAware() ? TaskState::DROPPED : TaskState::LOST,
                   TaskReason::INVALID_OFFERS, "launch failed: " + problem);
    return;
  }

  Resources offered;
  for (const std::string& offerId : usable) offered += offers_.take(offerId, "accepted").resources;
  ctx_.metrics.offersAccepted(usable.size());
  const Agent& agent = *agents_.findAgent(agentId);  // offers exist only for registered agents
  if (reservations.empty()) {
    finishAccept(framework, agent, role, requests, offered, refuse);
    return;
  }
  // Reservation operations apply first, all or none; launches see their result.
  Resources after = offered;
  auto changes = planReservations(framework, role, agent, reservations, after);
  if (!changes) {
    const std::string& why = changes.error().message;
    ctx_.reject("invalid_operation", "framework " + framework.info.id + ": " + why);
    ctx_.allocator.recover(framework.info.id, role, agentId, offered, 0);
    tasks_.refuse(framework, taskIds, TaskState::ERROR, TaskReason::TASK_INVALID,
                  "launch failed: the accept's " + why);
    ctx_.scheduleAllocation();
    return;
  }
  applyReservations(framework, role, agentId, *changes);
  // Launch only once the reservations are durable: a restarted master must
  // not find tasks on reservations it does not know.
  agents_.persistReservations(
      agentId, [this, frameworkId = framework.info.id, role, agentId, requests, after, refuse,
                changes = *changes](Status persisted) {
        LOG_IF(ERROR, !persisted) << "agent " << agentId << ": reservations not persisted: "
                                  << persisted.error().message;
        if (persisted) agents_.sendVolumeDestroys(agentId, changes);
        afterReservations(frameworkId, role, agentId, requests, after, refuse);
      });
}

void Operations::afterReservations(const std::string& frameworkId, const std::string& role,
                                   const std::string& agentId,
                                   const std::vector<TaskRequest>& requests,
                                   const Resources& offered, double refuseSeconds) {
  const Framework* owner = frameworks_.findFramework(frameworkId);
  if (owner == nullptr) return;  // its allocations went with it
  const Agent* target = agents_.registeredAgent(agentId);
  if (target == nullptr) {
    std::vector<std::string> ids;
    for (const TaskRequest& request : requests) ids.push_back(request.taskId);
    tasks_.refuse(*owner, ids, owner->partitionAware() ? TaskState::DROPPED : TaskState::LOST,
                  TaskReason::AGENT_REMOVED, "launch failed: agent " + agentId + " went away");
    return;
  }
  finishAccept(*owner, *target, role, requests, offered, refuseSeconds);
}

void Operations::finishAccept(const Framework& framework, const Agent& agent,
                              const std::string& role, const std::vector<TaskRequest>& requests,
                              const Resources& offered, double refuse) {
  const std::string& agentId = agent.id;
  LaunchPlan plan = planLaunch(
      requests, agentId, offered,
      [&](const std::string& taskId) {
        return tasks_.findLive({framework.info.id, taskId}) != nullptr;
      },
      [&](TaskInfo& task) { return authorizeTask(framework, task); });
  for (const TaskRejection& rejection : plan.rejected) {
    LOG(INFO) << "framework " << framework.info.id << ": " << rejection.message;
    tasks_.refuse(framework, {rejection.taskId}, TaskState::ERROR, TaskReason::TASK_INVALID,
                  rejection.message);
  }
  for (const TaskInfo& task : plan.launch) launchTask(framework, agent, role, task);
  ctx_.allocator.recover(framework.info.id, role, agentId, offered - plan.used, refuse);
  ctx_.scheduleAllocation();
}

void Operations::launchTask(const Framework& framework, const Agent& agent,
                            const std::string& role, const TaskInfo& info) {
  tasks_.launch(framework.info.id, agent.id, role, info);
  ctx_.outbox.toAgent(agent.peer, "runTask", [&](schema::AgentEnvelope::Builder out) {
    auto run = out.initRunTask();
    toCapnp(framework.info, run.initFramework());
    toCapnp(info, run.initTask());
    run.setSession(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(agent.session.data()),
                                       agent.session.size()));
  });
  VLOG(1) << "launching task " << info.taskId << " of framework " << framework.info.id
          << " on agent " << agent.id;
}

}  // namespace agora::master
