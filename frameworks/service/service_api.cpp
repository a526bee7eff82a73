#include "frameworks/service/service_api.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "common/clock.hpp"
#include "frameworks/service/app_json.hpp"

namespace agora::service {

namespace {

using nlohmann::json;

json verdict(const std::optional<bool>& v) { return v ? json(*v) : json(); }

json tasksOf(const kit::Runtime& runtime, const std::string& app) {
  json out = json::array();
  if (runtime.journal() == nullptr) return out;
  for (const kit::TaskEntry* entry : runtime.journal()->group(app)) {
    const kit::TaskEntry& task = *entry;
    if (isTerminal(task.state)) continue;
    out.push_back({{"id", task.taskId},
                   {"version", task.data},
                   {"agent_id", task.agentId},
                   {"hostname", task.placement.hostname},
                   {"state", taskStateName(task.state)},
                   {"healthy", verdict(task.healthy)},
                   {"ready", verdict(task.ready)},
                   {"message", task.message}});
  }
  return out;
}

// "/v1/apps/shop/web" -> "/shop/web"; "/v1/apps/shop/web/versions" -> "/shop/web" with
// `action` "versions" when it is one of `actions`.
std::string appIdOf(const http::Request& request, std::initializer_list<const char*> actions,
                    std::string* action) {
  std::string id = request.path.substr(std::string("/v1/apps").size());
  action->clear();
  for (const char* a : actions) {
    std::string suffix = std::string("/") + a;
    if (id.size() > suffix.size() &&
        id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0) {
      id.resize(id.size() - suffix.size());
      *action = a;
      break;
    }
  }
  return id;
}

std::string needsOf(const AppSpec& app) {
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", v);
    return std::string(text);
  };
  std::string out = "cpus " + number(app.cpus) + " mem " + number(app.memMb);
  if (app.diskMb > 0) out += " disk " + number(app.diskMb);
  if (!app.ports.empty()) out += " and " + std::to_string(app.ports.size()) + " ports";
  return out;
}

// Why an app has fewer instances than it wants, for a person to act on.
json whyOf(ServiceFramework& framework, kit::Runtime& runtime, const AppVersion& app) {
  json reasons = json::array();
  int64_t live = 0;
  if (runtime.journal() != nullptr) {
    for (const Instance& i : framework.instances(*runtime.journal(), app.spec.id)) live += i.live;
  }
  std::string hold = framework.holdReason(app.spec.id);
  if (!hold.empty()) reasons.push_back(hold);
  const auto& waiting = runtime.waiting();
  if (auto it = waiting.find(app.spec.id); it != waiting.end()) {
    const kit::Unplaced& u = it->second;
    std::string needs = "needs " + needsOf(app.spec) + " per instance; " +
                        std::to_string(u.offersSeen) + " offers seen in the last round";
    reasons.push_back(needs);
    for (const auto& [reason, offers] : u.reasons) {
      reasons.push_back(reason + " (" + std::to_string(offers) + " offers)");
    }
    if (!u.closest.empty()) reasons.push_back("closest: " + u.closest);
  }
  const Deployment* d = framework.deployment(app.spec.id);
  if (d != nullptr && d->running())
    reasons.push_back("deployment " + std::to_string(d->id) + ": " + d->status);
  if (std::string scale = framework.autoscaleReason(app.spec.id); !scale.empty()) {
    reasons.push_back("autoscaler: " + scale);
  }
  return {{"id", app.spec.id},
          {"instances", app.spec.instances},
          {"live", live},
          {"pending", std::max<int64_t>(0, app.spec.instances - live)},
          {"reasons", reasons}};
}

http::Response notLeading() {
  return http::errorResponse(503, "this instance is not leading yet (subscribing or reconciling)");
}

}  // namespace

void installServiceApi(kit::Runtime& runtime, ServiceFramework& framework) {
  kit::ApiServer& api = *runtime.api();
  api.routeEvents("/v1/events");  // `app` events (service_framework.hpp), `task`, `autoscaled`
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
      std::map<std::string, int64_t> previous;
      for (const AppSpec& app : *apps) {
        if (const AppVersion* v = registry.current(app.id)) previous[app.id] = v->version;
      }
      auto written = registry.apply(*apps, runtime.loop().clock().wallSeconds());
      if (!written) return kit::ApiServer::errorResponse(written.error());
      if (Status s = framework.deploy(runtime, *written, previous); !s) {
        return kit::ApiServer::errorResponse(s.error());
      }
      json applied = json::array();
      for (const AppVersion& v : *written) {
        const Deployment* d = framework.deployment(v.spec.id);
        applied.push_back({{"id", v.spec.id},
                           {"version", v.version},
                           {"deployment", d != nullptr ? json(d->id) : json()}});
      }
      return http::jsonResponse(200, {{"applied", applied}});
    });
  });
  // Reads of app status come from what the loop published (no wait for it).
  api.route("GET", "/v1/apps", [&](const http::Request&) {
    if (!framework.serving()) return notLeading();
    json apps = json::array();
    for (const auto& status : framework.statuses()) {
      json app = *status;
      app.erase("spec");
      app.erase("held");
      apps.push_back(std::move(app));
    }
    return http::jsonResponse(200, {{"apps", apps}});
  });
  auto one = [&](const http::Request& request) {
    std::string action;
    std::string id = appIdOf(request, {"versions", "why"}, &action);
    bool versions = action == "versions";
    bool withTasks = request.queryOr("tasks", "true") != "false";
    std::string method = request.method;
    if (method == "GET" && action.empty() && !withTasks) {
      if (!framework.serving()) return notLeading();
      auto status = framework.status(id);
      if (status == nullptr) return http::errorResponse(404, "no app " + id);
      return http::jsonResponse(200, *status);
    }
    return runtime.answerOnLoop([&, id, versions, action, method, withTasks] {
      if (framework.registry() == nullptr) return notLeading();
      AppRegistry& registry = *framework.registry();
      const AppVersion* current = registry.current(id);
      if (current == nullptr) return http::errorResponse(404, "no app " + id);
      if (method == "DELETE" && !action.empty()) return http::errorResponse(405, "DELETE an app");
      if (method == "DELETE") {
        if (Status s = registry.remove(id); !s) return kit::ApiServer::errorResponse(s.error());
        framework.removed(runtime, id);
        return http::jsonResponse(200, {{"removed", id}});
      }
      if (action == "why") return http::jsonResponse(200, whyOf(framework, runtime, *current));
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
      auto status = framework.status(id);
      json out = status != nullptr ? *status : json{{"id", id}, {"version", current->version}};
      out["tasks"] = tasksOf(runtime, id);
      return http::jsonResponse(200, out);
    });
  };
  api.routePrefix("GET", "/v1/apps/", one);
  api.routePrefix("DELETE", "/v1/apps/", one);
  // POST /v1/apps/ID/{promote,restart}, /rollback[?to=N], /scale?instances=N.
  api.routePrefix("POST", "/v1/apps/", [&](const http::Request& request) {
    std::string action;
    std::string id = appIdOf(request, {"promote", "rollback", "restart", "scale"}, &action);
    std::string to = request.queryOr("to", "");
    std::string instances = request.queryOr("instances", "");
    return runtime.answerOnLoop([&, id, action, to, instances]() -> http::Response {
      if (framework.registry() == nullptr) return notLeading();
      if (framework.registry()->current(id) == nullptr)
        return http::errorResponse(404, "no app " + id);
      if (action == "promote") {
        if (Status s = framework.promote(runtime, id); !s) {
          return kit::ApiServer::errorResponse(s.error());
        }
        return http::jsonResponse(200, {{"promoted", id}});
      }
      if (action == "rollback") {
        std::optional<int64_t> version;
        if (!to.empty()) {
          char* end = nullptr;
          long long parsed = std::strtoll(to.c_str(), &end, 10);
          if (*end != '\0' || parsed <= 0)
            return http::errorResponse(400, "to: not a version number");
          version = parsed;
        }
        auto written = framework.rollback(runtime, id, version);
        if (!written) return kit::ApiServer::errorResponse(written.error());
        const Deployment* d = framework.deployment(id);
        return http::jsonResponse(200, {{"id", id},
                                        {"version", written->version},
                                        {"deployment", d != nullptr ? json(d->id) : json()}});
      }
      if (action == "restart" || action == "scale") {
        Result<AppVersion> written = makeError(ErrorCode::kInternal, "");
        if (action == "restart") {
          written = framework.restart(runtime, id);
        } else {
          char* end = nullptr;
          long long n = std::strtoll(instances.c_str(), &end, 10);
          if (instances.empty() || *end != '\0') {
            return http::errorResponse(400, "instances: not a number");
          }
          written = framework.scale(runtime, id, n);
        }
        if (!written) return kit::ApiServer::errorResponse(written.error());
        const Deployment* d = framework.deployment(id);
        return http::jsonResponse(200, {{"id", id},
                                        {"version", written->version},
                                        {"deployment", d != nullptr ? json(d->id) : json()}});
      }
      return http::errorResponse(404,
                                 "no action for " + id + " (promote, rollback, restart, scale)");
    });
  });
  api.route("GET", "/v1/deployments", [&](const http::Request&) {
    return runtime.answerOnLoop([&] {
      if (framework.registry() == nullptr) return notLeading();
      json out = json::array();
      for (const auto& [app, d] : framework.deployments()) {
        json one = deploymentJson(d);
        auto status = framework.status(app);
        one["counts"] = status != nullptr ? (*status)["counts"] : json();
        out.push_back(std::move(one));
      }
      return http::jsonResponse(200, {{"deployments", out}});
    });
  });
}

}  // namespace agora::service
