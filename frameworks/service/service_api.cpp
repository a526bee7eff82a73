#include "frameworks/service/service_api.hpp"

#include <map>

#include "common/clock.hpp"
#include "frameworks/service/app_json.hpp"

namespace agora::service {

namespace {

using nlohmann::json;

json tasksOf(const kit::Runtime& runtime, const std::string& app) {
  json out = json::array();
  if (runtime.journal() == nullptr) return out;
  for (const auto& [id, task] : runtime.journal()->tasks()) {
    if (task.group != app || isTerminal(task.state)) continue;
    out.push_back({{"id", id},
                   {"agent_id", task.agentId},
                   {"hostname", task.placement.hostname},
                   {"state", taskStateName(task.state)}});
  }
  return out;
}

// Running tasks by app, in one pass over the journal.
std::map<std::string, int> runningByApp(const kit::Runtime& runtime) {
  std::map<std::string, int> out;
  if (runtime.journal() == nullptr) return out;
  for (const auto& [id, task] : runtime.journal()->tasks()) {
    if (task.state == TaskState::RUNNING) out[task.group]++;
  }
  return out;
}

// "/v1/apps/shop/web" -> "/shop/web"; "/v1/apps/shop/web/versions" with versions set.
std::string appIdOf(const http::Request& request, bool* versions) {
  std::string id = request.path.substr(std::string("/v1/apps").size());
  const std::string suffix = "/versions";
  *versions = id.size() > suffix.size() &&
              id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0;
  if (*versions) id.resize(id.size() - suffix.size());
  return id;
}

http::Response notLeading() {
  return http::errorResponse(503, "this instance is not leading yet (subscribing or reconciling)");
}

}  // namespace

void installServiceApi(kit::Runtime& runtime, ServiceFramework& framework) {
  kit::ApiServer& api = *runtime.api();
  api.route("POST", "/v1/apps", [&](const http::Request& request) {
    std::string environment = request.queryOr("env", "");
    return runtime.answerOnLoop([&, body = request.body, environment] {
      if (framework.registry() == nullptr) return notLeading();
      AppRegistry& registry = *framework.registry();
      std::vector<std::string> known;
      for (const auto& [id, version] : registry.apps()) known.push_back(id);
      auto apps = parseApps(body, "request body", known);
      if (!apps) return kit::ApiServer::errorResponse(apps.error());
      if (!environment.empty()) {
        for (AppSpec& app : *apps) {
          if (app.environments.empty()) continue;  // an app without overlays is the same everywhere
          auto chosen = withEnvironment(app, environment);
          if (!chosen) return kit::ApiServer::errorResponse(chosen.error());
          app = std::move(*chosen);
        }
      }
      auto written = registry.apply(*apps, runtime.loop().clock().wallSeconds());
      if (!written) return kit::ApiServer::errorResponse(written.error());
      framework.converge(runtime);
      json applied = json::array();
      for (const AppVersion& v : *written) {
        applied.push_back({{"id", v.spec.id}, {"version", v.version}});
      }
      return http::jsonResponse(200, {{"applied", applied}});
    });
  });
  api.route("GET", "/v1/apps", [&](const http::Request&) {
    return runtime.answerOnLoop([&] {
      if (framework.registry() == nullptr) return notLeading();
      AppRegistry& registry = *framework.registry();
      json apps = json::array();
      std::map<std::string, int> running = runningByApp(runtime);
      for (const auto& [id, version] : registry.apps()) {
        apps.push_back({{"id", id},
                        {"version", version.version},
                        {"instances", version.spec.instances},
                        {"running", running[id]}});
      }
      return http::jsonResponse(200, {{"apps", apps}});
    });
  });
  auto one = [&](const http::Request& request) {
    bool versions = false;
    std::string id = appIdOf(request, &versions);
    std::string method = request.method;
    return runtime.answerOnLoop([&, id, versions, method] {
      if (framework.registry() == nullptr) return notLeading();
      AppRegistry& registry = *framework.registry();
      const AppVersion* current = registry.current(id);
      if (current == nullptr) return http::errorResponse(404, "no app " + id);
      if (method == "DELETE") {
        if (Status s = registry.remove(id); !s) return kit::ApiServer::errorResponse(s.error());
        framework.converge(runtime);
        return http::jsonResponse(200, {{"removed", id}});
      }
      if (versions) {
        auto history = registry.history(id);
        if (!history) return kit::ApiServer::errorResponse(history.error());
        json out = json::array();
        for (const AppVersion& v : *history) {
          out.push_back(
              {{"version", v.version}, {"created", v.created}, {"spec", appJson(v.spec)}});
        }
        return http::jsonResponse(200, {{"versions", out}});
      }
      return http::jsonResponse(200, {{"id", id},
                                      {"version", current->version},
                                      {"spec", appJson(current->spec)},
                                      {"tasks", tasksOf(runtime, id)}});
    });
  };
  api.routePrefix("GET", "/v1/apps/", one);
  api.routePrefix("DELETE", "/v1/apps/", one);
}

}  // namespace agora::service
