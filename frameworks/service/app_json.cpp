#include "frameworks/service/app_json.hpp"

#include "common/duration.hpp"

namespace agora::service {

namespace {

using nlohmann::json;

json mapOf(const KeyValues& pairs) {
  json out = json::object();
  for (const auto& [key, value] : pairs) out[key] = value;
  return out;
}

json httpJson(const std::string& port, const std::string& path) {
  return {{"port", port}, {"path", path}};
}

json checkJson(const HealthCheck& check) {
  json out = {{"grace", formatDuration(check.grace)},
              {"interval", formatDuration(check.interval)},
              {"timeout", formatDuration(check.timeout)},
              {"max_failures", check.maxFailures}};
  switch (check.kind) {
    case HealthCheck::Kind::kHttp:
      out["http"] = httpJson(check.port, check.path);
      break;
    case HealthCheck::Kind::kTcp:
      out["tcp"] = {{"port", check.port}};
      break;
    case HealthCheck::Kind::kCommand:
      out["command"] = check.command;
      break;
  }
  return out;
}

// ["hostname", "UNIQUE"], ["rack", "MAX_PER", "2"]: the constraint's text split
// at its first two colons (a LIKE pattern may hold more).
json constraintJson(const kit::Constraint& constraint) {
  std::string text = constraint.text();
  json out = json::array();
  size_t start = 0;
  for (int part = 0; part < 2; ++part) {
    size_t colon = text.find(':', start);
    if (colon == std::string::npos) break;
    out.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  out.push_back(text.substr(start));
  return out;
}

}  // namespace

json appJson(const AppSpec& app) {
  json out = {{"id", app.id},
              {"instances", app.instances},
              {"cpus", app.cpus},
              {"mem", app.memMb},
              {"disk", app.diskMb},
              {"env", mapOf(app.env)},
              {"labels", mapOf(app.labels)},
              {"kill_grace", formatDuration(app.killGrace)},
              {"unreachable_grace", formatDuration(app.unreachableGrace)},
              {"upgrade",
               {{"min_health", app.upgrade.minHealth},
                {"max_surge", app.upgrade.maxSurge},
                {"progress_deadline", formatDuration(app.upgrade.progressDeadline)},
                {"max_failures", app.upgrade.maxFailures},
                {"auto_rollback", app.upgrade.autoRollback}}},
              {"backoff",
               {{"initial", formatDuration(app.backoff.initial)},
                {"factor", app.backoff.factor},
                {"max", formatDuration(app.backoff.max)}}}};
  if (!app.cmd.empty()) out["cmd"] = app.cmd;
  if (!app.args.empty()) out["args"] = app.args;
  if (!app.image.empty()) out["image"] = app.image;
  if (!app.user.empty()) out["user"] = app.user;
  json ports = json::array();
  for (const PortSpec& port : app.ports) ports.push_back({{"name", port.name}});
  out["ports"] = ports;
  json checks = json::array();
  for (const HealthCheck& check : app.healthChecks) checks.push_back(checkJson(check));
  out["health_checks"] = checks;
  if (app.readiness) {
    json readiness = checkJson(*app.readiness);
    readiness.erase("grace");
    readiness.erase("max_failures");
    out["readiness"] = readiness;
  }
  json constraints = json::array();
  for (const kit::Constraint& c : app.constraints) constraints.push_back(constraintJson(c));
  out["constraints"] = constraints;
  if (app.canary) {
    out["canary"] = {{"instances", app.canary->instances},
                     {"promote_deadline", formatDuration(app.canary->promoteDeadline)}};
    if (app.canary->autoPromoteAfter) {
      out["canary"]["auto_promote_after"] = formatDuration(*app.canary->autoPromoteAfter);
    }
  }
  out["dependencies"] = app.dependencies;
  if (app.autoscale) {
    out["autoscale"] = {{"min", app.autoscale->min},
                        {"max", app.autoscale->max},
                        {"target_cpu", app.autoscale->targetCpu},
                        {"interval", formatDuration(app.autoscale->interval)},
                        {"scale_down_window", formatDuration(app.autoscale->scaleDownWindow)}};
  }
  json secrets = json::object();
  for (const SecretRef& secret : app.secrets) {
    secrets[secret.name] =
        secret.env.empty() ? json{{"file", secret.file}} : json{{"env", secret.env}};
  }
  out["secrets"] = secrets;
  json environments = json::object();
  for (const auto& [name, overlay] : app.environments) {
    json o = {{"env", mapOf(overlay.env)}};
    if (overlay.instances) o["instances"] = *overlay.instances;
    environments[name] = o;
  }
  out["environments"] = environments;
  return out;
}

}  // namespace agora::service
