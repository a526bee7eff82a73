// The runtime's part of a framework's HTTP API: the framework itself, its
// tasks as the journal knows them, and why waiting groups wait; a `task`
// event on the API's event stream at every change.

#include <glog/logging.h>

#include <future>

#include "frameworks/kit/runtime.hpp"

namespace agora::kit {

namespace {

const char* phaseName(Runtime::Phase phase) {
  switch (phase) {
    case Runtime::Phase::kStarting:
      return "starting";
    case Runtime::Phase::kStandby:
      return "standby";
    case Runtime::Phase::kSubscribing:
      return "subscribing";
    case Runtime::Phase::kReconciling:
      return "reconciling";
    case Runtime::Phase::kActive:
      return "active";
    case Runtime::Phase::kStopped:
      return "stopped";
  }
  return "unknown";
}

nlohmann::json entryJson(const TaskEntry& entry) {
  nlohmann::json out = {{"id", entry.taskId},
                        {"group", entry.group},
                        {"agent_id", entry.agentId},
                        {"hostname", entry.placement.hostname},
                        {"state", taskStateName(entry.state)},
                        {"reason", taskReasonName(entry.reason)},
                        {"confirmed", entry.confirmed}};
  if (entry.exitCode) out["exit_code"] = *entry.exitCode;
  return out;
}

}  // namespace

Status Runtime::setUpApi() {
  if (options_.http.empty()) return {};
  ApiServer::Options api;
  api.listen = options_.http;
  api.name = options_.driver.framework.name;
  api.security = options_.httpSecurity;
  api.events.loop = loop_;
  auto server = ApiServer::create(std::move(api));
  if (!server) return makeError(server.error());
  api_ = std::move(*server);
  routeApi();
  if (options_.zk.empty()) return {};
  // A standby answers with a redirect to the leader's API.
  api_->setLeader([this]() -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(leaderMutex_);
    return leaderUrl_;
  });
  return {};
}

void Runtime::routeApi() {
  api_->route("GET", "/api/v1/framework", [this](const http::Request&) {
    return fromLoop([this] { return frameworkJson(); });
  });
  api_->route("GET", "/api/v1/tasks",
              [this](const http::Request&) { return fromLoop([this] { return tasksJson(); }); });
  api_->route("GET", "/api/v1/placement",
              [this](const http::Request&) { return fromLoop([this] { return waitingJson(); }); });
  routeSecrets();
  api_->events().setSnapshot([this] {
    return nlohmann::json{{"framework", frameworkJson()}, {"tasks", tasksJson()["tasks"]}};
  });
}

http::Response Runtime::answerOnLoop(std::function<http::Response()> handler) {
  auto answer = std::make_shared<std::promise<http::Response>>();
  std::future<http::Response> future = answer->get_future();
  loop_->post([answer, handler = std::move(handler)] { answer->set_value(handler()); });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return http::errorResponse(503, "the framework did not answer in time");
  }
  return future.get();
}

http::Response Runtime::fromLoop(std::function<nlohmann::json()> read) {
  return answerOnLoop([read = std::move(read)] { return http::jsonResponse(200, read()); });
}

nlohmann::json Runtime::frameworkJson() const {
  return {{"name", options_.driver.framework.name},
          {"id", frameworkId_},
          {"instance", options_.instanceId},
          {"phase", phaseName(phase_)},
          {"leading", leading()}};
}

nlohmann::json Runtime::tasksJson() const {
  nlohmann::json tasks = nlohmann::json::array();
  if (journal_) {
    for (const auto& [id, entry] : journal_->tasks()) tasks.push_back(entryJson(entry));
  }
  return {{"tasks", tasks}};
}

nlohmann::json Runtime::waitingJson() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [name, why] : waiting_) {
    groups.push_back({{"group", name},
                      {"pending", why.pending},
                      {"offers_seen", why.offersSeen},
                      {"reasons", why.reasons},
                      {"closest", why.closest}});
  }
  return {{"waiting", groups}};
}

void Runtime::routeSecrets() {
  static const std::string kPath = "/api/v1/secrets/";
  auto named = [](const http::Request& request) { return request.path.substr(kPath.size()); };
  api_->route("GET", "/api/v1/secrets", [this](const http::Request&) {
    return answerOnLoop([this] {
      if (!secrets_) return http::errorResponse(503, "this instance does not lead");
      auto listed = secrets_->list();
      if (!listed) return ApiServer::errorResponse(listed.error());
      nlohmann::json out = nlohmann::json::array();
      for (const SecretStore::Info& info : *listed) {
        out.push_back({{"name", info.name},
                       {"version", info.version},
                       {"updated", info.updated},
                       {"bytes", info.bytes}});
      }
      return http::jsonResponse(200, {{"secrets", out}});
    });
  });
  api_->routePrefix("PUT", kPath, [this, named](const http::Request& request) {
    return answerOnLoop([this, name = named(request), value = request.body] {
      if (!secrets_) return http::errorResponse(503, "this instance does not lead");
      if (Status s = secrets_->set(name, value, loop_->clock().wallSeconds()); !s) {
        return ApiServer::errorResponse(s.error());
      }
      LOG(INFO) << "secret " << name << " set (" << value.size() << " bytes)";
      wake();
      return http::jsonResponse(200, {{"name", name}, {"bytes", value.size()}});
    });
  });
  api_->routePrefix("DELETE", kPath, [this, named](const http::Request& request) {
    return answerOnLoop([this, name = named(request)] {
      if (!secrets_) return http::errorResponse(503, "this instance does not lead");
      auto erased = secrets_->erase(name);
      if (!erased) return ApiServer::errorResponse(erased.error());
      if (!*erased) return http::errorResponse(404, "no secret named '" + name + "'");
      LOG(INFO) << "secret " << name << " deleted";
      return http::jsonResponse(200, {{"deleted", name}});
    });
  });
}

void Runtime::publishTask(const TaskEntry& entry) {
  if (api_) api_->events().publish("task", entryJson(entry));
}

}  // namespace agora::kit
