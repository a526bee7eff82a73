#pragma once
// The operations component: what frameworks and operators ask the master to
// do with resources — a framework's ACCEPT (offer checks, RESERVE /
// UNRESERVE / CREATE / DESTROY planned all-or-nothing, then launches), an
// operator's reservations, volumes, weights and quota. It owns no records:
// it plans against the offer book, the agents and the allocator, and applies
// through their owners. Loop thread only.

#include <optional>
#include <string>
#include <vector>

#include "master/agents/agents.hpp"
#include "master/core/context.hpp"
#include "master/frameworks/frameworks.hpp"
#include "master/offers/offer_book.hpp"
#include "master/operations/launch_planner.hpp"
#include "master/tasks/tasks.hpp"

namespace agora::master {

// One RESERVE, UNRESERVE, CREATE or DESTROY of an ACCEPT, as decoded.
struct ReservationOperation {
  enum class Kind { kReserve, kUnreserve, kCreate, kDestroy };
  Kind kind = Kind::kReserve;
  Result<Resources> resources;
  const char* name() const;  // "RESERVE", ...
};

// What a task runs as when neither it nor its framework names a user its
// principal may use.
inline constexpr const char* kUnprivilegedUser = "nobody";

class Operations {
 public:
  // REQUIRES: every component outlives it.
  Operations(MasterContext& context, Agents& agents, Frameworks& frameworks, OfferBook& offers,
             Tasks& tasks)
      : ctx_(context), agents_(agents), frameworks_(frameworks), offers_(offers), tasks_(tasks) {}
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  void onAccept(const Framework& framework, schema::Call::Accept::Reader accept);

  // Operators (HTTP API). kInvalidArgument (naming the field) leaves
  // everything unchanged; a change is queued to the registry.
  // Dynamic reservations (reservation_planning.cpp): `resources` are all
  // reserved (for any role); reserve takes them from the agent's unreserved
  // resources, unreserve returns them. Offers on the agent are rescinded when
  // they hold what is needed. kNotFound: unknown agent.
  Status reserve(const std::string& agentId, const Resources& resources, bool reserve);
  // Persistent volumes (volume_planning.cpp): `volume` is one volume on
  // reserved disk of the agent that is free or offered (offers holding it
  // are rescinded); destroyVolume finds the volume by its id. kNotFound:
  // unknown agent; kInvalidArgument: why not (e.g. in use by a task).
  Status createVolume(const std::string& agentId, const Resources& volume) {
    return operatorVolumes(agentId, volume, true);
  }
  // `authorize` is asked with the volume's creator principal.
  Status destroyVolume(const std::string& agentId, const std::string& id,
                       const PrincipalCheck& authorize = {});
  // Roles (roles.cpp).
  Status setWeight(const std::string& role, double weight);
  Status setQuota(const std::string& role, std::optional<Resources> guarantee,
                  std::optional<Resources> limit);
  Status removeQuota(const std::string& role);

 private:
  // Launches the valid tasks on `offered` and returns the rest to the allocator.
  void finishAccept(const Framework& framework, const Agent& agent, const std::string& role,
                    const std::vector<TaskRequest>& requests, const Resources& offered,
                    double refuseSeconds);
  void launchTask(const Framework& framework, const Agent& agent, const std::string& role,
                  const TaskInfo& task);
  // task_authorization.cpp: the user the task runs as (its own if it names
  // one, else its framework's, else kUnprivilegedUser) and what it asks of
  // the host, against the framework principal's ACLs. Returns why it may
  // not run, or empty (task.command.user then set).
  std::string authorizeTask(const Framework& framework, TaskInfo& task) const;
  // The accepted reservations changed and durable: the launches follow.
  void afterReservations(const std::string& frameworkId, const std::string& role,
                         const std::string& agentId, const std::vector<TaskRequest>& requests,
                         const Resources& offered, double refuseSeconds);

  // reservation_planning.cpp
  // Validates the ACCEPT's reservation operations in order against `offered`
  // (updated to what they leave). Nothing changes on error.
  Result<std::vector<ReservationChange>> planReservations(
      const Framework& framework, const std::string& role, const Agent& agent,
      const std::vector<ReservationOperation>& operations, Resources& offered) const;
  void applyReservations(const Framework& framework, const std::string& role,
                         const std::string& agentId, const std::vector<ReservationChange>& changes);

  // volume_planning.cpp
  // One CREATE or DESTROY against `offered`; `volumes` is the agent's
  // volumes as the ACCEPT's earlier operations leave them (updated).
  Result<ReservationChange> planVolume(const Agent& agent, const ReservationOperation& op,
                                       const Resources& offered, Resources& volumes) const;
  Status operatorVolumes(const std::string& agentId, const Resources& volumes, bool create);

  MasterContext& ctx_;
  Agents& agents_;
  Frameworks& frameworks_;
  OfferBook& offers_;
  Tasks& tasks_;
};

}  // namespace agora::master
