#include "master/http_api.hpp"

#include <future>
#include <memory>

#include "master/allocator/role_name.hpp"
#include "master/master.hpp"

namespace agora::master {

namespace {

http::Response rawJson(const std::string& body) {
  http::Response response;
  response.body = body;
  return response;
}

http::Response statusResponse(const Status& status) {
  if (status) return rawJson("{}");
  switch (status.error().code) {
    case ErrorCode::kInvalidArgument:
      return http::errorResponse(400, status.error().message);
    case ErrorCode::kNotFound:
      return http::errorResponse(404, status.error().message);
    case ErrorCode::kPermissionDenied:
      return http::errorResponse(403, status.error().message);
    case ErrorCode::kFailedPrecondition:
      return http::errorResponse(409, status.error().message);
    case ErrorCode::kTimeout:
      return http::errorResponse(503, status.error().message);
    default:
      return http::errorResponse(500, status.error().message);
  }
}

Result<nlohmann::json> parseObject(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return makeError(ErrorCode::kInvalidArgument, "body: expected a JSON object");
  }
  return json;
}

Result<std::string> roleField(const nlohmann::json& body) {
  if (!body.contains("role") || !body["role"].is_string()) {
    return makeError(ErrorCode::kInvalidArgument, "role: required string");
  }
  std::string role = body["role"].get<std::string>();
  if (auto valid = validateRoleName(role); !valid) {
    return makeError(ErrorCode::kInvalidArgument, "role: " + valid.error().message);
  }
  return role;
}

// Absent or null: nullopt. A string: parsed resources (scalars only).
Result<std::optional<Resources>> resourcesField(const nlohmann::json& body, const char* field) {
  if (!body.contains(field) || body[field].is_null()) return std::optional<Resources>();
  if (!body[field].is_string()) {
    return makeError(ErrorCode::kInvalidArgument,
                     std::string(field) + ": expected a string like \"cpus:1;mem:512\"");
  }
  auto parsed = Resources::parse(body[field].get<std::string>());
  if (!parsed) {
    return makeError(ErrorCode::kInvalidArgument, std::string(field) + ": " + parsed.error().message);
  }
  if (!parsed->rangeNames().empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     std::string(field) + ": only scalar resources (cpus, mem, disk, gpus)");
  }
  return std::optional<Resources>(std::move(*parsed));
}

// The principal of a reservation or volume: one is made in the caller's
// name (`own`: naming another principal is refused); one to undo is the
// named principal's, by default the caller's. Without authentication
// (no identity) the body names it.
Result<std::string> principalField(const nlohmann::json& body, const std::string& identity,
                                   bool own) {
  std::string principal;
  if (body.contains("principal") && !body["principal"].is_null()) {
    if (!body["principal"].is_string()) {
      return makeError(ErrorCode::kInvalidArgument, "principal: expected a string");
    }
    principal = body["principal"].get<std::string>();
  }
  if (identity.empty() || (!own && !principal.empty())) return principal;
  if (!principal.empty() && principal != identity) {
    return makeError(ErrorCode::kPermissionDenied, "principal: '" + principal +
                                                       "' is not you; reservations and volumes "
                                                       "are made in the caller's name ('" +
                                                       identity + "')");
  }
  return identity;
}

// {"agent_id", "resources", "role"?, "principal"?} -> the resources as dynamic
// reservations, with their principal as principalField() says. REQUIRES on
// success: body["agent_id"] is a string.
Result<Resources> reservationBody(const nlohmann::json& body, const std::string& identity,
                                  bool reserve) {
  if (!body.contains("agent_id") || !body["agent_id"].is_string() ||
      body["agent_id"].get<std::string>().empty()) {
    return makeError(ErrorCode::kInvalidArgument, "agent_id: required string");
  }
  if (!body.contains("resources") || !body["resources"].is_string()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "resources: required string like \"cpus:1;mem:512\"");
  }
  auto principalOr = principalField(body, identity, reserve);
  if (!principalOr) return makeError(principalOr.error());
  const std::string& principal = *principalOr;
  auto parsed = Resources::parse(body["resources"].get<std::string>());
  if (!parsed) return makeError(ErrorCode::kInvalidArgument, "resources: " + parsed.error().message);
  if (parsed->empty()) return makeError(ErrorCode::kInvalidArgument, "resources: none given");
  if (body.contains("role")) {
    auto role = roleField(body);
    if (!role) return makeError(role.error());
    if (*role == kDefaultRole) {
      return makeError(ErrorCode::kInvalidArgument, "role: '*' is the unreserved role");
    }
    if (parsed->hasReservations()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "resources: give either \"role\" or roles in the resources, not both");
    }
    return parsed->reservedAs(Reservation{*role, ReservationType::kDynamic, principal});
  }
  if (!parsed->unreserved().empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "role: required (or name the role in the resources, e.g. cpus(eng):1)");
  }
  Resources out;
  for (const auto& [reservation, part] : parsed->byReservation()) {
    out += part.reservedAs(Reservation{reservation.role, ReservationType::kDynamic, principal});
  }
  return out;
}

// A string field of `body`; empty when absent. kInvalidArgument when not a string.
Result<std::string> stringField(const nlohmann::json& body, const char* name, bool required) {
  if (!body.contains(name) || body[name].is_null()) {
    if (!required) return std::string();
    return makeError(ErrorCode::kInvalidArgument, std::string(name) + ": required string");
  }
  if (!body[name].is_string()) {
    return makeError(ErrorCode::kInvalidArgument, std::string(name) + ": expected a string");
  }
  return body[name].get<std::string>();
}

// {"agent_id", "resources":"disk(eng):100", "id", "container_path", "mode"?,
// "principal"?} -> the volume.
Result<Resources> volumeBody(const nlohmann::json& body, const std::string& identity) {
  auto resources = stringField(body, "resources", true);
  if (!resources) return makeError(resources.error());
  auto parsed = Resources::parse(*resources);
  if (!parsed) return makeError(ErrorCode::kInvalidArgument, "resources: " + parsed.error().message);
  DiskPersistence disk;
  for (auto [name, field] :
       {std::pair{"id", &disk.id}, std::pair{"container_path", &disk.containerPath}}) {
    auto value = stringField(body, name, true);
    if (!value) return makeError(value.error());
    *field = std::move(*value);
  }
  auto principal = principalField(body, identity, /*own=*/true);
  if (!principal) return makeError(principal.error());
  disk.principal = *principal;
  auto mode = stringField(body, "mode", false);
  if (!mode) return makeError(mode.error());
  if (*mode != "" && *mode != "rw" && *mode != "ro") {
    return makeError(ErrorCode::kInvalidArgument, "mode: 'rw' or 'ro', not '" + *mode + "'");
  }
  disk.readOnly = *mode == "ro";
  auto volume = parsed->toVolume(disk);
  if (!volume) return makeError(ErrorCode::kInvalidArgument, "resources: " + volume.error().message);
  return volume;
}

}  // namespace

void HttpApi::describeMaster(const std::string& id, const std::string& version,
                             const std::string& endpoint) {
  masterBody_ = nlohmann::json{{"id", id}, {"version", version}, {"endpoint", endpoint}}.dump();
}

void HttpApi::install(http::HttpServer& server) const {
  const SnapshotCell& cell = cell_;
  server.route("GET", "/health",
               [](const http::Request&) { return rawJson(R"({"status":"ok"})"); });
  server.route("GET", "/api/v1/master",
               [body = masterBody_](const http::Request&) { return rawJson(body); });
  server.route("GET", "/api/v1/state",
               [&cell](const http::Request&) { return rawJson(cell.get()->stateBody()); });
  server.route("GET", "/api/v1/agents",
               [&cell](const http::Request&) { return rawJson(cell.get()->agentsBody); });
  server.route("GET", "/api/v1/frameworks",
               [&cell](const http::Request&) { return rawJson(cell.get()->frameworksBody); });
  server.route("GET", "/api/v1/tasks",
               [this](const http::Request& request) { return tasks(request); });
  server.route("GET", "/api/v1/roles",
               [&cell](const http::Request&) { return rawJson(cell.get()->rolesBody); });
  server.route("GET", "/api/v1/allocation",
               [&cell](const http::Request&) { return rawJson(cell.get()->allocationBody); });
  if (master_ == nullptr) return;
  server.route("POST", "/api/v1/weights",
               [this](const http::Request& request) { return setWeight(request); });
  server.route("POST", "/api/v1/quota",
               [this](const http::Request& request) { return setQuota(request); });
  server.route("DELETE", "/api/v1/quota",
               [this](const http::Request& request) { return removeQuota(request); });
  server.route("POST", "/api/v1/quota/remove",
               [this](const http::Request& request) { return removeQuota(request); });
  server.route("POST", "/api/v1/reserve",
               [this](const http::Request& request) { return reservation(request, true); });
  server.route("POST", "/api/v1/unreserve",
               [this](const http::Request& request) { return reservation(request, false); });
  server.route("POST", "/api/v1/create-volumes",
               [this](const http::Request& request) { return volumes(request, true); });
  server.route("POST", "/api/v1/destroy-volumes",
               [this](const http::Request& request) { return volumes(request, false); });
  server.route("POST", "/api/v1/teardown",
               [this](const http::Request& request) { return teardown(request); });
  server.routePrefix("POST", "/api/v1/tasks/",
                     [this](const http::Request& request) { return killTask(request); });
}

Result<std::string> HttpApi::caller(const http::Request& request) const {
  if (authenticator_ == nullptr) return std::string();
  return authenticator_->identify(request);
}

Status HttpApi::permit(const std::string& identity, acl::Action action,
                       const std::string& object) const {
  return (authorizer_ != nullptr ? *authorizer_ : builtIn_).require(action, identity, object);
}

Status HttpApi::onLoop(std::function<Status(Master&)> change) const {
  // Shared with the posted callback, which may run after a timed-out wait returned.
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  loop_->post([promise, change = std::move(change), master = master_] {
    Status changed = change(*master);
    if (!changed) {
      promise->set_value(changed);
      return;
    }
    // Answer only once the change is in the registry.
    master->afterPersisted([promise](Status persisted) { promise->set_value(persisted); });
  });
  if (future.wait_for(timeout_) != std::future_status::ready) {
    return makeError(ErrorCode::kTimeout, "the master did not answer in time; retry");
  }
  return future.get();
}

http::Response HttpApi::setWeight(const http::Request& request) const {
  auto body = parseObject(request.body);
  if (!body) return statusResponse(makeError(body.error()));
  auto role = roleField(*body);
  if (!role) return statusResponse(makeError(role.error()));
  const nlohmann::json& weight = (*body)["weight"];
  if (!weight.is_number() || !(weight.get<double>() > 0) || weight.get<double>() > 1e6) {
    return http::errorResponse(400, "weight: must be a number in (0, 1e6]");
  }
  double value = weight.get<double>();
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  if (Status s = permit(*who, acl::Action::kUpdateWeight, *role); !s) return statusResponse(s);
  return statusResponse(
      onLoop([role = *role, value](Master& master) { return master.setWeight(role, value); }));
}

http::Response HttpApi::setQuota(const http::Request& request) const {
  auto body = parseObject(request.body);
  if (!body) return statusResponse(makeError(body.error()));
  auto role = roleField(*body);
  if (!role) return statusResponse(makeError(role.error()));
  auto guarantee = resourcesField(*body, "guarantee");
  if (!guarantee) return statusResponse(makeError(guarantee.error()));
  auto limit = resourcesField(*body, "limit");
  if (!limit) return statusResponse(makeError(limit.error()));
  if (!*guarantee && !*limit) {
    return http::errorResponse(400, "guarantee: give a guarantee, a limit or both");
  }
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  if (Status s = permit(*who, acl::Action::kUpdateQuota, *role); !s) return statusResponse(s);
  return statusResponse(onLoop([role = *role, g = *guarantee, l = *limit](Master& master) {
    return master.setQuota(role, g, l);
  }));
}

http::Response HttpApi::removeQuota(const http::Request& request) const {
  std::string role = request.queryOr("role", "");
  if (role.empty() && !request.body.empty()) {
    auto body = parseObject(request.body);
    if (!body) return statusResponse(makeError(body.error()));
    auto field = roleField(*body);
    if (!field) return statusResponse(makeError(field.error()));
    role = *field;
  }
  if (auto valid = validateRoleName(role); !valid) {
    return http::errorResponse(400, "role: " + valid.error().message);
  }
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  if (Status s = permit(*who, acl::Action::kUpdateQuota, role); !s) return statusResponse(s);
  return statusResponse(onLoop([role](Master& master) { return master.removeQuota(role); }));
}

http::Response HttpApi::reservation(const http::Request& request, bool reserve) const {
  auto body = parseObject(request.body);
  if (!body) return statusResponse(makeError(body.error()));
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  auto reserved = reservationBody(*body, *who, reserve);
  if (!reserved) return statusResponse(makeError(reserved.error()));
  // Reserving is per role; unreserving per the principal that reserved.
  for (const auto& [reservation, part] : reserved->byReservation()) {
    Status allowed = reserve ? permit(*who, acl::Action::kReserve, reservation.role)
                             : permit(*who, acl::Action::kUnreserve, reservation.principal);
    if (!allowed) return statusResponse(allowed);
  }
  std::string agentId = (*body)["agent_id"].get<std::string>();
  return statusResponse(onLoop([agentId, resources = *reserved, reserve](Master& master) {
    return reserve ? master.reserve(agentId, resources) : master.unreserve(agentId, resources);
  }));
}

http::Response HttpApi::volumes(const http::Request& request, bool create) const {
  auto body = parseObject(request.body);
  if (!body) return statusResponse(makeError(body.error()));
  auto agentId = stringField(*body, "agent_id", true);
  if (!agentId) return statusResponse(makeError(agentId.error()));
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  if (!create) {
    auto id = stringField(*body, "id", true);
    if (!id) return statusResponse(makeError(id.error()));
    return statusResponse(onLoop([this, agentId = *agentId, id = *id, who = *who](Master& master) {
      // Destroying is per the principal that created the volume.
      return master.destroyVolume(agentId, id, [&](const std::string& creator) {
        return permit(who, acl::Action::kDestroyVolume, creator);
      });
    }));
  }
  auto volume = volumeBody(*body, *who);
  if (!volume) return statusResponse(makeError(volume.error()));
  for (const auto& [reservation, part] : volume->byReservation()) {
    if (Status s = permit(*who, acl::Action::kCreateVolume, reservation.role); !s) {
      return statusResponse(s);
    }
  }
  return statusResponse(onLoop([agentId = *agentId, volume = *volume](Master& master) {
    return master.createVolume(agentId, volume);
  }));
}

http::Response HttpApi::teardown(const http::Request& request) const {
  auto body = parseObject(request.body);
  if (!body) return statusResponse(makeError(body.error()));
  auto frameworkId = stringField(*body, "framework_id", true);
  if (!frameworkId) return statusResponse(makeError(frameworkId.error()));
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  std::string why = "torn down by " + (who->empty() ? std::string("an operator") : *who);
  // Tearing down is per the principal of the framework.
  return statusResponse(onLoop([this, id = *frameworkId, why, who = *who](Master& master) {
    return master.teardownFramework(id, why, [&](const std::string& principal) {
      return permit(who, acl::Action::kTeardownFramework, principal);
    });
  }));
}

http::Response HttpApi::killTask(const http::Request& request) const {
  constexpr std::string_view kPrefix = "/api/v1/tasks/", kSuffix = "/kill";
  std::string_view path = request.path;
  if (path.size() <= kPrefix.size() + kSuffix.size() || !path.ends_with(kSuffix)) {
    return http::errorResponse(404, "no route for POST " + request.path +
                                        " (POST /api/v1/tasks/ID/kill kills a task)");
  }
  std::string taskId(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
  std::string frameworkId = request.queryOr("framework_id", "");
  std::string reason = "POST " + request.path;
  if (!request.body.empty()) {
    auto body = parseObject(request.body);
    if (!body) return statusResponse(makeError(body.error()));
    auto framework = stringField(*body, "framework_id", false);
    if (!framework) return statusResponse(makeError(framework.error()));
    if (!framework->empty()) frameworkId = *framework;
    auto why = stringField(*body, "reason", false);
    if (!why) return statusResponse(makeError(why.error()));
    if (!why->empty()) reason = why->substr(0, 200);
  }
  // Shared with the posted callback, which may run after a timed-out wait returned.
  auto promise = std::make_shared<std::promise<Result<Master::OperatorKill>>>();
  auto future = promise->get_future();
  auto who = caller(request);
  if (!who) return statusResponse(makeError(who.error()));
  // Killing is per the principal of the task's framework.
  loop_->post([this, promise, master = master_, taskId, frameworkId, reason, who = *who] {
    promise->set_value(master->killTaskByOperator(
        taskId, frameworkId, reason, [&](const std::string& principal) {
          return permit(who, acl::Action::kKillTask, principal);
        }));
  });
  if (future.wait_for(timeout_) != std::future_status::ready) {
    return http::errorResponse(503, "the master did not answer in time; retry");
  }
  auto killed = future.get();
  if (!killed) {
    switch (killed.error().code) {
      case ErrorCode::kNotFound:
        return http::errorResponse(404, killed.error().message);
      case ErrorCode::kFailedPrecondition:
        return http::errorResponse(409, killed.error().message);
      case ErrorCode::kPermissionDenied:
        return http::errorResponse(403, killed.error().message);
      default:
        return http::errorResponse(503, killed.error().message);
    }
  }
  return http::jsonResponse(200, {{"task_id", taskId},
                                  {"framework_id", killed->frameworkId},
                                  {"agent_id", killed->agentId},
                                  {"state", taskStateName(killed->state)}});
}

http::Response HttpApi::tasks(const http::Request& request) const {
  TaskFilter filter;
  filter.frameworkId = request.queryOr("framework_id", "");
  filter.taskId = request.queryOr("task_id", "");
  if (auto states = parseTaskStates(request.queryOr("state", "")); states) {
    filter.states = *states;
  } else {
    return http::errorResponse(400, states.error().message);
  }
  std::shared_ptr<const Snapshot> snapshot = cell_.get();
  if (filter.empty()) return rawJson(snapshot->tasksBody);
  return rawJson(snapshot->tasksMatching(filter));
}

}  // namespace agora::master
