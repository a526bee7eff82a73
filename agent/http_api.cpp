#include "agent/http_api.hpp"

#include <nlohmann/json.hpp>

namespace agora::agent {

namespace {

int httpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    default:
      return 500;
  }
}

const std::string* queryParam(const http::Request& request, const std::string& key) {
  auto it = request.query.find(key);
  return it == request.query.end() ? nullptr : &it->second;
}

}  // namespace

nlohmann::json usageJson(const ResourceStatistics& u) {
  nlohmann::json out = {{"cpus_user_seconds", u.cpusUserSec},
                        {"cpus_system_seconds", u.cpusSystemSec},
                        {"processes", u.processes},
                        {"sampled_at", u.sampledAt}};
  if (!u.cgroups) {
    out["mem_rss_bytes"] = u.memRssBytes;
    return out;
  }
  out["cpus_nr_periods"] = u.cpusNrPeriods;
  out["cpus_nr_throttled"] = u.cpusNrThrottled;
  out["cpus_throttled_seconds"] = u.cpusThrottledSec;
  out["mem_usage_bytes"] = u.memUsageBytes;
  out["mem_peak_bytes"] = u.memPeakBytes;
  out["mem_limit_bytes"] = u.memLimitBytes;
  out["oom_kills"] = u.oomKills;
  return out;
}

http::Response containersResponse(const AgentSnapshot& snapshot) {
  nlohmann::json list = nlohmann::json::array();
  for (const ContainerView& c : snapshot.containers) {
    nlohmann::json item = {{"id", c.id},           {"framework_id", c.frameworkId},
                           {"task_id", c.taskId},  {"executor_pid", c.executorPid},
                           {"state", c.state},     {"task_state", c.taskState},
                           {"sandbox", c.sandbox}, {"started", c.started}};
    if (c.usage) item["usage"] = usageJson(*c.usage);
    list.push_back(std::move(item));
  }
  http::Response response;
  response.body = nlohmann::json{{"containers", list}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

http::Response filesReadResponse(const SandboxFiles& files, const http::Request& request,
                                 const SandboxFiles::SandboxAuthorizer& authorize) {
  const std::string* path = queryParam(request, "path");
  if (path == nullptr) return http::errorResponse(400, "missing 'path'");
  auto offset = parseInt64(queryParam(request, "offset"), 0);
  if (!offset) return http::errorResponse(400, "offset: " + offset.error().message);
  auto length = parseInt64(queryParam(request, "length"), -1);
  if (!length) return http::errorResponse(400, "length: " + length.error().message);
  auto chunk = files.read(*path, *offset, *length, authorize);
  if (!chunk) return http::errorResponse(httpStatus(chunk.error().code), chunk.error().message);
  http::Response response;
  const std::string* raw = queryParam(request, "raw");
  if (raw != nullptr && *raw == "1") {
    // The bytes as they are (JSON strings cannot carry invalid UTF-8 or a
    // character cut at the chunk's end); where they start in a header.
    response.contentType = "application/octet-stream";
    response.headers.emplace_back("X-Agora-Offset", std::to_string(chunk->offset));
    response.body = std::move(chunk->data);
    return response;
  }
  // Task output is arbitrary bytes: invalid UTF-8 is replaced, never thrown on.
  response.body = nlohmann::json{{"data", chunk->data}, {"offset", chunk->offset}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

void installHttpApi(http::HttpServer& server, SnapshotSource snapshot, SandboxFiles files,
                    const http::Authenticator* authenticator, const acl::Authorizer* authorizer) {
  server.route("GET", "/health", [snapshot](const http::Request&) {
    auto s = snapshot();
    return http::jsonResponse(
        200, {{"status", "ok"}, {"registered", s->registered}, {"agent_id", s->agentId}});
  });
  server.route("GET", "/api/v1/containers",
               [snapshot](const http::Request&) { return containersResponse(*snapshot()); });
  server.route(
      "GET", "/files/read",
      [files = std::move(files), authenticator, authorizer](const http::Request& r) {
        if (authenticator == nullptr || authorizer == nullptr) return filesReadResponse(files, r);
        auto identity = authenticator->identify(r);
        if (!identity) return http::errorResponse(401, identity.error().message);
        // Task output may hold what its task was given: never anonymous, even
        // where other reads are (--anonymous-read).
        if (identity->empty()) {
          return http::errorResponse(
              401, "reading a sandbox needs an identity: a bearer token or a client certificate");
        }
        return filesReadResponse(files, r, [&](const std::string& taskUser) {
          return authorizer->require(acl::Action::kAccessSandbox, *identity, taskUser);
        });
      });
}

}  // namespace agora::agent
