#pragma once
// The master's operator HTTP API. GET handlers run on the HTTP server's
// threads and read only the published Snapshot, never master state. Changes
// (weights, quota) are posted to the master's loop with EventLoop::post and
// the handler waits, bounded, for the loop's answer; it never touches master
// state itself.
//
//   GET /health               {"status":"ok"}
//   GET /api/v1/state         {"master":{...},"agents":[...],"frameworks":[...],"tasks":[...]}
//   GET /api/v1/agents        {"agents":[...]}
//   GET /api/v1/frameworks    {"frameworks":[...]}
//   GET /api/v1/tasks         {"tasks":[TASK]}, live tasks then completed ones (kept across
//                             restarts, within the master's --max-completed-* bounds);
//                             optional query framework_id=, task_id=, state=S[,S...] (state
//                             names with or without TASK_, any case, or the groups active
//                             and terminal; an unknown one is a 400 naming the valid ones)
//     TASK = {id, name, framework_id, agent_id, agent_url, state, reason, message, resources,
//             sandbox, container_id, updated, exit_code (when known),
//             statuses: [{state, reason, message, timestamp}] (its state changes, oldest
//                       first, from TASK_STAGING at launch)}
//   GET /api/v1/roles         {"roles":[ROLE]}, every role in the allocator's tree:
//     ROLE = {name, weight,
//             quota: {guarantee|null, limit|null, consumed}  (consumed: what quota counts:
//                    the subtree's unreserved allocation plus all its reservations),
//             guarantee_exceeds_capacity (the guarantee is more than the cluster has),
//             allocated (offered or in use in the subtree, reserved or not),
//             offered (outstanding offers to the subtree),
//             in_use (allocated - offered),
//             reserved: reservations (static and dynamic, in use or not) for the role and
//                       its descendants; reserved_dynamic: the dynamic part of them;
//                       reserved_free: reserved for exactly this role, neither offered
//                       nor in use (its frameworks get it at no further quota cost),
//             frameworks: IDs subscribed directly in the role,
//             suppressed_frameworks: those of them that suppressed offers in the role,
//             filters: [{framework_id, agents, earliest_expiry, latest_expiry}] live refuse
//                      filters per framework (agents filtered; expiries in Unix seconds)}
//   GET /api/v1/allocation    {offer_timeout_sec|null,
//                              cluster: {total, free, allocated, offered,
//                                        reserved: {ROLE: resources reserved for exactly it}},
//                              roles: [ROLE],
//                              offers: [{id, framework_id, role, agent_id, resources,
//                                        offered_at, expires_at|null}],
//                              allocator: {passes, full_passes, agents_visited,
//                                          last_pass_agents}}
//   POST /api/v1/weights      {"role":"eng","weight":2}
//   POST /api/v1/quota        {"role":"eng","guarantee":"cpus:1;mem:512","limit":"cpus:2"}
//   DELETE /api/v1/quota?role=eng, or POST /api/v1/quota/remove {"role":"eng"}
//   POST /api/v1/reserve      {"agent_id":"M-S1","resources":"cpus:1;mem:512","role":"eng",
//                              "principal":"ops"}   dynamic reservation of unreserved resources
//   POST /api/v1/unreserve    same body; returns them to the unreserved pool
//     With "role", `resources` are unreserved text reserved for that role; without it, every
//     resource names its role ("cpus(eng):1"). "principal" is optional (part of the
//     reservation: unreserve with the principal it was reserved with). 404: unknown agent.
//   POST /api/v1/create-volumes  {"agent_id":"M-S1","resources":"disk(eng):100","id":"v1",
//                                 "container_path":"data","mode":"rw","principal":"ops"}
//     a persistent volume on reserved disk of the agent (static "disk(eng)" or dynamic
//     "disk(eng,dynamic:P)"); "mode" (rw|ro) and "principal" are optional.
//   POST /api/v1/destroy-volumes {"agent_id":"M-S1","id":"v1"}: back to plain reserved disk,
//     its data deleted on the agent; refused while a task uses it.
//   POST /api/v1/tasks/ID/kill   {"framework_id"?: "F", "reason"?: "why"} (body optional):
//     kills the live task ID of any framework through its agent, with the task's own grace
//     period, as if its framework had asked; its framework sees the TASK_KILLED update.
//     200 {"task_id","framework_id","agent_id","state"} (the state when the kill was sent);
//     404 unknown task; 409 it has ended, or several frameworks have a task of that ID
//     (give framework_id); 503 its agent is unreachable. Not persisted: answers at once.
// Changes answer 200 {} or 400 {"error": "<field>: why"} (nothing changed),
// 404 for removing a quota that is not set, 503 when the loop did not answer in time.
// A 200 is sent only once the change is durable in the master's registry.
//
// GET /metrics (Prometheus text) is not installed here: it serializes the
// master's agora::Metrics registry, registered with Metrics::serveOn (main.cpp).

#include <chrono>
#include <functional>

#include "common/authorizer.hpp"
#include "common/event_loop.hpp"
#include "common/http_auth.hpp"
#include "common/http_server.hpp"
#include "master/snapshot.hpp"

namespace agora::master {

class Master;

class HttpApi {
 public:
  // Read-only API. REQUIRES: cell outlives every server the API is installed on.
  explicit HttpApi(const SnapshotCell& cell) : cell_(cell) {}
  // With the operator changes. REQUIRES: loop and master outlive the servers;
  // master lives on loop.
  HttpApi(const SnapshotCell& cell, EventLoop& loop, Master& master,
          std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : cell_(cell), loop_(&loop), master_(&master), timeout_(timeout) {}

  // What GET /api/v1/master answers: who this master is and where
  // schedulers and agents connect (its ZeroMQ endpoint), so that clients
  // need only the HTTP address. REQUIRES: called before install().
  void describeMaster(const std::string& id, const std::string& version,
                      const std::string& endpoint);

  // Who callers are and what they may change: every change is checked
  // against the ACLs for the caller's identity (403 naming the rule), and
  // reservations and volumes are made in the caller's name. Without it,
  // callers are anonymous and the built-in rules apply. REQUIRES: both
  // outlive the servers; called before install().
  void secure(const http::Authenticator& authenticator, const acl::Authorizer& authorizer) {
    authenticator_ = &authenticator;
    authorizer_ = &authorizer;
  }

  // Registers the routes. REQUIRES: the server is not started yet.
  void install(http::HttpServer& server) const;

  // The handlers, callable directly (tests). Any thread but the loop's.
  http::Response tasks(const http::Request& request) const;
  http::Response setWeight(const http::Request& request) const;
  http::Response setQuota(const http::Request& request) const;
  http::Response removeQuota(const http::Request& request) const;
  http::Response reservation(const http::Request& request, bool reserve) const;
  http::Response volumes(const http::Request& request, bool create) const;
  http::Response killTask(const http::Request& request) const;
  http::Response teardown(const http::Request& request) const;

 private:
  // Runs `change` on the loop and returns its status, or kTimeout.
  Status onLoop(std::function<Status(Master&)> change) const;
  // The caller's identity ("" anonymous); kPermissionDenied for a bad token.
  Result<std::string> caller(const http::Request& request) const;
  // kPermissionDenied (a 403) unless the ACLs let `identity` do `action` to `object`.
  Status permit(const std::string& identity, acl::Action action, const std::string& object) const;

  const SnapshotCell& cell_;
  std::string masterBody_ = "{}";
  EventLoop* loop_ = nullptr;
  Master* master_ = nullptr;
  std::chrono::milliseconds timeout_{5000};
  const http::Authenticator* authenticator_ = nullptr;
  const acl::Authorizer* authorizer_ = nullptr;
  acl::Authorizer builtIn_;  // when not secured
};

}  // namespace agora::master
